"""Pure money-flow rules: payment terms and due dates (§4.1), on-time payment rate (§6, E8), prepayment
(§4.2), the Jiangsu direct-settlement calendar and amounts (§4.3, E11) and retained savings (§4.4, E9).

No database, no framework: frozen dataclasses and plain values. Amounts are integer fen, unit prices
integer yuan×10⁴ (core.money); every rounding goes through `core.money.quantize` (half-up), never float.
Section numbers refer to shared/domain/vbp-rules.md.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from core import clock
from core.money import E4_PER_YUAN, FEN_PER_YUAN, quantize, to_fen

__all__ = [
    "DayKind",
    "Deduction",
    "OnTimeRate",
    "PaymentItem",
    "PaymentTerms",
    "RetainedSavings",
    "SavingsFormula",
    "SettlementCalendar",
    "add_working_days",
    "confirmation_deadline",
    "days_late",
    "deduct",
    "due_date",
    "filing_deadline",
    "is_on_time",
    "is_working_day",
    "net_application",
    "on_time_rate",
    "prepayment_fen",
    "retained_savings",
]

#: Percentages are reported to 2 dp (E8: 87.50 %).
PCT = Decimal("0.01")


# --- §4.1 payment terms and due dates ---------------------------------------------------------------


class DayKind(enum.StrEnum):
    """How payment-term days are counted: calendar days or working days."""

    CALENDAR = "calendar"
    WORKING = "working"


@dataclass(frozen=True)
class PaymentTerms:
    """Acceptance → payment within 30 days (§4.1); calendar days by default, working days configurable."""

    # vbp-rules.md §4.1: "not exceeding 30 days from receipt acceptance to payment" (Henan S36, Guizhou S37).
    days: int = 30
    # vbp-rules.md §4.1: "Implement due_date = acceptance_date + 30 calendar days (configurable)".
    day_kind: DayKind = DayKind.CALENDAR
    #: Official days off (法定节假日 including the weekend days inside the run).
    holidays: frozenset[date] = field(default_factory=frozenset)
    #: Weekend days that are working days (调休).
    extra_working_days: frozenset[date] = field(default_factory=frozenset)


def is_working_day(day: date, terms: PaymentTerms | SettlementCalendar) -> bool:
    """Monday–Friday unless a listed holiday, plus listed 调休 weekend working days."""
    if day in terms.extra_working_days:
        return True
    return day.weekday() < 5 and day not in terms.holidays


def add_working_days(start: date, n: int, terms: PaymentTerms | SettlementCalendar) -> date:
    """The n-th working day after `start` (`start` itself never counts; n = 0 returns `start`)."""
    if n < 0:
        raise ValueError("n must be zero or positive")
    day, left = start, n
    while left > 0:
        day += timedelta(days=1)
        if is_working_day(day, terms):
            left -= 1
    return day


def due_date(accepted_on: date, terms: PaymentTerms) -> date:
    """Payment due date: acceptance + n calendar days, or the n-th working day after acceptance (E8)."""
    if terms.days < 0:
        raise ValueError("payment terms cannot be negative")
    if terms.day_kind is DayKind.WORKING:
        return add_working_days(accepted_on, terms.days, terms)
    return accepted_on + timedelta(days=terms.days)


def days_late(due: date, paid_on: date) -> int:
    """Calendar days past the due date (0 when paid on or before it; E8: paid 2025-04-10 → 1)."""
    return max(0, (paid_on - due).days)


# --- §6 on-time payment rate (E8) ------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentItem:
    """One line due for payment: its due date, amount, acceptance date and payment date (None: unpaid)."""

    due_on: date
    amount_fen: int
    accepted_on: date
    paid_on: date | None


@dataclass(frozen=True)
class OnTimeRate:
    """按时结算率 by count and by amount, and the average days from acceptance to payment (§6, E8),
    from the integer sums of the lines judged. The indicator report builds it from its SQL sums,
    `on_time_rate` from payment items: one rule either way."""

    lines_due: int
    lines_on_time: int
    amount_due_fen: int
    amount_on_time_fen: int
    lines_paid: int = 0
    #: Σ days from acceptance to payment over the paid lines.
    days_to_payment: int = 0

    @property
    def count_ratio(self) -> Decimal | None:
        """Exact share of lines on time (None when nothing is due: a rate of nothing is not 0 %)."""
        return _ratio(self.lines_on_time, self.lines_due)

    @property
    def amount_ratio(self) -> Decimal | None:
        return _ratio(self.amount_on_time_fen, self.amount_due_fen)

    @property
    def average_days_ratio(self) -> Decimal | None:
        """Exact average days from acceptance to payment over paid lines (None when none is paid)."""
        return _ratio(self.days_to_payment, self.lines_paid)

    @property
    def count_pct(self) -> Decimal | None:
        """In percent, 2 dp half-up (E8: 87.50 %)."""
        return _pct(self.lines_on_time, self.lines_due)

    @property
    def amount_pct(self) -> Decimal | None:
        return _pct(self.amount_on_time_fen, self.amount_due_fen)

    @property
    def average_days_to_payment(self) -> Decimal | None:
        """2 dp half-up."""
        exact = self.average_days_ratio
        return None if exact is None else quantize(exact, PCT)


def _ratio(numerator: int, denominator: int) -> Decimal | None:
    return None if denominator == 0 else Decimal(numerator) / Decimal(denominator)


def _pct(numerator: int, denominator: int) -> Decimal | None:
    """numerator ÷ denominator in percent, 2 dp half-up; None when the denominator is 0."""
    if denominator == 0:
        return None
    return quantize(Decimal(numerator) * 100 / Decimal(denominator), PCT)


def is_on_time(due_on: date, paid_on: date | None) -> bool:
    """Paid on or before the due date (E8: paid on the due date is on time)."""
    return paid_on is not None and days_late(due_on, paid_on) == 0


def on_time_rate(items: Iterable[PaymentItem]) -> OnTimeRate:
    """Lines (and amounts) paid on or before their due date ÷ those due; unpaid lines are due and late."""
    # vbp-rules.md §6: "settled lines (or amount) paid ≤ due date ÷ lines (or amount) due in the period".
    rows = list(items)
    on_time = [i for i in rows if is_on_time(i.due_on, i.paid_on)]
    paid_days = [(i.paid_on - i.accepted_on).days for i in rows if i.paid_on is not None]
    return OnTimeRate(
        lines_due=len(rows),
        lines_on_time=len(on_time),
        amount_due_fen=sum(i.amount_fen for i in rows),
        amount_on_time_fen=sum(i.amount_fen for i in on_time),
        lines_paid=len(paid_days),
        days_to_payment=sum(paid_days),
    )


# --- §4.2 prepayment -------------------------------------------------------------------------------

# vbp-rules.md §4.2: national pilot prepays ≥ 30 % of the annual agreed amount (Tianjin/Henan/Sichuan: 50 %).
NATIONAL_PREPAYMENT_SHARE = Decimal("0.30")


def prepayment_fen(annual_agreed_amount_fen: int, share: Decimal = NATIONAL_PREPAYMENT_SHARE) -> int:
    """Insurance-fund prepayment to a hospital: annual agreed amount × share, rounded half-up to the fen."""
    if annual_agreed_amount_fen < 0:
        raise ValueError("annual agreed amount cannot be negative")
    if not Decimal(0) <= share <= Decimal(1):
        raise ValueError("prepayment share must be between 0 and 1")
    return to_fen(Decimal(annual_agreed_amount_fen) * share / FEN_PER_YUAN)


# --- §4.3 direct settlement (Jiangsu calendar, E11) ------------------------------------------------


@dataclass(frozen=True)
class SettlementCalendar:
    """Jiangsu monthly direct-settlement deadlines (§4.3, 苏医保函〔2025〕147号), with holidays."""

    # vbp-rules.md §4.3 step 2: the enterprise files last month's transactions "by the 5th of each month".
    filing_day: int = 5
    # vbp-rules.md §4.3 step 2: "if it is a public holiday: 2 working days after the holiday".
    holiday_extension_working_days: int = 2
    # vbp-rules.md §4.3 step 3: the hospital confirms "within 5 working days".
    confirmation_working_days: int = 5
    holidays: frozenset[date] = field(default_factory=frozenset)
    extra_working_days: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def from_terms(cls, terms: PaymentTerms, **overrides: int) -> SettlementCalendar:
        """A calendar sharing the holidays and 调休 working days of the province's payment terms."""
        return cls(holidays=terms.holidays, extra_working_days=terms.extra_working_days, **overrides)


