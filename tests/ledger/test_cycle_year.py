"""The cycle year (ledger.figures.cycle): the anniversary year of a procurement cycle that contains a
day, the window "as of" that day, and 序时进度 (vbp-rules.md §1.6, §1.8, §6)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ledger.figures import cycle_year, time_elapsed_pct


def test_cycle_year_is_the_anniversary_year_containing_the_day() -> None:
    start, end = date(2026, 5, 1), date(2028, 4, 30)
    first = cycle_year(start, end, date(2026, 5, 1))
    assert (first.first_day, first.last_day) == (date(2026, 5, 1), date(2027, 4, 30))
    second = cycle_year(start, end, date(2027, 5, 1))
    assert (second.first_day, second.last_day) == (date(2027, 5, 1), date(2028, 4, 30))
    assert cycle_year(start, end, date(2027, 4, 30)) == first
    # Before the cycle: its first year (nothing counted yet); after it: its last year.
    assert cycle_year(start, end, date(2026, 1, 1)) == first
    assert cycle_year(start, end, date(2030, 1, 1)) == second
    # Counted "as of" a day: up to and including that day, never past the year's end.
    assert first.counted_before(date(2026, 6, 30)) == date(2026, 7, 1)
    assert first.counted_before(date(2029, 1, 1)) == date(2027, 5, 1)


def test_a_short_last_year_ends_with_the_cycle_and_leap_days_step_to_28_february() -> None:
    short = cycle_year(date(2026, 5, 1), date(2027, 10, 31), date(2027, 6, 1))
    assert (short.first_day, short.last_day) == (date(2027, 5, 1), date(2027, 10, 31))
    leap = cycle_year(date(2028, 2, 29), date(2033, 2, 28), date(2029, 3, 1))
    assert leap.first_day == date(2029, 2, 28)
    # Anniversaries are counted from the cycle's start, so a leap year gets its 29 February back.
    assert cycle_year(date(2028, 2, 29), date(2033, 2, 28), date(2032, 3, 1)).first_day == date(2032, 2, 29)
    assert time_elapsed_pct(date(2026, 5, 1), date(2027, 4, 30), date(2026, 5, 1)) == Decimal("0.00")
    assert time_elapsed_pct(date(2026, 5, 1), date(2027, 4, 30), date(2027, 5, 2)) == Decimal("100.00")
