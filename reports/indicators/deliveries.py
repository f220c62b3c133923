"""Delivery rate (配送率) and on-time arrival rate (及时到货率), vbp-rules.md §6."""

from __future__ import annotations

from sqlalchemy import case, func, select

from ledger.models import Order, OrderLine, ReceiptLine
from ledger.supervision.delivery import delivered_packs_expr, ordered_packs_expr
from reports.indicators.builder import Builder


def deliveries(b: Builder) -> None:
    """Delivery rate by order month; on-time arrival by acceptance month."""
    ol = OrderLine
    parties = {
        "hospital": ol.hospital_id,
        "distributor": ol.distributor_id,
        "manufacturer": ol.manufacturer_id,
    }
    # One per-line definition with the supply-failure evidence (ledger/supervision/delivery.py):
    # refused and voided packs stay owed (deliveries the hospital did not get), what the hospital
    # itself cancelled does not; packs rejected at receipt were not delivered.
    stmt = select(func.sum(ordered_packs_expr()), func.sum(delivered_packs_expr())).where(
        b.in_period(ol.ordered_on)
    )
    key = b.key(
        day=ol.ordered_on, region=ol.region_code, hospital=ol.hospital_id, enterprise=ol.distributor_id
    )
    b.collect(b.scoped(stmt, **parties), ["ordered_qty", "delivered_qty"], key)

    # The receipt confirmation is the platform's record of arrival; the shipment's own time only
    # says when it left the distributor. Rejected deliveries arrived too, so they count.
    rl = ReceiptLine
    stmt = (
        select(func.count(), func.sum(case((rl.confirmed_at <= Order.deadline_at, 1), else_=0)))
        .select_from(rl)
        .join(ol, ol.id == rl.order_line_id)
        .join(Order, Order.id == ol.order_id)
        .where(b.in_period(rl.accepted_on))
    )
    key = b.key(
        day=rl.accepted_on, region=ol.region_code, hospital=rl.hospital_id, enterprise=rl.distributor_id
    )
    b.collect(b.scoped(stmt, **parties), ["arrived_lines", "on_time_arrived_lines"], key)
