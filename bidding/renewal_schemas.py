"""Marshmallow schemas of renewal (续标) and agreements (HTTP, CLI and pages validate alike)."""

from __future__ import annotations

from marshmallow import fields, validate

from bidding.schemas import BatchSchema
from core.validation import BaseSchema, UnitPrice, Yuan

_name = validate.Length(min=1, max=200)


class RenewalCreateSchema(BaseSchema):
    """The renewal's own timeline; its cycle starts the day after the expiring cycle ends."""

    name = fields.String(
        load_default=None, validate=_name, metadata={"description": "default: old name（续标）"}
    )
    demand_opens_at = fields.AwareDateTime(required=True)
    demand_closes_at = fields.AwareDateTime(required=True)
    bid_opens_at = fields.AwareDateTime(required=True)
    bid_closes_at = fields.AwareDateTime(required=True)
    opening_at = fields.AwareDateTime(required=True)
    cycle_end_on = fields.Date(
        load_default=None,
        metadata={"description": "default: as many years after the new start as the expiring cycle ran"},
    )
    rule_overrides = fields.Dict(
        keys=fields.String(),
        load_default=None,
        allow_none=True,
        metadata={
            "description": "rule parameters to change from the expiring batch's, e.g. renewal_ceiling "
            "(highest_winning | lowest_winning | original), renewal_carry_over (within_spread | all | none)"
        },
    )

    @staticmethod
    def timeline_fields() -> tuple[str, ...]:
        return ("demand_opens_at", "demand_closes_at", "bid_opens_at", "bid_closes_at", "opening_at")


class RenewalBatchSchema(BatchSchema):
    renews_batch_id = fields.Integer(allow_none=True)


class IncumbentSchema(BaseSchema):
    item_id = fields.Integer()
    expiring_item_id = fields.Integer()
    award_id = fields.Integer()
    manufacturer_id = fields.Integer()
    product_id = fields.Integer()
    comparable_price = UnitPrice(attribute="comparable_e4")
    unit_price = UnitPrice(attribute="unit_price_e4")
    pack_price = Yuan(attribute="pack_price_fen")
    may_carry_over = fields.Boolean()
    refusal_code = fields.String(allow_none=True, metadata={"description": "why it must bid again"})
    refusal = fields.String(allow_none=True)


class CarryOverSchema(BaseSchema):
    accepts_revival = fields.Boolean(load_default=True)


class AgreementQuerySchema(BaseSchema):
    batch_id = fields.Integer(validate=validate.Range(min=1))
    year = fields.Integer(
        validate=validate.Range(min=2000, max=2100),
        metadata={"description": "agreements running during this calendar year"},
    )


class AgreementSchema(BaseSchema):
    batch_id = fields.Integer()
    allocation_id = fields.Integer()
    item_id = fields.Integer()
    hospital_id = fields.Integer()
    region_code = fields.String()
    award_id = fields.Integer()
    manufacturer_id = fields.Integer()
    product_id = fields.Integer()
    cycle_year = fields.Integer(metadata={"description": "1 for the cycle's first year"})
    first_day = fields.Date()
    last_day = fields.Date()
    agreed_quantity = fields.Integer()
    unit_price = UnitPrice(attribute="unit_price_e4")
    pack_price = Yuan(attribute="pack_price_fen")
