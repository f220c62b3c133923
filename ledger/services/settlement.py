"""Direct settlement, monthly (vbp-rules.md §4.3, Jiangsu flow as the default):
enterprise files → hospital confirms or disputes lines → the agency approves a run → each
enterprise is paid (bank reference) → the same amount is deducted from the hospital's fund
settlement or drawn from its prepayment. Disputed lines stay open. Hospitals may pay directly.

Every payment posts one journal entry with the business key `payment:application:<id>` and the
payment row is unique per application, so the same application can never be paid twice, even by
concurrent requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bidding.models import Award, VolumeAllocation
from core import audit, clock
from core.actors import Actor, OrgKind, Role
from core.errors import Conflict, InvalidState, NotFound, PermissionDenied, RuleViolation, ValidationFailed
from core.money import quantize
from ledger import journal
from ledger.models import (
    AccountPurpose,
    ApplicationStatus,
    FundSettlement,
    Invoice,
    InvoiceLine,
    InvoiceLineStatus,
    Payment,
    PaymentSource,
    Prepayment,
    SettlementApplication,
    SettlementLine,
    SettlementLineStatus,
    SettlementRun,
)
from ledger.money_rules import SettlementCalendar, filing_deadline, prepayment_fen
from ledger.scoping import party_scope

#: Filing and confirmation deadlines (the 5th, extended after a public holiday; 5 working days to
#: confirm) come from `SettlementCalendar` (vbp-rules.md §4.3); late filings are recorded, not refused.
#: Prepayment share of the annual agreed amount (§4.2: ≥ 30 % nationally); configurable per call.
DEFAULT_PREPAYMENT_SHARE = Decimal("0.30")


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


def file_application(
    session: Session,
    actor: Actor,
    *,
    hospital_id: int,
    period_month: date,
    now: datetime,
    calendar: SettlementCalendar | None = None,
) -> SettlementApplication:
    """File last month's confirmed invoice lines for one hospital, red-letter lines netted."""
    if actor.org_kind is not OrgKind.DISTRIBUTOR or actor.role not in (Role.ADMIN, Role.OPERATOR):
        raise PermissionDenied("仅配送企业可申请结算 (enterprises only)")
    today = clock.business_date(now)
    if period_month.day != 1 or period_month >= clock.month_start(today):
        raise ValidationFailed(
            fields={"period_month": ["须为已结束月份的1日 (the first day of a past month)"]}
        )
    open_line = select(SettlementLine.id).where(
        SettlementLine.invoice_line_id == InvoiceLine.id,
        SettlementLine.status != SettlementLineStatus.DISPUTED,
    )
    lines = session.scalars(
        select(InvoiceLine)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(
            InvoiceLine.enterprise_id == actor.org_id,
            InvoiceLine.hospital_id == hospital_id,
            InvoiceLine.status == InvoiceLineStatus.CONFIRMED,
            Invoice.issued_on >= period_month,
            Invoice.issued_on < clock.next_month(period_month),
            ~open_line.exists(),
        )
        .order_by(InvoiceLine.id)
        .with_for_update()
    ).all()
    if not lines:
        raise ValidationFailed(
            fields={"period_month": ["该月没有待结算的已确认发票 (no confirmed invoices to settle)"]}
        )
    deadline = filing_deadline(period_month, calendar or SettlementCalendar())
    application = SettlementApplication(
        enterprise_id=actor.org_id,
        hospital_id=hospital_id,
        period_month=period_month,
        status=ApplicationStatus.FILED,
        net_fen=sum(line.amount_fen for line in lines),
        confirmed_fen=0,
        disputed_fen=0,
        filed_at=now,
        filed_late=today > deadline,
    )
    if application.net_fen <= 0:
        raise RuleViolation(
            "冲红后结算金额须大于0 (net amount after credits must be positive)", code="net_not_positive"
        )
    session.add(application)
    session.flush()
    session.add_all(
        SettlementLine(
            application_id=application.id,
            invoice_line_id=line.id,
            order_line_id=line.order_line_id,
            hospital_id=hospital_id,
            enterprise_id=actor.org_id,
            amount_fen=line.amount_fen,
            status=SettlementLineStatus.PENDING,
        )
        for line in lines
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
            "net_fen": application.net_fen,
            "late": application.filed_late,
        },
        now=now,
    )
    return application


