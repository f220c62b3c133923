"""On-time payment (按时回款率), payment rate (回款率) and days to payment (vbp-rules.md §6, E8) over
the invoice lines due in the period, judged by the one payment clock (ledger.figures.payments)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import case, func, select

from ledger.figures import invoice_line_clock
from ledger.models import InvoiceLine, OrderLine
from reports.indicators.builder import Builder


def payments(b: Builder, as_of: date) -> None:
    """Lines due in the period and judged on `as_of` (paid, or overdue): on time by count and net
    amount, paid amount, and Σ days from acceptance to payment over the paid ones."""
    ol = OrderLine
    c = invoice_line_clock(
        as_of, lines=[b.in_period(InvoiceLine.due_on), InvoiceLine.due_on <= as_of], with_acceptance=True
    )
    is_paid = c.c.paid_on.is_not(None)
    on_time = c.c.on_time == 1
    stmt = (
        select(
            func.count(),
            func.sum(c.c.on_time),
            func.sum(c.c.net_fen),
            func.sum(case((on_time, c.c.net_fen), else_=0)),
            func.sum(case((is_paid, 1), else_=0)),
            func.sum(case((is_paid, c.c.net_fen), else_=0)),
            func.sum(case((is_paid, b.days_between(c.c.paid_on, c.c.accepted_on)), else_=0)),
        )
        .select_from(c)
        .join(ol, ol.id == c.c.order_line_id)
        .where(c.c.judged == 1)
    )
    stmt = b.scoped(
        stmt, hospital=c.c.hospital_id, distributor=c.c.enterprise_id, manufacturer=ol.manufacturer_id
    )
    key = b.key(day=c.c.due_on, region=ol.region_code, hospital=c.c.hospital_id, enterprise=c.c.enterprise_id)
    names = ["due_lines", "on_time_lines", "due_fen", "on_time_fen", "paid_lines", "paid_fen", "payment_days"]
    b.collect(stmt, names, key)
