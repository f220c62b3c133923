"""THE precedence of reconciliation statuses: one status per order line, the first rule that applies
(three-flows.md), each with the difference it measures in packs and fen. It is one CASE over the
facts, so a province is classified by the database, not by a Python loop per row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, literal, or_, select, true

from core import clock
from core.actors import Actor
from ledger.models import OrderLineStatus, ReconStatus
from ledger.reconcile.facts import DEFAULTS, Options, Slice, facts, uninvoiced_receipt_before

#: One status per order line (stored by runs as ReconStatus); the precedence is `rules`.
Status = ReconStatus


LABELS: dict[Status, str] = {
    Status.DISPUTED: "有争议",
    Status.OVERPAID: "超额支付",
    Status.INVOICE_QTY_MISMATCH: "发票数量不符",
    Status.INVOICE_PRICE_MISMATCH: "发票价格不符",
    Status.INVOICE_AMOUNT_MISMATCH: "发票金额不符",
    Status.PAYMENT_OVERDUE: "逾期未付款",
    Status.AWAITING_PAYMENT: "待付款",
    Status.INVOICE_OVERDUE: "超期未开票",
    Status.AWAITING_INVOICE: "待开票",
    Status.SHORT_OR_REJECTED: "短缺/拒收",
    Status.AWAITING_RECEIPT: "待验收",
    Status.CLOSED: "已关闭（拒单/取消）",
    Status.SHIPMENT_OVERDUE: "逾期未配送",
    Status.AWAITING_SHIPMENT: "待配送",
    Status.COMPLETE: "已完成",
}

#: Statuses that are a normal state of a live order rather than an exception to chase.
IN_PROGRESS = frozenset(
    {Status.AWAITING_PAYMENT, Status.AWAITING_INVOICE, Status.AWAITING_RECEIPT, Status.AWAITING_SHIPMENT}
)
#: Statuses that need no action.
SETTLED = frozenset({Status.COMPLETE, Status.CLOSED})


@dataclass(frozen=True)
class Rule:
    status: Status
    applies: ColumnElement[bool]
    diff_qty: ColumnElement[int]
    diff_fen: ColumnElement[int]


def rules(f: Any, as_of: datetime, options: Options) -> list[Rule]:
    """THE precedence: the first rule that applies decides the line's status (three-flows.md)."""
    today = clock.business_date(as_of)
    price = f.c.pack_price_fen
    net_accepted = f.c.accepted - f.c.returned
    uninvoiced = net_accepted - f.c.inv_qty
    over_invoiced = f.c.inv_qty - net_accepted
    outstanding = f.c.inv_fen - f.c.paid_fen
    pending_receipt = f.c.shipped - f.c.accepted - f.c.rejected
    # Rejected packs were never delivered: they remain until re-shipped or cancelled.
    remaining = f.c.quantity - f.c.cancelled_quantity - (f.c.shipped - f.c.rejected)
    short = case((f.c.rejected < remaining, f.c.rejected), else_=remaining)
    zero = literal(0)
    grace_cutoff = today - timedelta(days=options.invoice_grace_days)
    return [
        Rule(
            Status.DISPUTED,
            or_(f.c.inv_disputed_fen != 0, f.c.settle_disputed_fen != 0),
            f.c.inv_disputed_qty,
            f.c.inv_disputed_fen + f.c.settle_disputed_fen,
        ),
        Rule(Status.OVERPAID, f.c.paid_fen > f.c.inv_fen, zero, f.c.paid_fen - f.c.inv_fen),
        Rule(Status.INVOICE_QTY_MISMATCH, over_invoiced > 0, over_invoiced, over_invoiced * price),
        Rule(Status.INVOICE_PRICE_MISMATCH, f.c.price_bad_lines > 0, f.c.price_bad_qty, f.c.price_diff_fen),
        Rule(Status.INVOICE_AMOUNT_MISMATCH, f.c.amount_bad_lines > 0, zero, f.c.amount_diff_fen),
        # Overdue by the one payment clock (ledger.figures.payments): an invoice line of the order
        # line is overdue on the day judged.
        Rule(Status.PAYMENT_OVERDUE, and_(outstanding > 0, f.c.overdue_lines > 0), zero, outstanding),
        Rule(Status.AWAITING_PAYMENT, outstanding > 0, zero, outstanding),
        Rule(
            Status.INVOICE_OVERDUE,
            and_(uninvoiced > 0, uninvoiced_receipt_before(f.c.order_line_id, grace_cutoff)),
            uninvoiced,
            uninvoiced * price,
        ),
        Rule(Status.AWAITING_INVOICE, uninvoiced > 0, uninvoiced, uninvoiced * price),
        # Rejected packs not yet re-shipped or cancelled (three-flows.md): the line's way out is
        # the distributor's re-shipment or the hospital's cancellation of the remainder.
        Rule(Status.SHORT_OR_REJECTED, and_(f.c.rejected > 0, remaining > 0), short, short * price),
        Rule(Status.AWAITING_RECEIPT, pending_receipt > 0, pending_receipt, pending_receipt * price),
        Rule(
            Status.CLOSED,
            f.c.line_status.in_([OrderLineStatus.REFUSED, OrderLineStatus.CANCELLED]),
            zero,
            zero,
        ),
        Rule(
            Status.SHIPMENT_OVERDUE,
            and_(remaining > 0, f.c.deadline_at < as_of),
            remaining,
            remaining * price,
        ),
        Rule(Status.AWAITING_SHIPMENT, remaining > 0, remaining, remaining * price),
    ]


def _pick(rule_list: list[Rule], attr: str, default: Any) -> ColumnElement[Any]:
    return case(*[(r.applies, getattr(r, attr)) for r in rule_list], else_=default)


def classified(
    actor: Actor, where: Slice, as_of: datetime, options: Options = DEFAULTS, *, with_flags: bool = False
) -> Select[Any]:
    """The facts plus `status`, `diff_qty`, `diff_fen` per line (and every applicable rule when
    `with_flags`: a line has one status but may break several rules). Deadlines and payments are
    judged on the business day of `as_of`."""
    f = facts(actor, where, on=clock.business_date(as_of)).subquery("f")
    rule_list = rules(f, as_of, options)
    columns: list[Any] = [
        *f.c,
        _pick(rule_list, "status", literal(Status.COMPLETE.value)).label("status"),
        _pick(rule_list, "diff_qty", literal(0)).label("diff_qty"),
        _pick(rule_list, "diff_fen", literal(0)).label("diff_fen"),
    ]
    if with_flags:
        columns += [case((r.applies, true()), else_=False).label(f"flag_{r.status.value}") for r in rule_list]
    return select(*columns)
