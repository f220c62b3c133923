"""Input of the publicity period (公示与异议): shared by the API and the pages."""

from __future__ import annotations

from marshmallow import fields, validate

from bidding.publicity_models import ObjectionStatus
from core.validation import BaseSchema

MAX_REASONS_CHARS = 5000
CORRECTION_ACTIONS = ("exclude", "reinstate")


class ObjectionLodgeSchema(BaseSchema):
    item_ids = fields.List(fields.Integer(), required=True, validate=validate.Length(min=1, max=200))
    reasons = fields.String(required=True, validate=validate.Length(min=1, max=MAX_REASONS_CHARS))


class CorrectionSchema(BaseSchema):
    action = fields.String(required=True, validate=validate.OneOf(CORRECTION_ACTIONS))
    bid_id = fields.Integer(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class ObjectionAnswerSchema(BaseSchema):
    decision = fields.Enum(
        ObjectionStatus,
        by_value=True,
        required=True,
        validate=validate.OneOf(
            [ObjectionStatus.SUSTAINED, ObjectionStatus.PARTLY_SUSTAINED, ObjectionStatus.DISMISSED]
        ),
        metadata={"description": "sustained | partly_sustained | dismissed"},
    )
    reasons = fields.String(required=True, validate=validate.Length(min=1, max=MAX_REASONS_CHARS))
    correction = fields.List(fields.Nested(CorrectionSchema), load_default=list)
