"""The one place that reads the wall clock. Services and jobs take `now` as a parameter."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

#: Business dates (acceptance dates, due dates, report months) are China Standard Time dates.
CHINA_TZ = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    """Current time, timezone-aware UTC."""
    return datetime.now(UTC)


def business_date(at: datetime) -> date:
    """The calendar date in China of a UTC instant (what a receipt or invoice date means)."""
    return at.astimezone(CHINA_TZ).date()


def month_start(day: date) -> date:
    """The first day of the day's month (periods are calendar months, vbp-rules.md §6)."""
    return day.replace(day=1)


def next_month(day: date) -> date:
    """The first day of the month after the day's month."""
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)  # day 28 + 4 is always next month


def previous_month(day: date) -> date:
    """The first day of the month before the day's month."""
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)
