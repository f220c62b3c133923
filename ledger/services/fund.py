"""The insurance fund's side of direct settlement (vbp-rules.md §4.2, §4.3): hospitals' monthly
fund settlements and what direct payments deduct from them, the shortfall collected from a hospital
when the deductions exceed its settlement (托收), and prepayments.

Journal model (one account per party and purpose; debit positive):

* recording a gross settlement G:   Dr hospital_fund_claim G / Cr fund_settlements G
* a direct payment deducted, X:     the covered part c = what the month's gross still absorbs,
                                    Dr fund_settlements c / Cr hospital_fund_claim c;
                                    the rest s = X − c is a shortfall,
                                    Dr fund_shortfall_receivable s / Cr hospital_fund_shortfall s
* collecting a shortfall k (托收):   Dr hospital_fund_shortfall k / Cr hospital_cash k,
                                    Dr fund_cash k / Cr fund_shortfall_receivable k

so for every hospital and month: covered = min(deducted, gross), shortfall = max(0, deducted −
gross), and the net the fund still pays the hospital is gross − covered, never negative.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bidding.models import Award, ProcurementBatch, VolumeAllocation
from core import audit, clock
from core.actors import Actor, Role
from core.errors import Conflict, InvalidState, NotFound, PermissionDenied, RuleViolation, ValidationFailed
from core.money import quantize
from ledger import journal, money_rules, states
from ledger.models import (
    Account,
    AccountPurpose,
    FundCollection,
    FundSettlement,
    Prepayment,
    PrepaymentStatus,
)
from ledger.money_rules import prepayment_fen

#: Prepayment share of the annual agreed amount (§4.2: ≥ 30 % nationally); configurable per call.
DEFAULT_PREPAYMENT_SHARE = Decimal("0.30")


def require_agency(actor: Actor) -> None:
    if not actor.is_bureau or actor.role not in (Role.ADMIN, Role.OPERATOR, Role.SYSTEM):
        raise PermissionDenied("仅医保经办机构可操作 (the insurance agency only)")


def covered_fen(row: FundSettlement) -> int:
    """The part of the month's deductions the gross settlement absorbs."""
    return money_rules.deduct(row.gross_fen or 0, row.deducted_fen).covered_fen


def shortfall_fen(row: FundSettlement) -> int:
    """Deductions beyond the gross settlement: owed by the hospital to the fund (托收)."""
    return money_rules.deduct(row.gross_fen or 0, row.deducted_fen).shortfall_fen


def outstanding_shortfall_fen(row: FundSettlement) -> int:
    """The shortfall not yet collected."""
    return shortfall_fen(row) - row.collected_fen


def net_fund_settlement_fen(row: FundSettlement) -> int | None:
    """What the fund still pays the hospital after the direct payments made on its behalf
    (never negative: a deduction beyond the gross is a shortfall to collect, not a negative net)."""
    return None if row.gross_fen is None else money_rules.deduct(row.gross_fen, row.deducted_fen).net_fen


def _month_row(session: Session, hospital_id: int, month: date, now: datetime) -> FundSettlement:
    """The hospital's row for the month, locked; created on first use. Two payments of one
    hospital in one month may both find no row: the second creation fails on the unique key in its
    own savepoint and that payment locks and uses the row the first one made."""
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
                    hospital_id=hospital_id,
                    period_month=month,
                    gross_fen=None,
                    deducted_fen=0,
                    collected_fen=0,
                    created_at=now,
                )
                session.add(row)
        except IntegrityError:
            row = session.scalars(locked).one()
    return row


def _split_legs(session: Session, hospital_id: int, *, dc: int, ds: int, now: datetime) -> list[journal.Leg]:
    """Legs moving `dc` into the covered part and `ds` into the shortfall (either may be negative)."""

    def acct(purpose: AccountPurpose) -> Account:
        return journal.account(session, purpose, hospital_id, now=now)

    legs = []
    if dc:
        legs += [
            journal.Leg(acct(AccountPurpose.FUND_SETTLEMENTS), dc),
            journal.Leg(acct(AccountPurpose.HOSPITAL_FUND_CLAIM), -dc),
        ]
    if ds:
        legs += [
            journal.Leg(acct(AccountPurpose.FUND_SHORTFALL_RECEIVABLE), ds),
            journal.Leg(acct(AccountPurpose.HOSPITAL_FUND_SHORTFALL), -ds),
        ]
    return legs


def deduct_payment(
    session: Session, *, hospital_id: int, month: date, amount_fen: int, business_key: str, now: datetime
) -> FundSettlement:
    """Deduct a direct payment (negative: a refund received) from the hospital's fund settlement
    of `month`, posting the covered part and any shortfall (vbp-rules.md §4.3)."""
    row = _month_row(session, hospital_id, month, now)
    covered, short = covered_fen(row), shortfall_fen(row)
    row.deducted_fen += amount_fen
    legs = _split_legs(
        session, hospital_id, dc=covered_fen(row) - covered, ds=shortfall_fen(row) - short, now=now
    )
    if legs:
        journal.post(
            session,
            business_key=business_key,
            kind="fund_deduction",
            description=f"医保结算扣减 {month:%Y-%m}",
            occurred_on=clock.business_date(now),
            now=now,
            legs=legs,
        )
    session.flush()
    return row