def confirm_application(
    session: Session, actor: Actor, application_id: int, *, disputes: Mapping[int, str], now: datetime
) -> SettlementApplication:
    """The hospital checks the application against its purchases; disputed lines stay open."""
    if actor.org_kind is not OrgKind.HOSPITAL or actor.role not in (Role.ADMIN, Role.OPERATOR):
        raise PermissionDenied("仅医疗机构可确认 (hospitals only)")
    application = get_application(session, actor, application_id, for_update=True)
    if application.status is not ApplicationStatus.FILED:
        raise InvalidState("结算申请已确认 (already confirmed)", code="illegal_transition")
    ids = {line.id for line in application.lines}
    unknown = sorted(set(disputes) - ids)
    if unknown:
        raise ValidationFailed(
            fields={"disputes": [f"不属于该申请的明细 (not lines of this application): {unknown}"]}
        )
    for line in application.lines:
        if line.id in disputes:
            line.status, line.dispute_reason = SettlementLineStatus.DISPUTED, disputes[line.id]
        else:
            line.status = SettlementLineStatus.CONFIRMED
    application.confirmed_fen = sum(
        x.amount_fen for x in application.lines if x.status is SettlementLineStatus.CONFIRMED
    )
    application.disputed_fen = sum(
        x.amount_fen for x in application.lines if x.status is SettlementLineStatus.DISPUTED
    )
    application.status, application.confirmed_at = ApplicationStatus.CONFIRMED, now
    session.flush()
    audit.record(
        session,
        actor,
        "settlement.confirm",
        subject_type="settlement_application",
        subject_id=application.id,
        subject_org_id=application.hospital_id,
        after={
            "confirmed_fen": application.confirmed_fen,
            "disputed_fen": application.disputed_fen,
            "disputed_lines": sorted(disputes),
        },
        now=now,
    )
    return application


def _require_agency(actor: Actor) -> None:
    if not actor.is_bureau or actor.role not in (Role.ADMIN, Role.OPERATOR, Role.SYSTEM):
        raise PermissionDenied("仅医保经办机构可操作 (the insurance agency only)")


def approve_run(session: Session, actor: Actor, *, period_month: date, now: datetime) -> SettlementRun:
    """Approve a run of every confirmed application of the period not yet in a run."""
    _require_agency(actor)
    applications = session.scalars(
        select(SettlementApplication)
        .where(
            SettlementApplication.period_month == period_month,
            SettlementApplication.status == ApplicationStatus.CONFIRMED,
            SettlementApplication.run_id.is_(None),
            SettlementApplication.confirmed_fen > 0,
        )
        .with_for_update()
    ).all()
    if not applications:
        raise ValidationFailed(
            fields={"period_month": ["没有待审核的已确认申请 (no confirmed applications)"]}
        )
    run = SettlementRun(
        period_month=period_month,
        status="approved",
        total_fen=sum(a.confirmed_fen for a in applications),
        approved_at=now,
        approved_by=actor.user_id,
    )
    session.add(run)
    session.flush()
    for application in applications:
        application.run_id, application.status = run.id, ApplicationStatus.APPROVED
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
    """Pay the confirmed amount of one application, exactly once (see the module docstring)."""
    if source is PaymentSource.SELF_PAY:
        if actor.org_kind is not OrgKind.HOSPITAL or actor.role not in (Role.ADMIN, Role.OPERATOR):
            raise PermissionDenied("自付须由医疗机构登记 (a hospital records its own payment)")
    else:
        _require_agency(actor)
    application = get_application(session, actor, application_id, for_update=True)
    existing = session.scalars(select(Payment).where(Payment.application_id == application.id)).first()
    if existing is not None:
        raise Conflict("该结算申请已付款 (already paid)", code="already_paid")
    expected = ApplicationStatus.CONFIRMED if source is PaymentSource.SELF_PAY else ApplicationStatus.APPROVED
    if application.status is not expected:
        raise InvalidState(
            f"结算申请须为 {expected.value} 状态 (must be {expected.value})", code="illegal_transition"
        )
    if not bank_reference.strip():
        raise ValidationFailed(fields={"bank_reference": ["必填 (required)"]})
    amount, h, e = application.confirmed_fen, application.hospital_id, application.enterprise_id
    source_account = {
        PaymentSource.FUND: (AccountPurpose.FUND_CASH, None),
        PaymentSource.PREPAYMENT: (AccountPurpose.HOSPITAL_PREPAYMENT, h),
        PaymentSource.SELF_PAY: (AccountPurpose.HOSPITAL_CASH, h),
    }[source]
    if source is PaymentSource.PREPAYMENT:
        _draw_prepayment(session, h, paid_on.year, amount)
    legs = [
        journal.Leg(journal.account(session, AccountPurpose.HOSPITAL_PAYABLE, h, now=now), amount),
        journal.Leg(journal.account(session, source_account[0], source_account[1], now=now), -amount),
        journal.Leg(journal.account(session, AccountPurpose.ENTERPRISE_CASH, e, now=now), amount),
        journal.Leg(journal.account(session, AccountPurpose.ENTERPRISE_RECEIVABLE, e, now=now), -amount),
    ]
    entry, created = journal.post(
        session,
        business_key=f"payment:application:{application.id}",
        kind="payment",
        description=f"结算申请 {application.id} 付款 {bank_reference}",
        occurred_on=paid_on,
        legs=legs,
        now=now,
    )
    if not created:
        raise Conflict("该结算申请已付款 (already paid)", code="already_paid")
    payment = Payment(
        application_id=application.id,
        run_id=application.run_id,
        enterprise_id=e,
        hospital_id=h,
        amount_fen=amount,
        source=source,
        bank_reference=bank_reference,
        paid_on=paid_on,
        journal_entry_id=entry.id,
        created_at=now,
    )
    session.add(payment)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict("该结算申请已付款 (already paid)", code="already_paid") from exc
    application.status = ApplicationStatus.PAID
    if source is PaymentSource.FUND:
        _deduct(session, h, clock.month_start(paid_on), amount, now)
    run = session.get(SettlementRun, application.run_id) if application.run_id else None
    if run is not None and not session.scalar(
        select(func.count()).where(
            SettlementApplication.run_id == run.id, SettlementApplication.status != ApplicationStatus.PAID
        )
    ):
        run.status, run.paid_at = "paid", now
    session.flush()
    audit.record(
        session,
        actor,
        "settlement.pay",
        subject_type="settlement_application",
        subject_id=application.id,
        subject_org_id=h,
        after={
            "amount_fen": amount,
            "source": source,
            "bank_reference": bank_reference,
            "paid_on": paid_on,
            "enterprise_id": e,
        },
        now=now,
    )
    return payment


