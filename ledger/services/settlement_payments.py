"""Paying a confirmed settlement application (vbp-rules.md §4.1, §4.3): the agency pays an
approved application from the fund or the hospital's prepayment, a hospital may pay itself, and the
enterprise's refund of a credit application is recorded by the agency. A payment is dated on or
after the acceptances it pays for and the hospital's confirmation, never in the future; it posts
one journal entry with legs per order line (business key `payment:application:<id>`) and is unique
per application, so it happens once even under concurrent requests. A fund payment is deducted from
the hospital's fund settlement of its month (ledger.services.fund)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit, clock
from core.actors import Actor, OrgKind, Role
from core.errors import Conflict, InvalidState, PermissionDenied, ValidationFailed
from ledger import journal, states
from ledger.models import (
    AccountPurpose,
    ApplicationStatus,
    InvoiceLine,
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
from ledger.services import fund
from ledger.services.fund import require_agency
from ledger.services.settlement import get_application


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
