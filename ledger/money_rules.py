"""Pure money-flow rules: payment terms and due dates (§4.1), on-time payment rate (§6, E8),
retained savings (§4.4, E9). No database; amounts in integer fen."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from core.money import quantize, to_fen


class DayKind(enum.StrEnum):
    CALENDAR = "calendar"
    WORKING = "working"


@dataclass(frozen=True)
class PaymentTerms:
    """Acceptance → payment within 30 days (§4.1: 国办发〔2021〕2号 as implemented by the provinces;
    calendar days by default, working days configurable per province)."""

    days: int = 30
    day_kind: DayKind = DayKind.CALENDAR
    holidays: frozenset[date] = field(default_factory=frozenset)
    #: Weekend days that are working days (调休).
    extra_working_days: frozenset[date] = field(default_factory=frozenset)


def is_working_day(day: date, terms: PaymentTerms) -> bool:
    """Monday–Friday unless a holiday, plus listed 调休 weekend working days."""
    if day in terms.extra_working_days:
        return True
    return day.weekday() < 5 and day not in terms.holidays


def add_working_days(start: date, n: int, terms: PaymentTerms) -> date:
    """The n-th working day after `start`."""
    day, left = start, n
    while left > 0:
        day += timedelta(days=1)
        if is_working_day(day, terms):
            left -= 1
    return day


def due_date(accepted_on: date, terms: PaymentTerms) -> date:
    """Payment due date (E8: accepted 2025-03-10 → 2025-04-09 with 30 calendar days)."""
    if terms.day_kind is DayKind.WORKING:
        return add_working_days(accepted_on, terms.days, terms)
    return accepted_on + timedelta(days=terms.days)


def days_late(due: date, paid_on: date) -> int:
    """Days past the due date (0 when paid on or before it; E8: paid 2025-04-10 → 1)."""
    return max(0, (paid_on - due).days)


PCT = Decimal("0.01")


@dataclass(frozen=True)
class PaymentItem:
    due_on: date
    amount_fen: int
    accepted_on: date
    paid_on: date | None


@dataclass(frozen=True)
class OnTimeRate:
    """按时结算率 by count and by amount, and the average days from acceptance to payment (§6, E8)."""

    lines_due: int
    lines_on_time: int
    amount_due_fen: int
    amount_on_time_fen: int
    count_pct: Decimal | None
    amount_pct: Decimal | None
    average_days_to_payment: Decimal | None


def on_time_rate(items: Iterable[PaymentItem]) -> OnTimeRate:
    """Lines (and amounts) paid on or before their due date ÷ those due; unpaid lines count as due
    and late. Nothing due → the rates are None, not 0."""
    items = list(items)
    on_time = [i for i in items if i.paid_on is not None and i.paid_on <= i.due_on]
    paid = [i for i in items if i.paid_on is not None]
    due_fen, on_time_fen = sum(i.amount_fen for i in items), sum(i.amount_fen for i in on_time)
    return OnTimeRate(
        lines_due=len(items),
        lines_on_time=len(on_time),
        amount_due_fen=due_fen,
        amount_on_time_fen=on_time_fen,
        count_pct=quantize(Decimal(len(on_time)) * 100 / len(items), PCT) if items else None,
        amount_pct=quantize(Decimal(on_time_fen) * 100 / due_fen, PCT) if due_fen else None,
        average_days_to_payment=quantize(
            Decimal(sum((i.paid_on - i.accepted_on).days for i in paid if i.paid_on)) / len(paid), PCT
        )
        if paid
        else None,
    )


@dataclass(frozen=True)
class SavingsFormula:
    """结余留用 (vbp-rules.md §4.4, 医保发〔2020〕26号 [UNVERIFIED] → TODO verify): configurable."""

    fund_payment_ratio: Decimal
    insured_share: Decimal
    #: Hospitals that complete the agreed volume keep up to 50 % of the savings (§4.4).
    retention_share: Decimal = Decimal("0.50")
    #: Share kept when the agreed volume is not completed (provincial rule; none by default).
    reduced_share_if_incomplete: Decimal = Decimal("0")


@dataclass(frozen=True)
class RetainedSavings:
    budget_fen: int
    actual_fund_spend_fen: int
    savings_fen: int
    retained_fen: int
    completed: bool


def retained_savings(
    *,
    agreed_quantity: int,
    pre_vbp_unit_price_e4: int,
    purchased: Sequence[tuple[int, int]],
    completion_pct: Decimal,
    formula: SavingsFormula,
) -> RetainedSavings:
    """E9: budget = agreed × pre-VBP price × fund ratio × insured share; actual = Σ qty × price ×
    ratio × share (winners and non-winners); savings = budget − actual (≥ 0); retained = savings ×
    the retention share when the agreed volume is completed. Budget and actual are rounded to the
    fen once; savings and retained are derived from the rounded figures."""
    factor = formula.fund_payment_ratio * formula.insured_share
    budget = to_fen(Decimal(agreed_quantity) * pre_vbp_unit_price_e4 / 10_000 * factor)
    actual = to_fen(sum((Decimal(q) * p for q, p in purchased), Decimal(0)) / 10_000 * factor)
    savings = max(0, budget - actual)
    completed = completion_pct >= 100
    share = formula.retention_share if completed else formula.reduced_share_if_incomplete
    return RetainedSavings(budget, actual, savings, to_fen(Decimal(savings) * share / 100), completed)
