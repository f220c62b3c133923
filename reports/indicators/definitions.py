"""What the indicators are: targets, groupings, the row of integer sums every rate derives from,
the report, and the months a report covers. The verdict and printing rule of a rate against its
target is ledger.figures.rates (one rule for the report's JSON, xlsx, PDF and the pages)."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, timedelta
from decimal import Decimal

from core import clock
from core.glossary import terms_of
from core.money import E4_PER_YUAN, FEN_PER_YUAN, quantize
from ledger.figures import meets
from ledger.money_rules import OnTimeRate

# policy-basis.md, indicator targets (Sichuan 14th five-year plan), vbp-rules.md §6: online purchase
# share of drugs excluding 中药饮片, by amount, ≥ 90 % by 2025.
DRUG_ONLINE_TARGET = Decimal("0.90")
# Same table: high-value consumables ≥ 80 % by 2025.
HVC_ONLINE_TARGET = Decimal("0.80")
E4_PER_FEN = E4_PER_YUAN // FEN_PER_YUAN

next_month = clock.next_month  # re-exported for callers of this package


class GroupBy(enum.StrEnum):
    PROVINCE = "province"
    REGION = "region"  #: prefecture (地市): the region code's first four digits + "00"
    HOSPITAL = "hospital"
    ENTERPRISE = "enterprise"
    MONTH = "month"


GROUP_LABELS = terms_of(GroupBy)  #: from core/glossary.py


def ratio(numerator: int | Decimal, denominator: int | Decimal) -> Decimal | None:
    """Exact ratio (Decimal context precision, never float); None without a denominator."""
    return Decimal(numerator) / Decimal(denominator) if denominator else None


@dataclass(frozen=True)
class IndicatorRow:
    """One group's integer sums; every rate is derived from them, exactly."""

    key: str
    label: str
    #: False where off-platform purchases cannot be attributed (enterprise rows, enterprise callers).
    online_rate_applicable: bool = True
    drug_platform_fen: int = 0
    drug_off_platform_fen: int = 0
    hvc_platform_fen: int = 0
    hvc_off_platform_fen: int = 0
    agreed_units: int = 0
    completed_units: int = 0
    #: Σ agreed units × time elapsed (0–1) of their batch: the volume expected by `as_of`.
    expected_units: Decimal = Decimal(0)
    due_lines: int = 0
    on_time_lines: int = 0
    due_fen: int = 0
    on_time_fen: int = 0
    paid_lines: int = 0
    paid_fen: int = 0
    payment_days: int = 0  #: Σ days from acceptance to payment over paid lines
    ordered_qty: int = 0
    delivered_qty: int = 0
    arrived_lines: int = 0
    on_time_arrived_lines: int = 0
    winner_units: int = 0
    generic_units: int = 0
    pre_vbp_e4: int = 0  #: Σ pre-VBP unit price × units of winner lines (yuan×10⁴)
    winning_e4: int = 0  #: Σ winning pack price × packs of the same lines (yuan×10⁴)
    #: None when no SavingsFormula was given or the caller may not see it.
    retained_savings_fen: int | None = None

    @property
    def drug_online_rate(self) -> Decimal | None:
        return self._online(self.drug_platform_fen, self.drug_off_platform_fen)

    @property
    def hvc_online_rate(self) -> Decimal | None:
        return self._online(self.hvc_platform_fen, self.hvc_off_platform_fen)

    def _online(self, platform: int, off_platform: int) -> Decimal | None:
        # A month of returns only can leave the sum ≤ 0: no meaningful rate then.
        if not self.online_rate_applicable or platform + off_platform <= 0:
            return None
        return ratio(platform, platform + off_platform)

    @property
    def drug_online_pass(self) -> bool | None:
        return meets(self.drug_online_rate, DRUG_ONLINE_TARGET)

    @property
    def hvc_online_pass(self) -> bool | None:
        return meets(self.hvc_online_rate, HVC_ONLINE_TARGET)

    @property
    def completion_rate(self) -> Decimal | None:
        return ratio(self.completed_units, self.agreed_units)

    @property
    def time_elapsed(self) -> Decimal | None:
        return ratio(self.expected_units, self.agreed_units)

    @property
    def completion_on_track(self) -> bool | None:
        """Completion at or ahead of 序时进度."""
        return meets(self.completion_rate, self.time_elapsed)

    @property
    def on_time(self) -> OnTimeRate:
        """The on-time payment rule of ledger.money_rules (E8) over this group's sums."""
        return OnTimeRate(
            lines_due=self.due_lines,
            lines_on_time=self.on_time_lines,
            amount_due_fen=self.due_fen,
            amount_on_time_fen=self.on_time_fen,
            lines_paid=self.paid_lines,
            days_to_payment=self.payment_days,
        )

    @property
    def on_time_count_rate(self) -> Decimal | None:
        return self.on_time.count_ratio

    @property
    def on_time_amount_rate(self) -> Decimal | None:
        return self.on_time.amount_ratio

    @property
    def payment_rate(self) -> Decimal | None:
        return ratio(self.paid_fen, self.due_fen)

    @property
    def average_days_to_payment(self) -> Decimal | None:
        return self.on_time.average_days_ratio

    @property
    def delivery_rate(self) -> Decimal | None:
        return ratio(self.delivered_qty, self.ordered_qty)

    @property
    def on_time_arrival_rate(self) -> Decimal | None:
        return ratio(self.on_time_arrived_lines, self.arrived_lines)

    @property
    def winner_share(self) -> Decimal | None:
        return ratio(self.winner_units, self.generic_units)

    @property
    def pre_vbp_fen(self) -> int:
        return _e4_to_fen(self.pre_vbp_e4)

    @property
    def savings_fen(self) -> int:
        """Rounded once, from the exact yuan×10⁴ difference (core.money: totals are never re-rounded)."""
        return _e4_to_fen(self.pre_vbp_e4 - self.winning_e4)

    @property
    def savings_rate(self) -> Decimal | None:
        return ratio(self.pre_vbp_e4 - self.winning_e4, self.pre_vbp_e4)


