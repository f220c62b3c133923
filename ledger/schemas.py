"""Marshmallow schemas for the order and goods flows (API, CLI and spreadsheet import)."""

from __future__ import annotations

from marshmallow import fields, validate

from core.validation import BaseSchema, Yuan
from ledger.models import ListingMode, ListingStatus, OrderLineStatus, OrderStatus, PurchaseCategory, Urgency
from ledger.services.ordering import REJECTION_REASONS

_region = validate.Regexp(r"^\d{6}$", error="须为6位行政区划代码 (6-digit region code)")


class ListingSchema(BaseSchema):
    id = fields.Integer()
    mode = fields.Enum(ListingMode, by_value=True)
    status = fields.Enum(ListingStatus, by_value=True)
    product_id = fields.Integer()
    generic_name = fields.String(attribute="product.generic_name")
    spec_text = fields.String(attribute="product.spec_text")
    manufacturer_id = fields.Integer()
    region_code = fields.String()
    pack_price = Yuan(attribute="pack_price_fen")
    award_id = fields.Integer(allow_none=True)
    supply_role = fields.String(allow_none=True)
    hospital_id = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)
    reference_price = Yuan(attribute="reference_price_fen", allow_none=True)
    price_flagged = fields.Boolean()
    status_reason = fields.String(allow_none=True)


class ListingQuerySchema(BaseSchema):
    mode = fields.Enum(ListingMode, by_value=True)
    status = fields.Enum(ListingStatus, by_value=True)
    product_id = fields.Integer()
    region_code = fields.String()


class PriceLinkedApplySchema(BaseSchema):
    product_id = fields.Integer(required=True, strict=True)
    region_code = fields.String(required=True, validate=_region)
    pack_price = Yuan(required=True)


class FiledPurchaseSchema(BaseSchema):
    product_id = fields.Integer(required=True, strict=True)
    pack_price = Yuan(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=2, max=500))


class ListingStatusSchema(BaseSchema):
    to = fields.Enum(ListingStatus, by_value=True, required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))


class ReferencePriceCreateSchema(BaseSchema):
    product_id = fields.Integer(required=True, strict=True)
    pack_price = Yuan(required=True)
    source = fields.String(required=True, validate=validate.Length(min=1, max=40))
    valid_on = fields.Date(required=True)


class ReferencePriceSchema(BaseSchema):
    id = fields.Integer()
    product_id = fields.Integer()
    pack_price = Yuan(attribute="pack_price_fen")
    source = fields.String()
    valid_on = fields.Date()


class AuthorizationCreateSchema(BaseSchema):
    distributor_id = fields.Integer(required=True, strict=True)
    product_id = fields.Integer(load_default=None, allow_none=True, strict=True)
    region_code = fields.String(required=True, validate=_region)


class AuthorizationSchema(BaseSchema):
    id = fields.Integer()
    manufacturer_id = fields.Integer()
    distributor_id = fields.Integer()
    product_id = fields.Integer(allow_none=True)
    region_code = fields.String()
    active = fields.Boolean()


class OrderLineInSchema(BaseSchema):
    listing_id = fields.Integer(required=True, strict=True)
    quantity = fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=1, max=10_000_000),
        metadata={"description": "packs"},
    )


class OrderCreateSchema(BaseSchema):
    distributor_id = fields.Integer(required=True, strict=True)
    urgency = fields.Enum(Urgency, by_value=True, load_default=Urgency.NORMAL)
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    lines = fields.List(
        fields.Nested(OrderLineInSchema), required=True, validate=validate.Length(min=1, max=5000)
    )


class OrderRowSchema(BaseSchema):
    """One spreadsheet row of an order upload."""

    listing_id = fields.Integer(required=True)
    quantity = fields.Integer(required=True, validate=validate.Range(min=1, max=10_000_000))
    distributor_id = fields.Integer(required=True)
    urgency = fields.Enum(Urgency, by_value=True, load_default=Urgency.NORMAL)


class OrderLineSchema(BaseSchema):
    id = fields.Integer()
    listing_id = fields.Integer()
    product_id = fields.Integer()
    manufacturer_id = fields.Integer()
    mode = fields.Enum(ListingMode, by_value=True)
    award_id = fields.Integer(allow_none=True)
    quantity = fields.Integer()
    pack_price = Yuan(attribute="pack_price_fen")
    amount = Yuan(attribute="amount_fen")
    shipped_quantity = fields.Integer()
    accepted_quantity = fields.Integer()
    rejected_quantity = fields.Integer()
    returned_quantity = fields.Integer()
    cancelled_quantity = fields.Integer()
    status = fields.Enum(OrderLineStatus, by_value=True)


