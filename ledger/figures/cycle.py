"""The cycle year (采购周期年度): agreements run for a procurement cycle of one or more years and are
renewed each year (vbp-rules.md §1.8, S24); agreed volumes, completion and retained savings are
counted per cycle year (§1.6, §4.4, §6). The only place the year of a cycle is worked out."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from core.money import quantize

PCT = Decimal("0.01")
ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class CycleYear:
    """One year of a procurement cycle: `first_day` to `last_day`, both included."""

    first_day: date
    last_day: date

    @property
    def end(self) -> date:
        """The day after the year (exclusive bound, for date ranges in SQL)."""
        return self.last_day + ONE_DAY

    @property
    def days(self) -> int:
        return (self.end - self.first_day).days

    def counted_before(self, on: date) -> date:
        """Exclusive upper bound of what counts "as of" `on`: the year's days up to and including
        `on` (none before the year starts, all of them after it ends)."""
        return max(self.first_day, min(on + ONE_DAY, self.end))

    def contains(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day


def _anniversary(start: date, years: int) -> date:
    """`start` moved on by whole years; 29 February falls back to 28 February in common years."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28)


def cycle_years(cycle_start: date, cycle_end: date) -> list[CycleYear]:
    """Every year of the cycle, in order; the last one ends with the cycle (it may be short)."""
    years, n = [], 0
    while True:
        first, following = _anniversary(cycle_start, n), _anniversary(cycle_start, n + 1)
        if first > cycle_end:
            return years
        years.append(CycleYear(first, min(following - ONE_DAY, cycle_end)))
        n += 1


def cycle_year(cycle_start: date, cycle_end: date, on: date) -> CycleYear:
    """The year of the cycle containing `on`: its first year before the cycle starts, its last year
    after it ends. Years are anniversaries of the cycle's start (§1.8: agreements renewed yearly)."""
    years = cycle_years(cycle_start, cycle_end)
    for year in years:
        if on <= year.last_day:
            return year
    return years[-1]


def time_elapsed_pct(cycle_start: date, cycle_end: date, on: date) -> Decimal:
    """序时进度 (vbp-rules.md §6): days elapsed in the cycle year containing `on` ÷ days in that year,
    in percent to 2 places (0 before the cycle, 100 after it)."""
    if on < cycle_start:
        return Decimal("0.00")
    year = cycle_year(cycle_start, cycle_end, on)
    elapsed = min((on - year.first_day).days, year.days)
    return quantize(Decimal(elapsed) * 100 / year.days, PCT)