def filing_deadline(period_month: date, cal: SettlementCalendar) -> date:
    """Last day for the enterprise to file the settlement application for the month of `period_month`.

    The deadline is `filing_day` of the following month. If that day is a listed public holiday, the
    deadline is the `holiday_extension_working_days`-th working day after the LAST day of the run of
    consecutive listed holidays containing it (国庆 2025-10-01..10-08 → 10-09 is the 1st, 10-10 the 2nd).
    A weekend filing day that is not a listed holiday is kept as is (the text names public holidays
    only). # TODO verify against 苏医保函〔2025〕147号.
    """
    deadline = clock.next_month(period_month).replace(day=cal.filing_day)
    if deadline not in cal.holidays:
        return deadline
    last_holiday = deadline
    while last_holiday + timedelta(days=1) in cal.holidays:
        last_holiday += timedelta(days=1)
    return add_working_days(last_holiday, cal.holiday_extension_working_days, cal)


def confirmation_deadline(filed_on: date, cal: SettlementCalendar) -> date:
    """Last day for the hospital to confirm an application: the 5th working day after filing (§4.3 step 3)."""
    return add_working_days(filed_on, cal.confirmation_working_days, cal)


def net_application(invoiced_fen: Sequence[int], credits_fen: Sequence[int]) -> int:
    """Settlement application amount: invoices minus returns and price cuts (credits as positive fen)."""
    # vbp-rules.md §4.3 step 2: returns and price adjustments are "netted" in the application (E11).
    if any(a < 0 for a in invoiced_fen) or any(c < 0 for c in credits_fen):
        raise ValueError("invoiced amounts and credits are given as non-negative fen")
    return sum(invoiced_fen) - sum(credits_fen)


