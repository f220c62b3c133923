"""The one place money leaves the platform's integer units for OCDS: amounts are JSON numbers in
yuan (OCDS `Value.amount`), currency CNY. Integer fen and yuan×10⁴ become exact decimals first
(core.money), then numbers; nothing is summed after the conversion."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from core import clock
from core.money import e4_to_decimal, fen_to_decimal

CURRENCY = "CNY"


def value(fen: int) -> dict[str, Any]:
    """An amount of integer fen as an OCDS Value."""
    return {"amount": float(fen_to_decimal(fen)), "currency": CURRENCY}


def unit_value(e4: int) -> dict[str, Any]:
    """A price per minimum unit (integer yuan×10⁴) as an OCDS Value (4 decimals kept)."""
    return {"amount": float(e4_to_decimal(e4)), "currency": CURRENCY}


def when(moment: datetime | date) -> str:
    """An OCDS date-time (RFC 3339 with offset): UTC moments as they are, dates at the province's
    local midnight."""
    if not isinstance(moment, datetime):
        moment = clock.local(moment, time(0))
    return moment.isoformat()
