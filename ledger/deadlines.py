"""The deadlines of a working day, per organization (issue 17, the 待办 home): what must be done
by when, read from the records and rules that own each deadline, never recomputed here.

* bid close and demand deadline: the batch timeline (bidding.models.ProcurementBatch);
* filing by the 5th: ledger.services.settlement_deadlines.filing_reminders (vbp-rules.md §4.3);
* the hospital's 5-working-day confirmation window: SettlementApplication.confirm_by, set at filing;
* deliveries: Order.deadline_at, set at ordering by the urgency's delivery time;
* payments: the one payment clock, ledger.figures.payments.invoice_line_clock (due, overdue);
* expiring agreements: the cycle years of ledger/agreements.py, flagged N days ahead (a setting).

Every list is scoped by the domain's own visibility queries, so a deadline names only records the
caller may open.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bidding.batches import batches_visible_to
from bidding.models import BatchStatus, ProcurementBatch
from core import clock
from core.actors import Actor, OrgKind
from ledger.agreements import batches_to_renew, expiring_agreements
from ledger.figures.payments import invoice_line_clock
from ledger.models import ApplicationStatus, InvoiceLine, Order, OrderStatus, SettlementApplication
from ledger.services.invoicing import invoice_lines_visible_to
from ledger.services.ordering import orders_visible_to
from ledger.services.settlement import applications_visible_to
from ledger.services.settlement_deadlines import filing_reminders

#: Orders still to be delivered: their delivery deadline runs.
UNDELIVERED = (OrderStatus.SUBMITTED, OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_SHIPPED)
#: How far ahead the home looks for payments falling due.
PAYMENT_HORIZON = timedelta(days=30)
#: How many days before a cycle year ends its agreements are flagged (VBP_AGREEMENT_NOTICE_DAYS).
AGREEMENT_NOTICE_DAYS = 90


@dataclass(frozen=True)
class Deadline:
    """One thing due: what (a glossary code), by when, about which record."""

    kind: str
    due_at: datetime
    link_kind: str
    link_id: int | None
    #: The other party (a hospital, an enterprise), when there is one.
    org_id: int | None = None
    #: Small facts to show: a batch's name, how many lines, an amount the caller owns.
    data: dict[str, Any] = field(default_factory=dict)
    #: The business date, for a deadline that is a whole day (it lasts until that day's end).
    due_on: date | None = None

    def overdue(self, now: datetime) -> bool:
        return self.due_at <= now


def end_of(day: date) -> datetime:
    """A deadline on a business date lasts until that day's midnight in the province."""
    return clock.local(day + timedelta(days=1), time(0))


def batch_deadlines(session: Session, actor: Actor) -> list[Deadline]:
    """Demand deadlines (hospitals, bureau) and bid closes (manufacturers, bureau) of open batches."""
    found: list[Deadline] = []
    phases: list[tuple[BatchStatus, str, Any]] = []
    if actor.org_kind in (OrgKind.HOSPITAL, OrgKind.BUREAU):
        phases.append((BatchStatus.DEMAND_COLLECTION, "demand_deadline", ProcurementBatch.demand_closes_at))
    if actor.org_kind in (OrgKind.MANUFACTURER, OrgKind.BUREAU):
        phases.append((BatchStatus.BIDDING, "bid_close", ProcurementBatch.bid_closes_at))
    for status, kind, column in phases:
        stmt = batches_visible_to(actor).where(ProcurementBatch.status == status).order_by(column)
        for batch in session.scalars(stmt):
            found.append(
                Deadline(kind, getattr(batch, column.key), "batch", batch.id, data={"name": batch.name})
            )
    return found


def filing_deadlines(session: Session, actor: Actor, *, now: datetime) -> list[Deadline]:
    """An enterprise's last-month lines not yet filed, while the window to the 5th is open."""
    if actor.org_kind not in (OrgKind.DISTRIBUTOR, OrgKind.MANUFACTURER, OrgKind.BUREAU):
        return []
    return [
        Deadline(
            "filing_deadline",
            end_of(r.deadline),
            "settlement_filing",
            None,
            org_id=r.hospital_id,
            data={"lines": r.lines, "period": r.period_month.strftime("%Y-%m")},
            due_on=r.deadline,
        )
        for r in filing_reminders(session, now=now)
        if actor.is_bureau or r.enterprise_id == actor.org_id
    ]