def record_fund_settlement(
    session: Session, actor: Actor, *, hospital_id: int, period_month: date, gross_fen: int, now: datetime
) -> FundSettlement:
    """Record a hospital's monthly fund settlement once; the month's direct payments are deducted
    from it and what it cannot absorb is a shortfall to collect (E11, §4.3). A wrong figure is
    corrected by the agency outside this record (it is the fund system's number), so a second
    recording for the same month is refused."""
    require_agency(actor)
    errors: dict[str, list[str]] = {}
    if gross_fen < 0:
        errors["gross"] = ["须为非负金额 (non-negative)"]
    if period_month.day != 1:
        errors["period_month"] = ["月份取1日 (the first day of the month)"]
    elif period_month > clock.month_start(clock.business_date(now)):
        errors["period_month"] = ["不能是未来月份 (not a future month)"]
    if errors:
        raise ValidationFailed(fields=errors)
    row = _month_row(session, hospital_id, period_month, now)
    if row.gross_fen is not None:
        # The same answer as a race on the unique key (hospital, month) gets (core/integrity.py).
        raise Conflict(
            "该月医保结算已登记 (this month's fund settlement is already recorded)",
            code="duplicate",
            fields={
                "hospital_id": ["已登记 (already recorded)"],
                "period_month": ["已登记 (already recorded)"],
            },
        )
    covered, short = covered_fen(row), shortfall_fen(row)
    row.gross_fen = gross_fen
    legs = _split_legs(
        session, hospital_id, dc=covered_fen(row) - covered, ds=shortfall_fen(row) - short, now=now
    )
    if gross_fen:
        legs += [
            journal.Leg(
                journal.account(session, AccountPurpose.HOSPITAL_FUND_CLAIM, hospital_id, now=now), gross_fen
            ),
            journal.Leg(
                journal.account(session, AccountPurpose.FUND_SETTLEMENTS, hospital_id, now=now), -gross_fen
            ),
        ]
    legs = journal.net_legs(legs)
    if legs:
        journal.post(
            session,
            business_key=f"fund_settlement:{hospital_id}:{period_month:%Y-%m}",
            kind="fund_settlement",
            description=f"医保月度结算 {period_month:%Y-%m}",
            occurred_on=clock.business_date(now),
            now=now,
            legs=legs,
        )
    session.flush()
    audit.record(
        session,
        actor,
        "fund_settlement.record",
        subject_type="fund_settlement",
        subject_id=row.id,
        subject_org_id=hospital_id,
        after={
            "period": period_month,
            "gross_fen": gross_fen,
            "deducted_fen": row.deducted_fen,
            "shortfall_fen": shortfall_fen(row),
        },
        now=now,
    )
    return row


def collect_shortfall(
    session: Session,
    actor: Actor,
    fund_settlement_id: int,
    *,
    amount_fen: int,
    bank_reference: str,
    collected_on: date,
    now: datetime,
) -> FundCollection:
    """托收: the agency records money collected from a hospital for a month's shortfall, once the
    month's gross settlement is known (before that the shortfall is not final)."""
    require_agency(actor)
    row = session.scalars(
        select(FundSettlement).where(FundSettlement.id == fund_settlement_id).with_for_update()
    ).first()
    if row is None:
        raise NotFound("医保结算记录不存在 (fund settlement not found)")
    if row.gross_fen is None:
        raise InvalidState(
            "该月医保结算未登记，差额未确定 (record the month's settlement first)", code="illegal_transition"
        )
    outstanding = outstanding_shortfall_fen(row)
    errors: dict[str, list[str]] = {}
    if outstanding <= 0:
        raise InvalidState("没有待收回的差额 (no shortfall to collect)", code="illegal_transition")
    if not 0 < amount_fen <= outstanding:
        errors["amount"] = [f"须在0.01到{outstanding / 100:.2f}元之间 (up to the outstanding shortfall)"]
    if not bank_reference.strip():
        errors["bank_reference"] = ["必填 (required)"]
    if collected_on > clock.business_date(now):
        errors["collected_on"] = ["不能晚于今天 (not in the future)"]
    if errors:
        raise ValidationFailed(fields=errors)
    h = row.hospital_id
    sequence = 1 + (
        session.scalar(select(func.count()).where(FundCollection.fund_settlement_id == row.id)) or 0
    )
    entry, created = journal.post(
        session,
        business_key=f"fund_collection:{row.id}:{sequence}",
        kind="fund_collection",
        description=f"托收 {row.period_month:%Y-%m} {bank_reference}",
        occurred_on=collected_on,
        now=now,
        legs=[
            journal.Leg(
                journal.account(session, AccountPurpose.HOSPITAL_FUND_SHORTFALL, h, now=now), amount_fen
            ),
            journal.Leg(journal.account(session, AccountPurpose.HOSPITAL_CASH, h, now=now), -amount_fen),
            journal.Leg(journal.account(session, AccountPurpose.FUND_CASH, None, now=now), amount_fen),
            journal.Leg(
                journal.account(session, AccountPurpose.FUND_SHORTFALL_RECEIVABLE, h, now=now), -amount_fen
            ),
        ],
    )
    if not created:
        raise Conflict("托收已登记 (collection already recorded)", code="already_collected")
    collection = FundCollection(
        fund_settlement_id=row.id,
        hospital_id=h,
        amount_fen=amount_fen,
        bank_reference=bank_reference,
        collected_on=collected_on,
        journal_entry_id=entry.id,
        created_at=now,
    )
    row.collected_fen += amount_fen
    session.add(collection)
    session.flush()
    audit.record(
        session,
        actor,
        "fund_settlement.collect",
        subject_type="fund_settlement",
        subject_id=row.id,
        subject_org_id=h,
        after={
            "amount_fen": amount_fen,
            "bank_reference": bank_reference,
            "outstanding_fen": outstanding - amount_fen,
        },
        now=now,
    )
    return collection


