"""The payment clock of an invoice line: due, overdue, on time (vbp-rules.md §4.1, §6, E8).

The rule, written once and read by /invoice-lines/overdue, reconciliation (逾期未付款 / 待付款),
statements (through reconciliation) and the on-time payment indicator:

* **Due date**: acceptance + the payment terms (§4.1), stored on the line when it is invoiced.
* **Which lines run the clock** (`payable`): blue lines with something left to pay (amount net of
  red-letter credits > 0), pending or confirmed. The clock runs from acceptance (§4.1, §5
  "acceptance starts the payment clock"), not from the hospital's confirmation, so a line still
  pending confirmation is due and can be overdue. A disputed line, or one whose settlement line is
  disputed and not yet refiled, waits for its resolution: it is neither due nor overdue meanwhile.
* **Paid on a day**: a confirmed settlement line of the invoice line is in an application paid on
  or before that day (a payment counts from its own date, whatever day it was recorded).
* **Overdue on a day**: payable, not paid on that day, and the day is strictly after the due date
  (E8: paid on the due date is on time, so unpaid on it is not yet late).
* **On time**: paid on or before the due date. **Late**: paid after it, or overdue.
* **Judged on a day** (the on-time rate's denominator, §6 "paid ≤ due date ÷ due"): payable, due
  on or before the day, and either paid or overdue — a line unpaid on its own due date is not yet
  judged either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Subquery, and_, case, func, not_, or_, select
from sqlalchemy.orm import aliased

from ledger.models import (
    InvoiceLine,
    InvoiceLineStatus,
    Payment,
    ReceiptLine,
    SettlementLine,
    SettlementLineStatus,
)

#: Invoice-line states that run the payment clock (a disputed line waits for its resolution).
PAYABLE_STATUSES = (InvoiceLineStatus.PENDING, InvoiceLineStatus.CONFIRMED)


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    """0/1 alike on both databases (summable, comparable)."""
    return case((condition, 1), else_=0)


def invoice_line_clock(
    on: date, *, lines: Sequence[ColumnElement[bool]] = (), with_acceptance: bool = False
) -> Subquery:
    """Every invoice line (filtered by `lines`, conditions on InvoiceLine) on day `on`, with:
    `net_fen` (amount net of payable red-letter credits), `paid_on` and `paid_fen` (its payment,
    if dated on or before `on`), `disputed_fen` (an open settlement dispute), and the 0/1 flags
    `payable`, `overdue`, `on_time`, `late`, `judged` of the module docstring; `accepted_on` too
    when `with_acceptance`. One row per invoice line: at most one settlement line of an invoice
    line is open (not disputed) and one payment pays an application."""
    il = InvoiceLine
    red = aliased(InvoiceLine, name="credit_line")
    credits = (
        select(red.credited_line_id.label("line_id"), func.sum(red.amount_fen).label("fen"))
        .where(red.credited_line_id.is_not(None), red.status.in_(PAYABLE_STATUSES))
        .group_by(red.credited_line_id)
        .subquery("credits")
    )
    paid = (
        select(
            SettlementLine.invoice_line_id.label("line_id"),
            SettlementLine.amount_fen.label("fen"),
            Payment.paid_on.label("paid_on"),
        )
        .join(Payment, Payment.application_id == SettlementLine.application_id)
        .where(SettlementLine.status == SettlementLineStatus.CONFIRMED, Payment.paid_on <= on)
        .subquery("paid")
    )
    # An open settlement dispute: a disputed line not yet refiled or corrected (a refiled or
    # corrected one has left the disputed state; at most one line of an invoice line is disputed).
    disputes = (
        select(
            SettlementLine.invoice_line_id.label("line_id"),
            func.max(SettlementLine.amount_fen).label("fen"),
        )
        .where(SettlementLine.status == SettlementLineStatus.DISPUTED)
        .group_by(SettlementLine.invoice_line_id)
        .subquery("disputes")
    )
    net = il.amount_fen + func.coalesce(credits.c.fen, 0)
    is_paid = paid.c.paid_on.is_not(None)
    payable = and_(
        il.amount_fen > 0,
        il.status.in_(PAYABLE_STATUSES),
        net > 0,
        disputes.c.line_id.is_(None),
    )
    overdue = and_(payable, not_(is_paid), il.due_on < on)
    on_time = and_(payable, is_paid, paid.c.paid_on <= il.due_on)
    late = or_(and_(payable, is_paid, paid.c.paid_on > il.due_on), overdue)
    judged = and_(payable, il.due_on <= on, or_(is_paid, il.due_on < on))
    columns: list[Any] = [
        il.id,
        il.order_line_id,
        il.receipt_line_id,
        il.hospital_id,
        il.enterprise_id,
        il.status,
        il.quantity,
        il.pack_price_fen,
        il.amount_fen,
        il.due_on,
        net.label("net_fen"),
        paid.c.paid_on,
        paid.c.fen.label("paid_fen"),
        disputes.c.fen.label("disputed_fen"),
        _flag(payable).label("payable"),
        _flag(overdue).label("overdue"),
        _flag(on_time).label("on_time"),
        _flag(late).label("late"),
        _flag(judged).label("judged"),
    ]
    stmt = (
        select(*columns)
        .select_from(il)
        .outerjoin(credits, credits.c.line_id == il.id)
        .outerjoin(paid, paid.c.line_id == il.id)
        .outerjoin(disputes, disputes.c.line_id == il.id)
        .where(*lines)
    )
    if with_acceptance:
        stmt = stmt.join(ReceiptLine, ReceiptLine.id == il.receipt_line_id).add_columns(
            ReceiptLine.accepted_on
        )
    return stmt.subquery("clock")
