"""Retained savings (结余留用) of one hospital for a batch and cycle year (vbp-rules.md §4.4, E9): the
access and input checks of the API around the one derivation, ledger.figures.savings."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from bidding.models import ProcurementBatch
from core.actors import Actor, OrgKind
from core.errors import NotFound, ValidationFailed
from core.organizations import Organization
from ledger.figures import HospitalSavings, batch_retained_savings, cycle_years
from ledger.money_rules import SavingsFormula

__all__ = ["HospitalSavings", "hospital_retained_savings"]


def hospital_retained_savings(
    session: Session,
    actor: Actor,
    *,
    hospital_id: int,
    batch_id: int,
    formula: SavingsFormula | None,
    on: date | None = None,
    year_start: date | None = None,
    year_end: date | None = None,
    today: date,
) -> HospitalSavings:
    """The hospital's retained savings in a cycle year of the batch, counted up to a day: the year
    containing `on`, or the year that starts on `year_start` (and ends on `year_end`, if given),
    counted up to `on` or else up to today (the whole year once it is over)."""
    if formula is None:
        raise ValidationFailed(fields={"fund_payment_ratio": ["必填 (required)"]})
    if not actor.is_bureau and not (actor.org_kind is OrgKind.HOSPITAL and actor.org_id == hospital_id):
        raise NotFound("医疗机构不存在 (hospital not found)")
    hospital = session.get(Organization, hospital_id)
    if hospital is None or hospital.kind is not OrgKind.HOSPITAL:
        raise NotFound("医疗机构不存在 (hospital not found)")
    batch = session.get(ProcurementBatch, batch_id)
    if batch is None:
        raise NotFound("采购批次不存在 (batch not found)")
    start, end = batch.cycle_start_on, batch.cycle_end_on
    if year_start is not None:
        year = next((y for y in cycle_years(start, end) if y.first_day == year_start), None)
        if year is None:
            firsts = "、".join(y.first_day.isoformat() for y in cycle_years(start, end))
            raise ValidationFailed(
                fields={"year_start": [f"须为采购周期年度的首日 (the first day of a cycle year: {firsts})"]}
            )
        if year_end is not None and year_end != year.last_day:
            raise ValidationFailed(
                fields={"year_end": [f"须为该周期年度的末日 {year.last_day} (the year's last day)"]}
            )
        if on is not None and not year.contains(on):
            raise ValidationFailed(fields={"on": ["须在所选周期年度内 (within the cycle year asked)"]})
        on = on or min(today, year.last_day)
    elif year_end is not None:
        raise ValidationFailed(fields={"year_start": ["与 year_end 一并给出 (give it with year_end)"]})
    on = on or today
    savings = batch_retained_savings(
        session, actor, batch=batch, on=on, formula=formula, hospital_id=hospital_id
    )
    if savings.unpriced:
        raise ValidationFailed(
            fields={"batch_id": [f"品种缺少集采前价格 (no pre-VBP price): {', '.join(savings.unpriced)}"]}
        )
    return savings.by_hospital[hospital_id]