def annual_agreed_amount_fen(session: Session, hospital_id: int, year: int) -> int:
    """The hospital's agreed amount for calendar year `year`: Σ agreed minimum units × winning unit
    price over its allocations, each weighted by the share of the year its agreement's cycle covers
    (an agreement renewed mid-year counts each cycle for its months; a year no cycle covers is 0).
    Rounded to the fen once."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    days_in_year = (last - first).days + 1
    total = Decimal(0)
    for quantity, unit_e4, start, end in session.execute(
        select(
            VolumeAllocation.agreed_quantity,
            Award.unit_price_e4,
            ProcurementBatch.cycle_start_on,
            ProcurementBatch.cycle_end_on,
        )
        .join(Award, Award.id == VolumeAllocation.award_id)
        .join(ProcurementBatch, ProcurementBatch.id == VolumeAllocation.batch_id)
        .where(
            VolumeAllocation.hospital_id == hospital_id,
            ProcurementBatch.cycle_start_on <= last,
            ProcurementBatch.cycle_end_on >= first,
        )
    ):
        covered_days = (min(end, last) - max(start, first)).days + 1
        total += Decimal(quantity) * unit_e4 * covered_days / days_in_year
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
    """Prepay a share of the hospital's agreed amount for the year (预付, §4.2), once per year."""
    require_agency(actor)
    if not (Decimal(0) < share <= Decimal(1)):
        raise ValidationFailed(fields={"share": ["须在 (0, 1] 之间"]})
    if not 2000 <= year <= 2200:
        raise ValidationFailed(fields={"year": ["年份无效 (invalid year)"]})
    amount = prepayment_fen(annual_agreed_amount_fen(session, hospital_id, year), share)
    if amount <= 0:
        raise ValidationFailed(
            fields={"year": [f"该医院{year}年没有约定采购量 (no agreement covers that year)"]}
        )
    if session.scalar(
        select(func.count()).where(Prepayment.hospital_id == hospital_id, Prepayment.year == year)
    ):
        raise Conflict(
            "该年度已预付 (already prepaid this year)", code="already_prepaid", fields={"year": ["已预付"]}
        )
    prepayment = Prepayment(
        hospital_id=hospital_id,
        year=year,
        share=str(share),
        amount_fen=amount,
        drawn_fen=0,
        created_at=now,
        status=PrepaymentStatus.GRANTED,
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


def draw_prepayment(session: Session, hospital_id: int, year: int, amount: int) -> None:
    """Draw a payment from the hospital's prepayment of `year` (refused when it is too small)."""
    prepayment = session.scalars(
        select(Prepayment)
        .where(
            Prepayment.hospital_id == hospital_id,
            Prepayment.year == year,
            Prepayment.status == PrepaymentStatus.GRANTED,
        )
        .with_for_update()
    ).first()
    if prepayment is None or prepayment.amount_fen - prepayment.drawn_fen < amount:
        raise RuleViolation(
            "预付余额不足 (prepayment balance too small)",
            code="prepayment_insufficient",
            fields={"source": ["预付余额不足 (prepayment balance too small)"]},
        )
    prepayment.drawn_fen += amount


def clear_prepayment(session: Session, actor: Actor, prepayment_id: int, *, now: datetime) -> Prepayment:
    """Year-end clearing: the undrawn remainder returns to the fund."""
    require_agency(actor)
    prepayment = session.scalars(
        select(Prepayment).where(Prepayment.id == prepayment_id).with_for_update()
    ).first()
    if prepayment is None:
        raise NotFound("预付记录不存在 (prepayment not found)")
    states.PREPAYMENT.move(prepayment, PrepaymentStatus.CLEARED)
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