class OrderSchema(BaseSchema):
    id = fields.Integer()
    hospital_id = fields.Integer()
    distributor_id = fields.Integer()
    region_code = fields.String()
    status = fields.Enum(OrderStatus, by_value=True)
    urgency = fields.Enum(Urgency, by_value=True)
    deadline_at = fields.DateTime()
    submitted_at = fields.DateTime()
    refusal_reason = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    lines = fields.List(fields.Nested(OrderLineSchema))


class OrderQuerySchema(BaseSchema):
    status = fields.Enum(OrderStatus, by_value=True)


class DecisionSchema(BaseSchema):
    accept = fields.Boolean(required=True)
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class CancelSchema(BaseSchema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class ShipLineSchema(BaseSchema):
    order_line_id = fields.Integer(required=True, strict=True)
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    batch_no = fields.String(required=True, validate=validate.Length(min=1, max=40))
    expiry_on = fields.Date(required=True)


class ShipmentCreateSchema(BaseSchema):
    delivery_note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60))
    lines = fields.List(
        fields.Nested(ShipLineSchema), required=True, validate=validate.Length(min=1, max=5000)
    )


class ShipmentLineSchema(BaseSchema):
    id = fields.Integer()
    shipment_id = fields.Integer()
    order_line_id = fields.Integer()
    quantity = fields.Integer()
    batch_no = fields.String()
    expiry_on = fields.Date()
    accepted_quantity = fields.Integer()
    rejected_quantity = fields.Integer()
    shipped_on = fields.Date()


class ShipmentSchema(BaseSchema):
    id = fields.Integer()
    order_id = fields.Integer()
    distributor_id = fields.Integer()
    hospital_id = fields.Integer()
    shipped_at = fields.DateTime()
    delivery_note = fields.String(allow_none=True)
    lines = fields.List(fields.Nested(ShipmentLineSchema))


class ReceiptLineCreateSchema(BaseSchema):
    accepted_quantity = fields.Integer(required=True, strict=True)
    rejected_quantity = fields.Integer(load_default=0, strict=True)
    reason_code = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(REJECTION_REASONS)
    )
    accepted_on = fields.Date(load_default=None, allow_none=True)


class ReceiptLineSchema(BaseSchema):
    id = fields.Integer()
    shipment_line_id = fields.Integer()
    order_line_id = fields.Integer()
    accepted_quantity = fields.Integer()
    rejected_quantity = fields.Integer()
    reason_code = fields.String(allow_none=True)
    accepted_on = fields.Date()
    confirmed_at = fields.DateTime()


class ReturnCreateSchema(BaseSchema):
    quantity = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500))


class ReturnSchema(BaseSchema):
    id = fields.Integer()
    receipt_line_id = fields.Integer()
    order_line_id = fields.Integer()
    quantity = fields.Integer()
    reason = fields.String()
    returned_on = fields.Date()


class ProgressSchema(BaseSchema):
    batch_id = fields.Integer()
    item_id = fields.Integer()
    generic_name = fields.String()
    hospital_id = fields.Integer()
    award_id = fields.Integer()
    manufacturer_id = fields.Integer()
    agreed_quantity = fields.Integer()
    accepted_quantity = fields.Integer()
    completion_pct = fields.Decimal(as_string=True)
    time_elapsed_pct = fields.Decimal(as_string=True)
    over_volume_quantity = fields.Integer()


class ProgressQuerySchema(BaseSchema):
    batch_id = fields.Integer()
    hospital_id = fields.Integer()


class OffPlatformCreateSchema(BaseSchema):
    month = fields.Date(required=True, metadata={"description": "first day of the month"})
    category = fields.Enum(PurchaseCategory, by_value=True, required=True)
    amount = Yuan(required=True)


class OffPlatformSchema(BaseSchema):
    id = fields.Integer()
    hospital_id = fields.Integer()
    month = fields.Date()
    category = fields.Enum(PurchaseCategory, by_value=True)
    amount = Yuan(attribute="amount_fen")


class OrderSummarySchema(BaseSchema):
    """An order without its lines (what an upload of many lines answers with)."""

    id = fields.Integer()
    distributor_id = fields.Integer()
    status = fields.Enum(OrderStatus, by_value=True)
    urgency = fields.Enum(Urgency, by_value=True)
    deadline_at = fields.DateTime()
    line_count = fields.Integer()
    amount = Yuan(attribute="amount_fen")


class OffPlatformRowSchema(OffPlatformCreateSchema):
    """A spreadsheet row of off-platform amounts (month as YYYY-MM-01)."""
