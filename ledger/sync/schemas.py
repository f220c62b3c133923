"""Sync representations: the regular GET schemas (ledger/schemas.py), headers without their
lines (lines are collections of their own, so a 100,000-line order is not re-sent whole when
one line changes), lines with the id of their header, and states the lists leave out."""

from __future__ import annotations

from marshmallow import fields

from ledger.models import ReceiptStatus, ReturnStatus, ShipmentLineStatus
from ledger.schemas import (
    ApplicationSchema,
    InvoiceSchema,
    ListingSchema,
    OrderLineSchema,
    OrderSchema,
    ReceiptLineSchema,
    ReturnSchema,
    SettlementLineSchema,
    ShipmentLineSchema,
    ShipmentSchema,
)

#: Filled per request from other tables (ledger/supervision/listing_facts.py: credit grade,
#: payment standard), not from the listing row: not mirrored.
ANNOTATED = ("credit_grade", "credit_repaired", "payment_standard", "payment_standard_unit")


class SyncOrderLineSchema(OrderLineSchema):
    order_id = fields.Integer()


class SyncShipmentLineSchema(ShipmentLineSchema):
    status = fields.Enum(ShipmentLineStatus, by_value=True)


class SyncReceiptLineSchema(ReceiptLineSchema):
    status = fields.Enum(ReceiptStatus, by_value=True)


class SyncReturnSchema(ReturnSchema):
    status = fields.Enum(ReturnStatus, by_value=True)


class SyncSettlementLineSchema(SettlementLineSchema):
    application_id = fields.Integer()


LISTING = ListingSchema(exclude=ANNOTATED)
ORDER = OrderSchema(exclude=("lines",))
ORDER_LINE = SyncOrderLineSchema()
SHIPMENT = ShipmentSchema(exclude=("lines",))
SHIPMENT_LINE = SyncShipmentLineSchema()
RECEIPT_LINE = SyncReceiptLineSchema()
RETURN_LINE = SyncReturnSchema()
INVOICE = InvoiceSchema(exclude=("lines",))
APPLICATION = ApplicationSchema(exclude=("lines",))
SETTLEMENT_LINE = SyncSettlementLineSchema()
