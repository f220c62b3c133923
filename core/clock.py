"""The one place that reads the wall clock and knows the province's time zone.

Services and jobs take `now` (timezone-aware UTC) as a parameter. Every business date — an
acceptance or invoice date, a due date, a report month, "today" for a deadline — is the calendar
date of that instant in the province's time zone, never in UTC: before 08:00 Beijing time it is
already the next day there. The zone is Asia/Shanghai unless the deployment configures another
(VBP_TIMEZONE, app/config.py), set once at start-up through `configure`.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

#: Every Chinese province keeps China Standard Time.
DEFAULT_ZONE = "Asia/Shanghai"

_zone = ZoneInfo(DEFAULT_ZONE)


def configure(zone_name: str) -> None:
    """Set the province's time zone (once, at start-up; an unknown name raises)."""
    global _zone  # one process-wide setting, as the wall clock itself is
    _zone = ZoneInfo(zone_name)


def zone() -> ZoneInfo:
    """The province's time zone."""
    return _zone


def now() -> datetime:
    """Current time, timezone-aware UTC."""
    return datetime.now(UTC)


def business_date(at: datetime) -> date:
    """The calendar date in the province of an instant (what a receipt or invoice date means)."""
    if at.tzinfo is None:
        raise ValueError("naive datetime given; business dates need an instant (core.clock.now())")
    return at.astimezone(_zone).date()


def local(day: date, at: time = time(0)) -> datetime:
    """The instant of a wall-clock time on a business date, in the province (timezone-aware)."""
    return datetime.combine(day, at, tzinfo=_zone)


def month_start(day: date) -> date:
    """The first day of the day's month (periods are calendar months, vbp-rules.md §6)."""
    return day.replace(day=1)


def next_month(day: date) -> date:
    """The first day of the month after the day's month."""
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)  # day 28 + 4 is always next month


def previous_month(day: date) -> date:
    """The first day of the month before the day's month."""
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)