def _deduct(session: Session, hospital_id: int, month: date, amount: int, now: datetime) -> None:
    locked = (
        select(FundSettlement)
        .where(FundSettlement.hospital_id == hospital_id, FundSettlement.period_month == month)
        .with_for_update()
    )
    row = session.scalars(locked).first()
    if row is None:
        try:
            with session.begin_nested():
                row = FundSettlement(
                    hospital_id=hospital_id, period_month=month, deducted_fen=0, created_at=now
                )
                session.add(row)
        except IntegrityError:
            # Another payment of this hospital created the month's row first: deduct from that one
            # (a payment is not a duplicate of it; only the savepoint is rolled back).
            row = session.scalars(locked).one()
    row.deducted_fen += amount


def record_fund_settlement(
    session: Session, actor: Actor, *, hospital_id: int, period_month: date, gross_fen: int, now: datetime
) -> FundSettlement:
    """Record a hospital's monthly fund settlement; direct payments are deducted from it (E11)."""
    _require_agency(actor)
    if gross_fen < 0 or period_month.day != 1:
        raise ValidationFailed(fields={"gross": ["须为非负金额，月份取1日 (non-negative; month as its 1st)"]})
    row = session.scalars(
        select(FundSettlement).where(
            FundSettlement.hospital_id == hospital_id, FundSettlement.period_month == period_month
        )
    ).first()
    if row is None:
        row = FundSettlement(
            hospital_id=hospital_id, period_month=period_month, deducted_fen=0, created_at=now
        )
        session.add(row)
    row.gross_fen = gross_fen
    session.flush()
    audit.record(
        session,
        actor,
        "fund_settlement.record",
        subject_type="fund_settlement",
        subject_id=row.id,
        subject_org_id=hospital_id,
        after={"period": period_month, "gross_fen": gross_fen},
        now=now,
    )
    return row


def net_fund_settlement_fen(row: FundSettlement) -> int | None:
    """What the fund pays the hospital after the direct payments it made on its behalf."""
    return None if row.gross_fen is None else row.gross_fen - row.deducted_fen


def annual_agreed_amount_fen(session: Session, hospital_id: int) -> int:
    """Σ agreed minimum units × winning unit price over the hospital's allocations, to the fen."""
    total = Decimal(0)
    for quantity, unit_e4 in session.execute(
        select(VolumeAllocation.agreed_quantity, Award.unit_price_e4)
        .join(Award, Award.id == VolumeAllocation.award_id)
        .where(VolumeAllocation.hospital_id == hospital_id)
    ):
        total += Decimal(quantity) * unit_e4
    return int(quantize(total / 100, Decimal(1)))  # e4 × units → fen, rounded once