def confirmation_deadlines(session: Session, actor: Actor) -> list[Deadline]:
    """Filed applications waiting for the hospital's confirmation within 5 working days."""
    stmt = (
        applications_visible_to(actor)
        .where(SettlementApplication.status == ApplicationStatus.FILED)
        .order_by(SettlementApplication.confirm_by, SettlementApplication.id)
    )
    other = "enterprise_id" if actor.org_kind is OrgKind.HOSPITAL else "hospital_id"
    return [
        Deadline(
            "confirmation_due",
            end_of(a.confirm_by),
            "settlement_application",
            a.id,
            org_id=getattr(a, other),
            data={"period": a.period_month.strftime("%Y-%m")},
            due_on=a.confirm_by,
        )
        for a in session.scalars(stmt)
    ]


def delivery_deadlines(session: Session, actor: Actor, *, now: datetime) -> list[Deadline]:
    """Orders not yet fully delivered, by their delivery deadline (the overdue ones first); the
    bureau, which sees every order of the province, is shown only the overdue ones."""
    stmt = orders_visible_to(actor).where(Order.status.in_(UNDELIVERED)).order_by(Order.deadline_at, Order.id)
    if actor.is_bureau:
        stmt = stmt.where(Order.deadline_at <= now)
    other = "distributor_id" if actor.org_kind is OrgKind.HOSPITAL else "hospital_id"
    return [
        Deadline("delivery_deadline", o.deadline_at, "order", o.id, org_id=getattr(o, other))
        for o in session.scalars(stmt)
    ]


def payment_deadlines(session: Session, actor: Actor, *, now: datetime) -> list[Deadline]:
    """Invoice lines the payment clock says are payable and unpaid, due by the horizon: grouped by
    due day and counterpart (overdue ones are those whose due day has passed)."""
    today = clock.business_date(now)
    lines = invoice_line_clock(today, lines=[InvoiceLine.due_on <= today + PAYMENT_HORIZON])
    other = InvoiceLine.enterprise_id if actor.org_kind is OrgKind.HOSPITAL else InvoiceLine.hospital_id
    visible = invoice_lines_visible_to(actor).with_only_columns(InvoiceLine.id).subquery()
    rows = session.execute(
        select(lines.c.due_on, other.label("other"), func.count(), func.sum(lines.c.net_fen))
        .join(InvoiceLine, InvoiceLine.id == lines.c.id)
        .join(visible, visible.c.id == lines.c.id)
        .where(lines.c.payable == 1, lines.c.paid_on.is_(None))
        .group_by(lines.c.due_on, other)
        .order_by(lines.c.due_on, other)
    ).all()
    return [
        Deadline(
            "payment_due",
            end_of(due_on),
            "invoice",
            None,
            org_id=other_id,
            data={"lines": int(count), "amount_fen": int(amount or 0)},
            due_on=due_on,
        )
        for due_on, other_id, count, amount in rows
    ]


def agreement_deadlines(
    session: Session, actor: Actor, *, now: datetime, notice_days: int = AGREEMENT_NOTICE_DAYS
) -> list[Deadline]:
    """Agreements ending within `notice_days`: the bureau's batches to renew (their last cycle year
    ending, no renewal yet), a hospital's or manufacturer's agreements whose cycle year ends."""
    today = clock.business_date(now)
    if actor.is_bureau:
        return [
            Deadline(
                "agreement_expiring",
                end_of(b.cycle_end_on),
                "batch",
                b.id,
                data={"name": b.name, "action": "renew"},
                due_on=b.cycle_end_on,
            )
            for b in batches_to_renew(session, today=today, notice_days=notice_days)
        ]
    if actor.org_kind not in (OrgKind.HOSPITAL, OrgKind.MANUFACTURER):
        return []
    return [
        Deadline(
            "agreement_expiring",
            end_of(e.last_day),
            "agreements",
            e.batch.id,
            data={"name": e.batch.name, "cycle_year": e.cycle_year, "agreements": e.agreements},
            due_on=e.last_day,
        )
        for e in expiring_agreements(session, actor, today=today, notice_days=notice_days)
    ]


def deadlines_for(
    session: Session, actor: Actor, *, now: datetime, agreement_notice_days: int = AGREEMENT_NOTICE_DAYS
) -> list[Deadline]:
    """Everything due for the caller's organization, soonest (most overdue) first."""
    found = [
        *agreement_deadlines(session, actor, now=now, notice_days=agreement_notice_days),
        *batch_deadlines(session, actor),
        *filing_deadlines(session, actor, now=now),
        *confirmation_deadlines(session, actor),
        *delivery_deadlines(session, actor, now=now),
        *payment_deadlines(session, actor, now=now),
    ]
    return sorted(found, key=lambda d: (d.due_at, d.kind, d.link_id or 0))
