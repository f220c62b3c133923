"""The one place that reads the wall clock. Services and jobs take `now` as a parameter."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

#: Business dates (acceptance dates, due dates, report months) are China Standard Time dates.
CHINA_TZ = ZoneInfo("Asia/Shanghai")


def now() -> datetime:
    """Current time, timezone-aware UTC."""
    return datetime.now(UTC)


def business_date(at: datetime) -> date:
    """The calendar date in China of a UTC instant (what a receipt or invoice date means)."""
    return at.astimezone(CHINA_TZ).date()
