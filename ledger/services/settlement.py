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
from datetime import date, datetime

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from core import audit, clock
from core.actors import Actor, OrgKind, Role
from core.errors import InvalidState, NotFound, PermissionDenied, ValidationFailed
from ledger import states
from ledger.models import (
    HOLDING_SETTLEMENT_STATES,
    ApplicationStatus,
    Invoice,
    InvoiceLine,
    InvoiceLineStatus,
    RunStatus,
    SettlementApplication,
    SettlementLine,
    SettlementLineStatus,
    SettlementRun,
)
from ledger.money_rules import (
    SettlementCalendar,
    confirmation_deadline,
    filing_deadline,
    net_application,
)
from ledger.scoping import party_scope
from ledger.services.fund import require_agency


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
    session: Session, enterprise_id: int, hospital_id: int, period: date
) -> Select[tuple[InvoiceLine]]:
    """What a filing for `period` takes: confirmed invoice lines not held by a settlement line —
    the blue lines issued in the period (last month's transactions, vbp-rules.md §4.3 step 2; an
    earlier month is filed for that month, late), the lines whose earlier settlement line was
    disputed (refiled in the next application, three-flows.md), and every confirmed credit,
    whatever its month (a credit nets in the next application the enterprise files, §5)."""
    held = select(SettlementLine.id).where(
        SettlementLine.invoice_line_id == InvoiceLine.id,
        SettlementLine.status.in_(HOLDING_SETTLEMENT_STATES),
    )
    disputed = select(SettlementLine.id).where(
        SettlementLine.invoice_line_id == InvoiceLine.id,
        SettlementLine.status == SettlementLineStatus.DISPUTED,
    )
    before = clock.next_month(period)
    return (
        select(InvoiceLine)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(
            InvoiceLine.enterprise_id == enterprise_id,
            InvoiceLine.hospital_id == hospital_id,
            InvoiceLine.status == InvoiceLineStatus.CONFIRMED,
            or_(
                InvoiceLine.amount_fen < 0,
                and_(Invoice.issued_on >= period, Invoice.issued_on < before),
                and_(disputed.exists(), Invoice.issued_on < before),
            ),
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
    the blue lines issued in the period and not yet settled, previously disputed lines again, and
    every confirmed red-letter credit netted, whatever its month. The net may be zero
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
        _payable_lines(session, actor.org_id, hospital_id, period_month).with_for_update()
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


def apply_confirmation(
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
    apply_confirmation(application, disputes, now)
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
