"""How a rate is judged against a target and printed beside the verdict, written once.

The comparison is exact: a rate meets its target when rate ≥ target, with no rounding first (79.99995 %
misses 80 %). A rate is printed to 4 places of the ratio (0.9294 = 92.94 %, as vbp-rules.md E10 states
rates), rounded half-up like every figure here (core.money), unless at 4 places the printed figures
would compare otherwise than the exact ones; then it takes as many more places as it needs
(0.899991 against 0.90 prints 0.89999, "89.999%"). So a verdict and the figures printed beside it never
contradict each other, in JSON, spreadsheets, PDFs and pages alike.
"""

from __future__ import annotations

from decimal import Decimal

from core.money import quantize

#: Places of a printed ratio by default (2 in percent).
RATE_PLACES = 4
#: Far below the Decimal context's 28 digits: a ratio of two 64-bit sums never needs more.
MAX_PLACES = 24


def meets(rate: Decimal | None, target: Decimal | None) -> bool | None:
    """rate ≥ target, exactly; None when either is unknown."""
    return None if rate is None or target is None else rate >= target


def printed_places(rate: Decimal, against: Decimal | None = None) -> int:
    """The fewest places (at least RATE_PLACES) at which `rate` and `against`, each rounded half-up,
    compare as the exact values do, both ways round (so a pair of rates prints at one precision)."""
    places = RATE_PLACES
    if against is None:
        return places
    while places < MAX_PLACES:
        step = Decimal(1).scaleb(-places)
        shown, other = quantize(rate, step), quantize(against, step)
        if (shown >= other) is (rate >= against) and (other >= shown) is (against >= rate):
            return places
        places += 1
    return places


def printed_rate(rate: Decimal, against: Decimal | None = None) -> Decimal:
    """`rate` as it is printed when compared with `against` (see the module docstring)."""
    return quantize(rate, Decimal(1).scaleb(-printed_places(rate, against)))


def percent(rate: Decimal | None, against: Decimal | None = None) -> str:
    """ "92.94%" (or more places when the comparison with `against` needs them); "—" for no rate."""
    return "—" if rate is None else f"{printed_rate(rate, against).scaleb(2)}%"
