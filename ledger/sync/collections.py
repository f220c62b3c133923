"""The collections a HIS or ERP mirrors, each with the scoped select of the regular GET endpoint
(so a caller sees, down to the line of a shared order, exactly what it sees there)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from core.actors import Actor, OrgKind
from ledger.models import (
    HospitalItemCode,
    Order,
    OrderLine,
    Payment,
    ReceiptLine,
    ReturnLine,
    SettlementLine,
    Shipment,
    ShipmentLine,
)
from ledger.order_views import OrderView
from ledger.schemas import InvoiceLineSchema, ItemCodeSchema, PaymentSchema
from ledger.scoping import party_scope
from ledger.services import invoicing, item_codes, listings, ordering, settlement
from ledger.sync import schemas
from ledger.sync.registry import Collection, register, schema_dump
from ledger.trace.models import TraceCode
from ledger.trace.schemas import TraceCodeSchema

#: Whole-order parties: a manufacturer mirrors the lines of its products, not order headers (an
#: order's header status for it is computed from its lines, ledger/order_views.py).
WHOLE_ORDER = frozenset({OrgKind.HOSPITAL, OrgKind.DISTRIBUTOR})
#: Money-flow parties: invoices, settlement and payments are between hospital and distributor.
MONEY = frozenset({OrgKind.HOSPITAL, OrgKind.DISTRIBUTOR})


def _order_headers(_session: Session, _actor: Actor, orders: Sequence[Order]) -> list[dict[str, Any]]:
    views = [
        OrderView(
            id=o.id,
            hospital_id=o.hospital_id,
            distributor_id=o.distributor_id,
            region_code=o.region_code,
            status=o.status,
            urgency=o.urgency,
            deadline_at=o.deadline_at,
            submitted_at=o.submitted_at,
            refusal_reason=o.refusal_reason,
            first_read_at=o.first_read_at,
            decided_at=o.decided_at,
            note=o.note,
            lines=[],
        )
        for o in orders
    ]
    return list(schemas.ORDER.dump(views, many=True))


def _of_my_products(line_id: Any) -> Any:
    return select(OrderLine.manufacturer_id).where(OrderLine.id == line_id).scalar_subquery()


def shipments_visible_to(actor: Actor) -> Select[tuple[Shipment]]:
    """Shipment headers: the hospital's, the distributor's, and those carrying a manufacturer's
    products."""
    if actor.org_kind is OrgKind.MANUFACTURER:
        mine = exists().where(
            ShipmentLine.shipment_id == Shipment.id,
            OrderLine.id == ShipmentLine.order_line_id,
            OrderLine.manufacturer_id == actor.org_id,
        )
        return select(Shipment).where(mine)
    return party_scope(
        select(Shipment), actor, hospital=Shipment.hospital_id, distributor=Shipment.distributor_id
    )


def receipt_lines_visible_to(actor: Actor) -> Select[tuple[ReceiptLine]]:
    return party_scope(
        select(ReceiptLine),
        actor,
        hospital=ReceiptLine.hospital_id,
        distributor=ReceiptLine.distributor_id,
        manufacturer=ReceiptLine.manufacturer_id,
    )


def return_lines_visible_to(actor: Actor) -> Select[tuple[ReturnLine]]:
    return party_scope(
        select(ReturnLine),
        actor,
        hospital=ReturnLine.hospital_id,
        distributor=select(OrderLine.distributor_id)
        .where(OrderLine.id == ReturnLine.order_line_id)
        .scalar_subquery(),
        manufacturer=_of_my_products(ReturnLine.order_line_id),
    )


def settlement_lines_visible_to(actor: Actor) -> Select[tuple[SettlementLine]]:
    return party_scope(
        select(SettlementLine),
        actor,
        hospital=SettlementLine.hospital_id,
        distributor=SettlementLine.enterprise_id,
    )


def payments_visible_to(actor: Actor) -> Select[tuple[Payment]]:
    """As GET /payments: an enterprise's received, a hospital's made on its behalf."""
    return party_scope(
        select(Payment), actor, hospital=Payment.hospital_id, distributor=Payment.enterprise_id
    )


def trace_codes_visible_to(actor: Actor) -> Select[tuple[TraceCode]]:
    """The codes on the caller's shipment lines: the hospital's received, the distributor's shipped."""
    return party_scope(
        select(TraceCode), actor, hospital=TraceCode.hospital_id, distributor=TraceCode.distributor_id
    )


def _register_all() -> None:
    from ledger.models import Invoice, InvoiceLine, Listing, SettlementApplication

    dump = schema_dump
    add = register
    add(Collection("listings", "挂网产品", Listing, listings.listings_visible_to, dump(schemas.LISTING)))
    add(Collection("orders", "订单", Order, ordering.orders_visible_to, _order_headers, WHOLE_ORDER))
    add(
        Collection(
            "order_lines", "订单明细", OrderLine, ordering.order_lines_visible_to, dump(schemas.ORDER_LINE)
        )
    )
    add(Collection("shipments", "配送单", Shipment, shipments_visible_to, dump(schemas.SHIPMENT)))
    add(
        Collection(
            "shipment_lines",
            "配送明细",
            ShipmentLine,
            ordering.shipment_lines_visible_to,
            dump(schemas.SHIPMENT_LINE),
        )
    )
    add(
        Collection(
            "receipt_lines", "验收记录", ReceiptLine, receipt_lines_visible_to, dump(schemas.RECEIPT_LINE)
        )
    )
    add(
        Collection("return_lines", "退货记录", ReturnLine, return_lines_visible_to, dump(schemas.RETURN_LINE))
    )
    add(Collection("invoices", "发票", Invoice, invoicing.invoices_visible_to, dump(schemas.INVOICE), MONEY))
    add(
        Collection(
            "invoice_lines",
            "发票明细",
            InvoiceLine,
            invoicing.invoice_lines_visible_to,
            dump(InvoiceLineSchema()),
            MONEY,
        )
    )
    add(
        Collection(
            "settlement_applications",
            "结算申请",
            SettlementApplication,
            settlement.applications_visible_to,
            dump(schemas.APPLICATION),
            MONEY,
        )
    )
    add(
        Collection(
            "settlement_lines",
            "结算明细",
            SettlementLine,
            settlement_lines_visible_to,
            dump(schemas.SETTLEMENT_LINE),
            MONEY,
        )
    )
    add(Collection("payments", "支付记录", Payment, payments_visible_to, dump(PaymentSchema()), MONEY))
    # The shipped packs' traceability codes (追溯码), so the HIS need not scan them twice
    # (supervision-and-interop.md §5); a code's state follows the receipt and returns.
    add(
        Collection("trace_codes", "追溯码", TraceCode, trace_codes_visible_to, dump(TraceCodeSchema()), MONEY)
    )
    # The hospital's own item codes (院内编码对照): the HIS joins platform products to its items.
    add(
        Collection(
            "item_codes",
            "院内编码对照",
            HospitalItemCode,
            partial(item_codes.item_codes_visible_to, history=True),
            dump(ItemCodeSchema()),
            frozenset({OrgKind.HOSPITAL}),
        )
    )


_register_all()
