"""The deadlines of direct settlement (vbp-rules.md §4.3): the enterprise files last month's lines
by the 5th (reminders while the window is open) and the hospital confirms within 5 working days
of filing (reminded, escalated to the bureau when late, deemed confirmed where the province says
silence is consent)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from core import audit, clock
from core.actors import Actor
from ledger.models import (
    HOLDING_SETTLEMENT_STATES,
    ApplicationStatus,
    Invoice,
    InvoiceLine,
    InvoiceLineStatus,
    SettlementApplication,
    SettlementLine,
)
from ledger.money_rules import SettlementCalendar, add_working_days, filing_deadline
from ledger.services.fund import require_agency
from ledger.services.settlement import apply_confirmation


@dataclass(frozen=True)
class ConfirmationWindow:
    """What the daily check of the 5-working-day confirmation window found (vbp-rules.md §4.3)."""

    #: Applications whose window ends within `remind_days` working days: remind the hospital.
    reminders: list[tuple[int, int, date]]
    #: Applications found past their window on this run (escalated to the bureau once each).
    escalated: list[int]
    #: Applications deemed confirmed on this run (only where the province deems silence consent).
    deemed: list[int]


def check_confirmation_window(
    session: Session,
    actor: Actor,
    *,
    now: datetime,
    calendar: SettlementCalendar | None = None,
    remind_days: int = 2,
    deem_confirmed: bool = False,
) -> ConfirmationWindow:
    """The daily job for the hospital's confirmation window (vbp-rules.md §4.3 step 3: within 5
    working days of filing): remind hospitals whose window is closing, flag and escalate those past
    it (once, audited, visible to the bureau as overdue), and — where the province's rules deem a
    silent hospital to have confirmed (`deem_confirmed`, off by default: the national text does not
    say so) — confirm them on the platform's authority."""
    require_agency(actor)
    cal = calendar or SettlementCalendar()
    today = clock.business_date(now)
    horizon = add_working_days(today, remind_days, cal)
    filed = session.scalars(
        select(SettlementApplication)
        .where(SettlementApplication.status == ApplicationStatus.FILED)
        .order_by(SettlementApplication.id)
        .with_for_update()
    ).all()
    reminders = [(a.id, a.hospital_id, a.confirm_by) for a in filed if today <= a.confirm_by <= horizon]
    escalated, deemed = [], []
    for application in filed:
        if today <= application.confirm_by:
            continue
        if application.confirmation_overdue_at is None:
            application.confirmation_overdue_at = now
            escalated.append(application.id)
            audit.record(
                session,
                actor,
                "settlement.confirmation_overdue",
                subject_type="settlement_application",
                subject_id=application.id,
                subject_org_id=application.hospital_id,
                after={"confirm_by": application.confirm_by},
                now=now,
            )
        if deem_confirmed:
            apply_confirmation(application, {}, now)
            application.deemed_confirmed = True
            deemed.append(application.id)
            audit.record(
                session,
                actor,
                "settlement.deemed_confirmed",
                subject_type="settlement_application",
                subject_id=application.id,
                subject_org_id=application.hospital_id,
                after={"status": application.status, "confirmed_fen": application.confirmed_fen},
                now=now,
            )
    session.flush()
    return ConfirmationWindow(reminders, escalated, deemed)


@dataclass(frozen=True)
class FilingReminder:
    enterprise_id: int
    hospital_id: int
    period_month: date
    deadline: date
    lines: int
    amount_fen: int


def filing_reminders(
    session: Session, *, now: datetime, calendar: SettlementCalendar | None = None
) -> list[FilingReminder]:
    """Enterprises with last month's confirmed invoice lines (and credits) not yet filed, while
    the filing window is open (vbp-rules.md §4.3 step 2): who should file, for which hospital, by when."""
    today = clock.business_date(now)
    period = clock.previous_month(today)
    deadline = filing_deadline(period, calendar or SettlementCalendar())
    if today > deadline:
        return []
    held = select(SettlementLine.id).where(
        SettlementLine.invoice_line_id == InvoiceLine.id,
        SettlementLine.status.in_(HOLDING_SETTLEMENT_STATES),
    )
    rows = session.execute(
        select(
            InvoiceLine.enterprise_id, InvoiceLine.hospital_id, func.count(), func.sum(InvoiceLine.amount_fen)
        )
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(
            InvoiceLine.status == InvoiceLineStatus.CONFIRMED,
            or_(
                InvoiceLine.amount_fen < 0,
                and_(Invoice.issued_on >= period, Invoice.issued_on < clock.next_month(period)),
            ),
            ~held.exists(),
        )
        .group_by(InvoiceLine.enterprise_id, InvoiceLine.hospital_id)
        .order_by(InvoiceLine.enterprise_id, InvoiceLine.hospital_id)
    ).all()
    return [FilingReminder(e, h, period, deadline, int(n), int(amount or 0)) for e, h, n, amount in rows]
