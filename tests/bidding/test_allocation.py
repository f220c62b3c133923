"""The largest-remainder split gives, in integers, exactly what Decimal arithmetic gives."""

from __future__ import annotations

import random
from decimal import ROUND_FLOOR, Decimal

import pytest

from bidding.allocation import region_agreed_volume, split_by_largest_remainder


def _decimal_split(total: int, weights: dict[tuple[str, str, bool], int], ratio: Decimal) -> dict:
    """The rule as written in vbp-rules.md §1.6, in Decimals: floor parts, leftover units to the
    largest fractional parts, ties by key order."""
    exact = {key: ratio * weight for key, weight in weights.items()}
    parts = {key: int(value.to_integral_value(rounding=ROUND_FLOOR)) for key, value in exact.items()}
    for key in sorted(parts, key=lambda k: (-(exact[k] - parts[k]), str(k)))[: total - sum(parts.values())]:
        parts[key] += 1
    return parts


@pytest.mark.parametrize("ratio", ["0.5", "0.6", "0.7", "0.8", "0.85", "0.6667", "1", "0.123456789"])
def test_the_split_equals_the_decimal_rule_to_the_unit(ratio: str) -> None:
    rng = random.Random(ratio)
    for _ in range(40):
        weights = {
            (f"9151{rng.randint(0, 30):04d}", f"P{rng.randint(0, 3)}", rng.random() < 0.1): rng.choice(
                [rng.randint(1, 50_000), 7, 10, 100]  # repeated weights: ties to break by key
            )
            for _ in range(rng.randint(1, 60))
        }
        total = region_agreed_volume(sum(weights.values()), Decimal(ratio))
        split = split_by_largest_remainder(total, weights, Decimal(ratio))
        assert split == _decimal_split(total, weights, Decimal(ratio))
        assert sum(split.values()) == total


def test_a_total_that_does_not_match_the_weights_is_refused() -> None:
    with pytest.raises(ValueError, match="does not match"):
        split_by_largest_remainder(10, {"a": 3, "b": 3}, Decimal("0.5"))