def grant_prepayment(
    session: Session,
    actor: Actor,
    *,
    hospital_id: int,
    year: int,
    now: datetime,
    share: Decimal = DEFAULT_PREPAYMENT_SHARE,
) -> Prepayment:
    """Prepay a share of the hospital's annual agreed amount (预付, §4.2), once per year."""
    _require_agency(actor)
    if not (Decimal(0) < share <= Decimal(1)):
        raise ValidationFailed(fields={"share": ["须在 (0, 1] 之间"]})
    amount = prepayment_fen(annual_agreed_amount_fen(session, hospital_id), share)
    if amount <= 0:
        raise ValidationFailed(fields={"hospital_id": ["该医院没有约定采购量 (no agreed volume)"]})
    if session.scalar(
        select(func.count()).where(Prepayment.hospital_id == hospital_id, Prepayment.year == year)
    ):
        raise Conflict("该年度已预付 (already prepaid this year)", code="already_prepaid")
    prepayment = Prepayment(
        hospital_id=hospital_id, year=year, share=str(share), amount_fen=amount, drawn_fen=0, created_at=now
    )
    session.add(prepayment)
    session.flush()
    journal.post(
        session,
        business_key=f"prepayment:{hospital_id}:{year}",
        kind="prepayment",
        description=f"{year} 年度预付",
        occurred_on=clock.business_date(now),
        now=now,
        legs=[
            journal.Leg(
                journal.account(session, AccountPurpose.HOSPITAL_PREPAYMENT, hospital_id, now=now), amount
            ),
            journal.Leg(journal.account(session, AccountPurpose.FUND_CASH, None, now=now), -amount),
        ],
    )
    audit.record(
        session,
        actor,
        "prepayment.grant",
        subject_type="prepayment",
        subject_id=prepayment.id,
        subject_org_id=hospital_id,
        after={"year": year, "share": share, "amount_fen": amount},
        now=now,
    )
    return prepayment


def _draw_prepayment(session: Session, hospital_id: int, year: int, amount: int) -> None:
    prepayment = session.scalars(
        select(Prepayment)
        .where(
            Prepayment.hospital_id == hospital_id, Prepayment.year == year, Prepayment.cleared_at.is_(None)
        )
        .with_for_update()
    ).first()
    if prepayment is None or prepayment.amount_fen - prepayment.drawn_fen < amount:
        raise RuleViolation("预付余额不足 (prepayment balance too small)", code="prepayment_insufficient")
    prepayment.drawn_fen += amount


def clear_prepayment(session: Session, actor: Actor, prepayment_id: int, *, now: datetime) -> Prepayment:
    """Year-end clearing: the undrawn remainder returns to the fund."""
    _require_agency(actor)
    prepayment = session.scalars(
        select(Prepayment).where(Prepayment.id == prepayment_id).with_for_update()
    ).first()
    if prepayment is None:
        raise NotFound("预付记录不存在 (prepayment not found)")
    if prepayment.cleared_at is not None:
        raise InvalidState("已清算 (already cleared)", code="illegal_transition")
    remainder = prepayment.amount_fen - prepayment.drawn_fen
    if remainder:
        journal.post(
            session,
            business_key=f"prepayment_clearing:{prepayment.id}",
            kind="prepayment_clearing",
            description=f"{prepayment.year} 年度预付清算",
            occurred_on=clock.business_date(now),
            now=now,
            legs=[
                journal.Leg(journal.account(session, AccountPurpose.FUND_CASH, None, now=now), remainder),
                journal.Leg(
                    journal.account(
                        session, AccountPurpose.HOSPITAL_PREPAYMENT, prepayment.hospital_id, now=now
                    ),
                    -remainder,
                ),
            ],
        )
    prepayment.cleared_fen, prepayment.cleared_at = remainder, now
    session.flush()
    audit.record(
        session,
        actor,
        "prepayment.clear",
        subject_type="prepayment",
        subject_id=prepayment.id,
        subject_org_id=prepayment.hospital_id,
        after={"returned_fen": remainder},
        now=now,
    )
    return prepayment


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
    """Enterprises with last month's confirmed invoice lines not yet filed, while the filing
    window is open (vbp-rules.md §4.3 step 2): who should file, for which hospital, by when."""
    today = clock.business_date(now)
    period = clock.previous_month(today)
    deadline = filing_deadline(period, calendar or SettlementCalendar())
    if today > deadline:
        return []
    open_line = select(SettlementLine.id).where(
        SettlementLine.invoice_line_id == InvoiceLine.id,
        SettlementLine.status != SettlementLineStatus.DISPUTED,
    )
    rows = session.execute(
        select(
            InvoiceLine.enterprise_id, InvoiceLine.hospital_id, func.count(), func.sum(InvoiceLine.amount_fen)
        )
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .where(
            InvoiceLine.status == InvoiceLineStatus.CONFIRMED,
            Invoice.issued_on >= period,
            Invoice.issued_on < clock.next_month(period),
            ~open_line.exists(),
        )
        .group_by(InvoiceLine.enterprise_id, InvoiceLine.hospital_id)
        .order_by(InvoiceLine.enterprise_id, InvoiceLine.hospital_id)
    ).all()
    return [FilingReminder(e, h, period, deadline, int(n), int(amount or 0)) for e, h, n, amount in rows]
