"""THE precedence of reconciliation statuses: one status per order line, the first rule that applies
(three-flows.md), each with the difference it measures in packs and fen. It is one CASE over the
facts, so a province is classified by the database, not by a Python loop per row."""

from __future__ import annotations

from dataclasses import astuple, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    DateTime,
    Select,
    and_,
    bindparam,
    case,
    literal,
    or_,
    select,
    true,
)

from core import clock
from core.actors import Actor
from core.glossary import terms_of
from ledger.models import OrderLineStatus, ReconStatus
from ledger.reconcile.facts import (
    DEFAULTS,
    Options,
    Slice,
    deadline_passed,
    facts,
    uninvoiced_receipt_before,
)

#: One status per order line (stored by runs as ReconStatus); the precedence is `rules`.
Status = ReconStatus


#: The statuses in words: the one glossary (core/glossary.py), as on pages, PDFs and spreadsheets.
LABELS: dict[Status, str] = terms_of(Status)

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


#: The moment a reconciliation is judged at, as bound parameters: the classification's SQL is
#: built once per slice and reused at any moment (`judged_at` gives the values).
AS_OF = bindparam("reconcile_as_of", type_=DateTime(timezone=True))
ON = bindparam("reconcile_on", type_=Date)
GRACE_CUTOFF = bindparam("reconcile_grace_cutoff", type_=Date)


def judged_at(as_of: datetime, options: Options = DEFAULTS) -> dict[str, Any]:
    """The parameters of a classification judged at `as_of`: deadlines against the moment,
    payments and the invoice grace period against its business day in the province."""
    today = clock.business_date(as_of)
    return {
        "reconcile_as_of": as_of,
        "reconcile_on": today,
        "reconcile_grace_cutoff": today - timedelta(days=options.invoice_grace_days),
    }


def rules(f: Any) -> list[Rule]:
    """THE precedence: the first rule that applies decides the line's status (three-flows.md)."""
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
            and_(uninvoiced > 0, uninvoiced_receipt_before(f.c.order_line_id, GRACE_CUTOFF)),
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
            and_(remaining > 0, deadline_passed(f.c.order_id, AS_OF)),
            remaining,
            remaining * price,
        ),
        Rule(Status.AWAITING_SHIPMENT, remaining > 0, remaining, remaining * price),
    ]


#: The statuses in precedence order (the order of `rules`), with COMPLETE last.
PRECEDENCE: tuple[Status, ...] = (
    Status.DISPUTED,
    Status.OVERPAID,
    Status.INVOICE_QTY_MISMATCH,
    Status.INVOICE_PRICE_MISMATCH,
    Status.INVOICE_AMOUNT_MISMATCH,
    Status.PAYMENT_OVERDUE,
    Status.AWAITING_PAYMENT,
    Status.INVOICE_OVERDUE,
    Status.AWAITING_INVOICE,
    Status.SHORT_OR_REJECTED,
    Status.AWAITING_RECEIPT,
    Status.CLOSED,
    Status.SHIPMENT_OVERDUE,
    Status.AWAITING_SHIPMENT,
)


def _pick(rule_list: list[Rule], attr: str, default: Any) -> ColumnElement[Any]:
    return case(*[(r.applies, getattr(r, attr)) for r in rule_list], else_=default)


def _by_rule(rule_no: Any, values: list[Any], default: Any) -> ColumnElement[Any]:
    """values[rule_no]: the rule's place in the precedence picks its value."""
    return case(dict(enumerate(values)), value=rule_no, else_=default)


def classified(actor: Actor, where: Slice, *, with_flags: bool = False) -> Select[Any]:
    """The facts plus `status`, `diff_qty`, `diff_fen` per line (and every applicable rule when
    `with_flags`: a line has one status but may break several rules). Execute it with
    `judged_at(as_of, options)`: deadlines and payments are judged on the business day of `as_of`.

    Building this statement costs tens of milliseconds of Python; it depends only on who asks and
    which slice, so it is built once per (actor, slice) and reused."""
    key = (actor, _slice_key(where), with_flags)
    found = _CLASSIFIED.get(key)
    if found is None:
        if len(_CLASSIFIED) >= 256:
            _CLASSIFIED.clear()
        found = _CLASSIFIED[key] = _build_classified(actor, where, with_flags)
    return found


_CLASSIFIED: dict[tuple[Any, ...], Select[Any]] = {}


def _slice_key(where: Slice) -> tuple[Any, ...]:
    ids = None if where.order_line_ids is None else tuple(where.order_line_ids)
    return (*astuple(replace(where, order_line_ids=None)), ids)


def _build_classified(actor: Actor, where: Slice, with_flags: bool) -> Select[Any]:
    f = facts(actor, where, on=ON).subquery("f")
    rule_list = rules(f)
    assert tuple(r.status for r in rule_list) == PRECEDENCE  # noqa: S101 - one order, written twice
    if with_flags:
        # Lines one page at a time: every rule is evaluated anyway for the flags.
        return select(
            *f.c,
            _pick(rule_list, "status", literal(Status.COMPLETE.value)).label("status"),
            _pick(rule_list, "diff_qty", literal(0)).label("diff_qty"),
            _pick(rule_list, "diff_fen", literal(0)).label("diff_fen"),
            *[case((r.applies, true()), else_=False).label(f"flag_{r.status.value}") for r in rule_list],
        )
    # Whole slices (totals, stored runs): the precedence is evaluated once per line, as the
    # number of the first rule that applies, and the status and differences are read by that
    # number. OFFSET 0 keeps the planners (PostgreSQL, SQLite) from copying the CASE into each
    # of its uses, which evaluated every condition, and the receipts' EXISTS, three times.
    ranked = (
        select(
            *f.c,
            case(*[(r.applies, n) for n, r in enumerate(rule_list)], else_=len(rule_list)).label("rule_no"),
        )
        .offset(0)
        .subquery("ranked")
    )
    by_number = rules(ranked)
    rule_no = ranked.c.rule_no
    return select(
        *[c for c in ranked.c if c.name != "rule_no"],
        _by_rule(rule_no, [r.status.value for r in by_number], Status.COMPLETE.value).label("status"),
        _by_rule(rule_no, [r.diff_qty for r in by_number], 0).label("diff_qty"),
        _by_rule(rule_no, [r.diff_fen for r in by_number], 0).label("diff_fen"),
    )