@dataclass(frozen=True)
class Deduction:
    """A hospital's monthly fund settlement after the direct payments made on its behalf (E11)."""

    #: What the fund still pays the hospital: never negative.
    net_fen: int
    #: The part of the payments the settlement absorbs.
    covered_fen: int
    #: Payments beyond the settlement: the hospital's liability, collected from it (托收).
    shortfall_fen: int


def deduct(fund_settlement_fen: int, paid_to_enterprises_fen: int) -> Deduction:
    """Hospital's fund settlement after deducting what the agency paid enterprises on its behalf (E11).

    vbp-rules.md §4.3: the agency deducts the same amount from the fund's settlement to the
    hospital; "a hospital's shortfall stays the hospital's liability", so a deduction beyond the
    settlement leaves a net of 0 and a shortfall to collect, never a negative net."""
    if fund_settlement_fen < 0:
        raise ValueError("a fund settlement cannot be negative")
    # A refund can make the month's deductions negative for a while: nothing is covered then.
    covered = min(max(paid_to_enterprises_fen, 0), fund_settlement_fen)
    return Deduction(
        net_fen=fund_settlement_fen - covered,
        covered_fen=covered,
        shortfall_fen=max(0, paid_to_enterprises_fen - fund_settlement_fen),
    )


# --- §4.4 retained savings (E9) --------------------------------------------------------------------


@dataclass(frozen=True)
class SavingsFormula:
    """结余留用 inputs (vbp-rules.md §4.4, 医保发〔2020〕26号 [UNVERIFIED]); all configurable."""

    fund_payment_ratio: Decimal
    insured_share: Decimal
    # vbp-rules.md §4.4: hospitals that complete the agreed volume keep "up to 50 %". TODO verify
    retention_share: Decimal = Decimal("0.50")
    #: Retention requires completing the agreed volume (§4.4); False applies `retention_share` regardless.
    require_completion: bool = True
    # vbp-rules.md §4.4 / E9: below 100 % "no retention, or a reduced one (provincial rule)". TODO verify
    reduced_share_if_incomplete: Decimal = Decimal("0")


@dataclass(frozen=True)
class RetainedSavings:
    """Budget, actual fund spend, savings and retained amount in fen, and whether volume was completed."""

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
    """Retained savings (§4.4, E9); budget and actual are each rounded once, savings derive from them.

    budget = agreed × pre-VBP price × fund ratio × insured share; actual = Σ qty × price × ratio × share
    over winners and non-winners alike (Guangxi S42); savings = max(0, budget − actual); retained =
    savings × retention share when completed (completion ≥ 100 %), else × the reduced share. Budget and
    actual are rounded half-up to the fen once each; savings is their exact difference and retained is
    rounded once from the rounded savings.
    """
    factor = formula.fund_payment_ratio * formula.insured_share
    budget = to_fen(Decimal(agreed_quantity) * pre_vbp_unit_price_e4 / E4_PER_YUAN * factor)
    spend_e4 = sum((Decimal(q) * p for q, p in purchased), Decimal(0))
    actual = to_fen(spend_e4 / E4_PER_YUAN * factor)
    savings = max(0, budget - actual)
    completed = completion_pct >= 100
    full = completed or not formula.require_completion
    share = formula.retention_share if full else formula.reduced_share_if_incomplete
    retained = to_fen(Decimal(savings) * share / FEN_PER_YUAN)
    return RetainedSavings(
        budget_fen=budget,
        actual_fund_spend_fen=actual,
        savings_fen=savings,
        retained_fen=retained,
        completed=completed,
    )
