"""Marshmallow schemas of traceability codes (API and pages)."""

from __future__ import annotations

from marshmallow import fields, validate

from core.validation import BaseSchema
from ledger.trace.formats import CodeKind
from ledger.trace.models import TraceCodeState

#: Codes one request may carry: one per pack of a shipment line. The issue's scale is 100,000 per
#: shipment (supervision-and-interop.md §5: tens of thousands); twice that leaves room.
MAX_CODES = 200_000


def code_list(**kwargs: object) -> fields.List:
    return fields.List(
        fields.String(validate=validate.Length(min=1, max=100)),
        validate=validate.Length(max=MAX_CODES),
        **kwargs,  # type: ignore[arg-type]
    )


class AttachSchema(BaseSchema):
    codes = code_list(required=True)


class AttachedSchema(BaseSchema):
    shipment_line_id = fields.Integer()
    count = fields.Integer()
    superseded = fields.Integer()
    kinds = fields.Dict(keys=fields.String(), values=fields.Integer())


class TraceCodeSchema(BaseSchema):
    id = fields.Integer()
    code = fields.String()
    kind = fields.Enum(CodeKind, by_value=True)
    shipment_line_id = fields.Integer()
    shipment_id = fields.Integer()
    hospital_id = fields.Integer()
    distributor_id = fields.Integer()
    product_id = fields.Integer()
    state = fields.Enum(TraceCodeState, by_value=True)
    attached_on = fields.Date()
    attached_at = fields.DateTime()
    matched_at = fields.DateTime(allow_none=True)
    released_at = fields.DateTime(allow_none=True)


class TraceMatchSchema(BaseSchema):
    shipment_line_id = fields.Integer()
    receipt_line_id = fields.Integer()
    scanned = fields.Boolean()
    shipped_count = fields.Integer()
    scanned_count = fields.Integer()
    matched_count = fields.Integer()
    kept_count = fields.Integer()
    released_count = fields.Integer()
    missing_count = fields.Integer()
    extra_count = fields.Integer()
    foreign_count = fields.Integer()
    missing = fields.List(fields.String(), attribute="listed.missing")
    extra = fields.List(fields.String(), attribute="listed.extra")
    foreign = fields.List(fields.String(), attribute="listed.foreign")
    matched_at = fields.DateTime()
