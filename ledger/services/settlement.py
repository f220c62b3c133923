"""Direct settlement, monthly (vbp-rules.md §4.3, Jiangsu flow as the default):
enterprise files → hospital confirms or disputes lines (within 5 working days) → the agency
approves a run → each enterprise is paid (bank reference) → the same amount is deducted from the
hospital's fund settlement (ledger.services.fund) or drawn from its prepayment. Hospitals may pay
directly.

Corrections and their exits (three-flows.md): disputed lines are refiled in a later application or
end when their invoice line is corrected; credits net in the next application whatever their
month; an application whose confirmed net is zero closes, and a negative one is a refund the
enterprise owes, recorded by the agency. A filed application can be withdrawn before confirmation.

Every payment posts one journal entry with the business key `payment:application:<id>`, with
legs per order line, and the payment row is unique per application, so the same application can
never be paid twice, even by concurrent requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit, clock
from core.actors import Actor, OrgKind, Role
from core.errors import Conflict, InvalidState, NotFound, PermissionDenied, ValidationFailed
from ledger import journal, states
from ledger.models import (
    HOLDING_SETTLEMENT_STATES,
    AccountPurpose,
    ApplicationStatus,
    Invoice,
    InvoiceLine,
    InvoiceLineStatus,
    Payment,
    PaymentSource,
    PaymentStatus,
    ReceiptLine,
    RunStatus,
    SettlementApplication,
    SettlementLine,
    SettlementLineStatus,
    SettlementRun,
)
from ledger.money_rules import (
    SettlementCalendar,
    add_working_days,
    confirmation_deadline,
    filing_deadline,
    net_application,
)
from ledger.scoping import party_scope
from ledger.services import fund
from ledger.services.fund import require_agency

__all__ = ["PaymentSource", "ValidationFailed"]  # re-exported for the shell's convenience


def applications_visible_to(actor: Actor) -> Select[tuple[SettlementApplication]]:
    """An enterprise its receivables, a hospital its payables, the bureau (agency) all."""
    return party_scope(
        select(SettlementApplication),
        actor,
        hospital=SettlementApplication.hospital_id,
        distributor=SettlementApplication.enterprise_id,
    )


def get_application(
    session: Session, actor: Actor, application_id: int, *, for_update: bool = False
) -> SettlementApplication:
    stmt = applications_visible_to(actor).where(SettlementApplication.id == application_id)
    found = session.scalars(stmt.with_for_update() if for_update else stmt).first()
    if found is None:
        raise NotFound("结算申请不存在 (settlement application not found)")
    return found


def _payable_lines(
    session: Session, enterprise_id: int, hospital_id: int, before: date
) -> Select[tuple[InvoiceLine]]:
    """Confirmed invoice lines not held by a settlement line: blue lines issued before `before`
    (the end of the period; earlier months never filed included) and every confirmed credit,
    whatever its month (a credit nets in the next application, vbp-rules.md §5)."""
    held = select(SettlementLine.id).where(
        SettlementLine.invoice_line_id == InvoiceLine.id,
        SettlementLine.status.in_(HOLDING_SETTLEMENT_STATES),
    )
    return (
        select(InvoiceLine)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(
            InvoiceLine.enterprise_id == enterprise_id,
            InvoiceLine.hospital_id == hospital_id,
            InvoiceLine.status == InvoiceLineStatus.CONFIRMED,
            or_(InvoiceLine.amount_fen < 0, Invoice.issued_on < before),
            ~held.exists(),
        )
        .order_by(InvoiceLine.id)
    )


def file_application(
    session: Session,
    actor: Actor,
    *,
    hospital_id: int,
    period_month: date,
    now: datetime,
    calendar: SettlementCalendar | None = None,
) -> SettlementApplication:
    """File the confirmed invoice lines of the period for one hospital (vbp-rules.md §4.3 step 2):
    every blue line issued up to the period's end and not yet settled, previously disputed lines
    again, and every confirmed red-letter credit netted, whatever its month. The net may be zero
    or negative (credits beyond the invoices): the hospital confirms it like any other, and a
    negative confirmed net becomes a refund the enterprise owes."""
    if actor.org_kind is not OrgKind.DISTRIBUTOR or actor.role not in (Role.ADMIN, Role.OPERATOR):
        raise PermissionDenied("仅配送企业可申请结算 (enterprises only)")
    cal = calendar or SettlementCalendar()
    today = clock.business_date(now)
    if period_month.day != 1 or period_month >= clock.month_start(today):
        raise ValidationFailed(
            fields={"period_month": ["须为已结束月份的1日 (the first day of a past month)"]}
        )
    lines = session.scalars(
        _payable_lines(session, actor.org_id, hospital_id, clock.next_month(period_month)).with_for_update()
    ).all()
    if not lines:
        raise ValidationFailed(
            fields={"period_month": ["没有待结算的已确认发票 (no confirmed invoices to settle)"]}
        )
    disputed_before = {
        line.invoice_line_id: line
        for line in session.scalars(
            select(SettlementLine)
            .where(
                SettlementLine.invoice_line_id.in_([x.id for x in lines]),
                SettlementLine.status == SettlementLineStatus.DISPUTED,
            )
            .with_for_update()
        )
    }
    application = SettlementApplication(
        enterprise_id=actor.org_id,
        hospital_id=hospital_id,
        period_month=period_month,
        status=ApplicationStatus.FILED,
        net_fen=net_application(
            [x.amount_fen for x in lines if x.amount_fen > 0],
            [-x.amount_fen for x in lines if x.amount_fen < 0],
        ),
        confirmed_fen=0,
        disputed_fen=0,
        filed_at=now,
        filed_late=today > filing_deadline(period_month, cal),
        confirm_by=confirmation_deadline(today, cal),
        deemed_confirmed=False,
    )
    session.add(application)
    session.flush()
    for line in lines:
        earlier = disputed_before.get(line.id)
        if earlier is not None:
            states.SETTLEMENT_LINE.move(earlier, SettlementLineStatus.REFILED)
        session.add(
            SettlementLine(
                application_id=application.id,
                invoice_line_id=line.id,
                order_line_id=line.order_line_id,
                hospital_id=hospital_id,
                enterprise_id=actor.org_id,
                amount_fen=line.amount_fen,
                status=SettlementLineStatus.PENDING,
                refiles_id=earlier.id if earlier is not None else None,
            )
        )
    session.flush()
    audit.record(
        session,
        actor,
        "settlement.file",
        subject_type="settlement_application",
        subject_id=application.id,
        subject_org_id=hospital_id,
        after={
            "period": period_month,
            "lines": len(lines),
            "refiled": sorted(x.id for x in disputed_before.values()),
            "net_fen": application.net_fen,
            "late": application.filed_late,
            "confirm_by": application.confirm_by,
        },
        now=now,
    )
    return application


def withdraw_application(
    session: Session, actor: Actor, application_id: int, *, reason: str, now: datetime
) -> SettlementApplication:
    """The enterprise withdraws an application the hospital has not confirmed; its invoice lines
    are free to be filed again."""
    if actor.org_kind is not OrgKind.DISTRIBUTOR or actor.role not in (Role.ADMIN, Role.OPERATOR):
        raise PermissionDenied("仅申请企业可撤回 (the filing enterprise only)")
    if not reason.strip():
        raise ValidationFailed(fields={"reason": ["须说明原因 (a reason is required)"]})
    application = get_application(session, actor, application_id, for_update=True)
    states.APPLICATION.move(application, ApplicationStatus.WITHDRAWN)
    for line in application.lines:
        states.SETTLEMENT_LINE.move(line, SettlementLineStatus.WITHDRAWN)
    session.flush()
    audit.record(
        session,
        actor,
        "settlement.withdraw",
        subject_type="settlement_application",
        subject_id=application.id,
        subject_org_id=application.hospital_id,
        after={"reason": reason},
        now=now,
    )
    return application


def _settle_confirmation(
    application: SettlementApplication, disputes: Mapping[int, str], now: datetime
) -> None:
    for line in application.lines:
        if line.id in disputes:
            states.SETTLEMENT_LINE.move(line, SettlementLineStatus.DISPUTED)
            line.dispute_reason = disputes[line.id]
        else:
            states.SETTLEMENT_LINE.move(line, SettlementLineStatus.CONFIRMED)
    application.confirmed_fen = sum(
        x.amount_fen for x in application.lines if x.status is SettlementLineStatus.CONFIRMED
    )
    application.disputed_fen = sum(
        x.amount_fen for x in application.lines if x.status is SettlementLineStatus.DISPUTED
    )
    # A positive net is paid; nothing to pay closes it; a negative net is a refund owed.
    target = (
        ApplicationStatus.CONFIRMED
        if application.confirmed_fen > 0
        else ApplicationStatus.CLOSED
        if application.confirmed_fen == 0
        else ApplicationStatus.REFUND_DUE
    )
    states.APPLICATION.move(application, target)
    application.confirmed_at = now


def confirm_application(
    session: Session, actor: Actor, application_id: int, *, disputes: Mapping[int, str], now: datetime
) -> SettlementApplication:
    """The hospital checks the application against its purchases; disputed lines stay open until
    they are refiled or corrected."""
    if actor.org_kind is not OrgKind.HOSPITAL or actor.role not in (Role.ADMIN, Role.OPERATOR):
        raise PermissionDenied("仅医疗机构可确认 (hospitals only)")
    application = get_application(session, actor, application_id, for_update=True)
    if application.status is not ApplicationStatus.FILED:
        raise InvalidState(
            f"结算申请{states.APPLICATION.label(application.status)} (not awaiting confirmation)",
            code="illegal_transition",
        )
    ids = {line.id for line in application.lines}
    unknown = sorted(set(disputes) - ids)
    blank = sorted(k for k, v in disputes.items() if not (v and v.strip()))
    if unknown or blank:
        raise ValidationFailed(
            fields={
                "disputes": [
                    f"不属于该申请的明细 (not lines of this application): {unknown}" if unknown else "",
                    f"异议须说明原因 (a dispute needs a reason): {blank}" if blank else "",
                ]
            }
        )
    _settle_confirmation(application, disputes, now)
    session.flush()
    audit.record(
        session,
        actor,
        "settlement.confirm",
        subject_type="settlement_application",
        subject_id=application.id,
        subject_org_id=application.hospital_id,
        after={
            "status": application.status,
            "confirmed_fen": application.confirmed_fen,
            "disputed_fen": application.disputed_fen,
            "disputed_lines": sorted(disputes),
            "late": clock.business_date(now) > application.confirm_by,
        },
        now=now,
    )
    return application


def approve_run(session: Session, actor: Actor, *, period_month: date, now: datetime) -> SettlementRun:
    """Approve a run of every confirmed application of the period not yet in a run."""
    require_agency(actor)
    applications = session.scalars(
        select(SettlementApplication)
        .where(
            SettlementApplication.period_month == period_month,
            SettlementApplication.status == ApplicationStatus.CONFIRMED,
            SettlementApplication.run_id.is_(None),
        )
        .order_by(SettlementApplication.id)
        .with_for_update()
    ).all()
    if not applications:
        raise ValidationFailed(
            fields={"period_month": ["没有待审核的已确认申请 (no confirmed applications)"]}
        )
    run = SettlementRun(
        period_month=period_month,
        status=RunStatus.APPROVED,
        total_fen=sum(a.confirmed_fen for a in applications),
        approved_at=now,
        approved_by=actor.user_id,
    )
    session.add(run)
    session.flush()
    for application in applications:
        application.run_id = run.id
        states.APPLICATION.move(application, ApplicationStatus.APPROVED)
    session.flush()
    audit.record(
        session,
        actor,
        "settlement.approve_run",
        subject_type="settlement_run",
        subject_id=run.id,
        after={
            "period": period_month,
            "applications": [a.id for a in applications],
            "total_fen": run.total_fen,
        },
        now=now,
    )
    return run


def _check_paid_on(
    session: Session, application: SettlementApplication, paid_on: date, now: datetime
) -> None:
    """A payment is dated on or after every acceptance it pays for and the hospital's
    confirmation, and never in the future (business dates in the province's time zone)."""
    today = clock.business_date(now)
    last_accepted = session.scalar(
        select(func.max(ReceiptLine.accepted_on))
        .join(InvoiceLine, InvoiceLine.receipt_line_id == ReceiptLine.id)
        .join(SettlementLine, SettlementLine.invoice_line_id == InvoiceLine.id)
        .where(
            SettlementLine.application_id == application.id,
            SettlementLine.status == SettlementLineStatus.CONFIRMED,
        )
    )
    confirmed_on = clock.business_date(application.confirmed_at) if application.confirmed_at else None
    problems = []
    if paid_on > today:
        problems.append(f"不能晚于今天 {today} (not in the future)")
    if last_accepted is not None and paid_on < last_accepted:
        problems.append(f"不能早于验收日 {last_accepted} (not before the acceptance it pays for)")
    if confirmed_on is not None and paid_on < confirmed_on:
        problems.append(f"不能早于医院确认日 {confirmed_on} (not before the hospital's confirmation)")
    if problems:
        raise ValidationFailed(fields={"paid_on": problems})


def _payment_legs(
    session: Session,
    application: SettlementApplication,
    source_account: tuple[AccountPurpose, int | None],
    now: datetime,
) -> list[journal.Leg]:
    """Per order line: Dr hospital payable / Cr the paying account, and Dr enterprise cash /
    Cr enterprise receivable (a refund posts the same legs negative)."""
    h, e = application.hospital_id, application.enterprise_id
    payable = journal.account(session, AccountPurpose.HOSPITAL_PAYABLE, h, now=now)
    source = journal.account(session, source_account[0], source_account[1], now=now)
    cash = journal.account(session, AccountPurpose.ENTERPRISE_CASH, e, now=now)
    receivable = journal.account(session, AccountPurpose.ENTERPRISE_RECEIVABLE, e, now=now)
    legs: list[journal.Leg] = []
    for line in application.lines:
        if line.status is not SettlementLineStatus.CONFIRMED:
            continue
        amount, olid = line.amount_fen, line.order_line_id
        legs += [
            journal.Leg(payable, amount, olid),
            journal.Leg(source, -amount, olid),
            journal.Leg(cash, amount, olid),
            journal.Leg(receivable, -amount, olid),
        ]
    return journal.net_legs(legs)


def _paid(
    session: Session,
    actor: Actor,
    application: SettlementApplication,
    *,
    source: PaymentSource,
    bank_reference: str,
    paid_on: date,
    now: datetime,
) -> Payment:
    """Post and record the payment (or refund) of an application's confirmed amount, once."""
    amount, h = application.confirmed_fen, application.hospital_id
    source_account = {
        PaymentSource.FUND: (AccountPurpose.FUND_CASH, None),
        PaymentSource.PREPAYMENT: (AccountPurpose.HOSPITAL_PREPAYMENT, h),
        PaymentSource.SELF_PAY: (AccountPurpose.HOSPITAL_CASH, h),
    }[source]
    if source is PaymentSource.PREPAYMENT:
        fund.draw_prepayment(session, h, paid_on.year, amount)
    entry, created = journal.post(
        session,
        business_key=f"payment:application:{application.id}",
        kind="payment" if amount > 0 else "refund",
        description=f"结算申请 {application.id} {'付款' if amount > 0 else '退款'} {bank_reference}",
        occurred_on=paid_on,
        legs=_payment_legs(session, application, source_account, now),
        now=now,
    )
    if not created:
        raise Conflict("该结算申请已付款 (already paid)", code="already_paid")
    payment = Payment(
        application_id=application.id,
        run_id=application.run_id,
        enterprise_id=application.enterprise_id,
        hospital_id=h,
        amount_fen=amount,
        source=source,
        bank_reference=bank_reference,
        paid_on=paid_on,
        journal_entry_id=entry.id,
        created_at=now,
        status=PaymentStatus.RECORDED,
    )
    session.add(payment)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict("该结算申请已付款 (already paid)", code="already_paid") from exc
    if source is PaymentSource.FUND:
        fund.deduct_payment(
            session,
            hospital_id=h,
            month=clock.month_start(paid_on),
            amount_fen=amount,
            business_key=f"fund_deduction:payment:{payment.id}",
            now=now,
        )
    return payment


def pay_application(
    session: Session,
    actor: Actor,
    application_id: int,
    *,
    bank_reference: str,
    paid_on: date,
    now: datetime,
    source: PaymentSource = PaymentSource.FUND,
) -> Payment:
    """Pay the confirmed amount of one application, exactly once (see the module docstring).
    Self-pay is the hospital's, for a positive confirmed application only; the agency pays an
    approved one from the fund or the hospital's prepayment."""
    if source is PaymentSource.SELF_PAY:
        if actor.org_kind is not OrgKind.HOSPITAL or actor.role not in (Role.ADMIN, Role.OPERATOR):
            raise PermissionDenied("自付须由医疗机构登记 (a hospital records its own payment)")
    else:
        require_agency(actor)
    application = get_application(session, actor, application_id, for_update=True)
    if session.scalar(select(func.count()).where(Payment.application_id == application.id)):
        raise Conflict("该结算申请已付款 (already paid)", code="already_paid")
    expected = ApplicationStatus.CONFIRMED if source is PaymentSource.SELF_PAY else ApplicationStatus.APPROVED
    verb = "自付" if source is PaymentSource.SELF_PAY else "付款"
    if application.status is not expected or application.confirmed_fen <= 0:
        raise InvalidState(
            f"结算申请{states.APPLICATION.label(application.status)}，不能{verb} "
            f"(must be {expected.value} with a positive confirmed amount)",
            code="illegal_transition",
        )
    if not bank_reference.strip():
        raise ValidationFailed(fields={"bank_reference": ["必填 (required)"]})
    _check_paid_on(session, application, paid_on, now)
    payment = _paid(
        session, actor, application, source=source, bank_reference=bank_reference, paid_on=paid_on, now=now
    )
    states.APPLICATION.move(application, ApplicationStatus.PAID)
    run = session.get(SettlementRun, application.run_id) if application.run_id else None
    if run is not None and not session.scalar(
        select(func.count()).where(
            SettlementApplication.run_id == run.id, SettlementApplication.status != ApplicationStatus.PAID
        )
    ):
        states.RUN.move(run, RunStatus.PAID)
        run.paid_at = now
    session.flush()
    audit.record(
        session,
        actor,
        "settlement.pay",
        subject_type="settlement_application",
        subject_id=application.id,
        subject_org_id=application.hospital_id,
        after={
            "amount_fen": payment.amount_fen,
            "source": source,
            "bank_reference": bank_reference,
            "paid_on": paid_on,
            "enterprise_id": application.enterprise_id,
        },
        now=now,
    )
    return payment


def record_refund(
    session: Session,
    actor: Actor,
    application_id: int,
    *,
    bank_reference: str,
    refunded_on: date,
    now: datetime,
) -> Payment:
    """The agency records the enterprise's refund of a confirmed credit application (credits
    beyond its invoices, with no later business to net them). The refund returns to the fund and
    gives the hospital's fund settlement of that month back what had been deducted for it."""
    require_agency(actor)
    application = get_application(session, actor, application_id, for_update=True)
    if application.status is not ApplicationStatus.REFUND_DUE:
        raise InvalidState(
            f"结算申请{states.APPLICATION.label(application.status)}，没有待退款 (no refund due)",
            code="illegal_transition",
        )
    if not bank_reference.strip():
        raise ValidationFailed(fields={"bank_reference": ["必填 (required)"]})
    today = clock.business_date(now)
    confirmed_on = clock.business_date(application.confirmed_at) if application.confirmed_at else today
    if refunded_on > today or refunded_on < confirmed_on:
        raise ValidationFailed(
            fields={
                "refunded_on": [
                    f"须在医院确认日 {confirmed_on} 与今天之间 (between the confirmation and today)"
                ]
            }
        )
    payment = _paid(
        session,
        actor,
        application,
        source=PaymentSource.FUND,
        bank_reference=bank_reference,
        paid_on=refunded_on,
        now=now,
    )
    states.APPLICATION.move(application, ApplicationStatus.REFUNDED)
    session.flush()
    audit.record(
        session,
        actor,
        "settlement.refund",
        subject_type="settlement_application",
        subject_id=application.id,
        subject_org_id=application.hospital_id,
        after={
            "amount_fen": payment.amount_fen,
            "bank_reference": bank_reference,
            "refunded_on": refunded_on,
        },
        now=now,
    )
    return payment


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
            _settle_confirmation(application, {}, now)
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
    """Enterprises with confirmed invoice lines up to last month (and credits) not yet filed, while
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
            or_(InvoiceLine.amount_fen < 0, Invoice.issued_on < clock.next_month(period)),
            ~held.exists(),
        )
        .group_by(InvoiceLine.enterprise_id, InvoiceLine.hospital_id)
        .order_by(InvoiceLine.enterprise_id, InvoiceLine.hospital_id)
    ).all()
    return [FilingReminder(e, h, period, deadline, int(n), int(amount or 0)) for e, h, n, amount in rows]