def _e4_to_fen(e4: int) -> int:
    return int(quantize(Decimal(e4) / E4_PER_FEN, Decimal(1)))


#: The row's summed fields (everything but its key, label and applicability).
SUMMED = [f.name for f in fields(IndicatorRow) if f.name not in ("key", "label", "online_rate_applicable")]


@dataclass(frozen=True)
class IndicatorReport:
    scope: str  #: "全省" or the caller's organization name
    group_by: GroupBy
    months: tuple[date, ...]  #: first days of the months covered (ascending)
    as_of: date
    rows: tuple[IndicatorRow, ...]
    total: IndicatorRow
    notes: tuple[str, ...] = ()

    @property
    def period_from(self) -> date:
        return self.months[0]

    @property
    def period_before(self) -> date:
        return next_month(self.months[-1])

    @property
    def drug_online_pass(self) -> bool | None:
        return self.total.drug_online_pass

    @property
    def hvc_online_pass(self) -> bool | None:
        return self.total.hvc_online_pass


def months_of(
    months: Sequence[date] | None,
    period_from: date | None,
    period_to: date | None,
    period_before: date | None,
) -> tuple[date, ...]:
    """Either a list of months, or a range: period_from..period_to (months, inclusive) or
    period_from..period_before (exclusive, as the API and CLI pass it)."""
    if months is not None:
        if period_from or period_to or period_before:
            raise ValueError("give either months or a period, not both")
        chosen = sorted({m.replace(day=1) for m in months})
    else:
        if period_from is None:
            raise ValueError("months or period_from is required")
        if period_to is not None and period_before is not None:
            raise ValueError("give period_to (inclusive) or period_before (exclusive), not both")
        first = period_from.replace(day=1)
        last = period_before - timedelta(days=1) if period_before is not None else period_to or first
        end = next_month(last.replace(day=1))
        chosen = []
        while first < end:
            chosen.append(first)
            first = next_month(first)
    if not chosen:
        raise ValueError("the period covers no month")
    return tuple(chosen)
