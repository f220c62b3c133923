"""Pure money-flow rules: payment terms and due dates (vbp-rules.md §4.1)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, timedelta


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
