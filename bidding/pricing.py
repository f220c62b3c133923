"""Unit comparable price (单位可比价) of a bid: pack price → unit price → price-ratio conversion (§1.4)."""

from __future__ import annotations

from decimal import Decimal

from bidding import rules
from bidding.models import BatchItem, Product, RatioKind


def spec_quantity(item: BatchItem, product: Product) -> Decimal:
    """The quantity the price-ratio rule compares: fill volume for 装量 items, else strength."""
    if item.ratio_kind is RatioKind.FILL_VOLUME:
        return Decimal(product.fill_volume_ml or "0")
    return Decimal(product.strength_value)


def coefficient(ruleset: rules.RuleSet, item: BatchItem) -> Decimal | None:
    if item.ratio_kind is RatioKind.NONE:
        return None
    return ruleset.price_ratio_coefficients[item.ratio_kind.value]


def comparable_of(
    ruleset: rules.RuleSet, item: BatchItem, product: Product, unit_price_e4: int
) -> tuple[int, Decimal]:
    """(单位可比价 in yuan×10⁴, K) of a unit price of `product` for `item` (§1.4)."""
    coef = coefficient(ruleset, item)
    rep = Decimal(item.rep_strength_value)
    spec = spec_quantity(item, product)
    if coef is None or spec == rep:
        return unit_price_e4, Decimal(1)
    k = rules.price_ratio_k(coef, spec / rep)
    return rules.unit_comparable_e4(
        unit_price_e4, spec_quantity=spec, representative_quantity=rep, coefficient=coef
    ), k
