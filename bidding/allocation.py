"""Agreed volume per hospital: the region figure is rounded once (vbp-rules.md §1.6), then shared
among the region's hospitals (and suppliers) by largest remainder so the parts sum to it exactly."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from decimal import Decimal
from typing import TypeVar

from core.money import quantize

K = TypeVar("K", bound=Hashable)


def region_agreed_volume(base: int, ratio: Decimal) -> int:
    """ratio × the region's reported base, rounded half-up once per region (§1.6, E6)."""
    return int(quantize(ratio * base, Decimal(1)))


def split_by_largest_remainder(total: int, weights: Mapping[K, int], ratio: Decimal) -> dict[K, int]:
    """Share `total` (= region_agreed_volume of the weights' sum) in proportion to `weights`.

    Each part gets floor(ratio × weight); the units left over go to the largest fractional parts,
    ties broken by key order, so the result is deterministic and sums exactly to `total`.
    """
    # In integers: ratio = p/q exactly (a Decimal is a fraction with a power-of-ten
    # denominator), so floor(ratio × w) = w·p // q and the fractional part is (w·p mod q)/q: the
    # same parts and the same order as Decimal arithmetic, without a Decimal per weight.
    p, q = ratio.as_integer_ratio()
    parts: dict[K, int] = {}
    remainders: dict[K, int] = {}
    for key, weight in weights.items():
        parts[key], remainders[key] = divmod(weight * p, q)
    left = total - sum(parts.values())
    if left < 0 or left > len(parts):
        raise ValueError("total does not match ratio × weights")
    if left:
        for key in sorted(parts, key=lambda k: (-remainders[k], str(k)))[:left]:
            parts[key] += 1
    return parts
