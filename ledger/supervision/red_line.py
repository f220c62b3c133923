"""The red-line price (红线价) of a listing outside volume-based procurement (vbp-rules.md §1.7, §8).

Batch 9 lets winners outside their primary and backup regions list at ≤ 1.5 × their own winning
price (§1.7 [SECONDARY] S25); Sichuan monitors non-winners bought above the red-line price (§8
[OFFICIAL] S27). Here the base is the variety's LOWEST winning unit comparable price (单位可比价)
over every published batch with an item of the same generic name and dosage-form group, so one
red line holds for every product of the variety; it is converted to the listing product's own
specification with the item's price-ratio rule (bidding/pricing.py, K = c^log₂X) and pack size,
multiplied by `settings.non_winner_red_line_multiple`, and rounded once to the fen (half-up).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bidding import rules
from bidding.models import Award, BatchItem, BatchStatus, ProcurementBatch, Product
from bidding.pricing import coefficient, spec_quantity
from core.money import e4_to_decimal, to_fen
from ledger.models import Listing, ListingMode
from ledger.supervision.settings import SupervisionSettings

PUBLISHED = (BatchStatus.RESULTS_PUBLISHED, BatchStatus.EXECUTING, BatchStatus.CLOSED)


@dataclass(frozen=True)
class WinningBase:
    award_id: int
    item: BatchItem
    ruleset: rules.RuleSet
    comparable_e4: int


def winning_base(session: Session, product: Product) -> WinningBase | None:
    """The variety's lowest winning unit comparable price, and the item it belongs to."""
    row = session.execute(
        select(Award.id, BatchItem, ProcurementBatch.rules, Award.comparable_e4)
        .join(BatchItem, BatchItem.id == Award.item_id)
        .join(ProcurementBatch, ProcurementBatch.id == Award.batch_id)
        .where(
            BatchItem.generic_name == product.generic_name,
            BatchItem.dosage_form_group == product.dosage_form_group,
            ProcurementBatch.status.in_(PUBLISHED),
            Award.comparable_e4 > 0,
        )
        .order_by(Award.comparable_e4, Award.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    award_id, item, ruleset, comparable = row
    return WinningBase(award_id, item, rules.RuleSet.from_dict(ruleset), comparable)


def product_k(base: WinningBase, product: Product) -> Decimal:
    coef = coefficient(base.ruleset, base.item)
    rep = Decimal(base.item.rep_strength_value)
    spec = spec_quantity(base.item, product)
    if coef is None or spec <= 0 or rep <= 0 or spec == rep:
        return Decimal(1)
    return rules.price_ratio_k(coef, spec / rep)


def red_line_fen(session: Session, listing: Listing, *, settings: SupervisionSettings) -> int | None:
    """The listing's red-line price per pack, or None (volume-based, or no winner of the variety)."""
    if listing.mode is ListingMode.VOLUME_BASED:
        return None
    return product_red_line_fen(session, session.get_one(Product, listing.product_id), settings=settings)


def product_red_line_fen(session: Session, product: Product, *, settings: SupervisionSettings) -> int | None:
    """The red-line price per pack of `product`, or None when its variety has no winner."""
    base = winning_base(session, product)
    if base is None:
        return None
    per_unit = e4_to_decimal(base.comparable_e4) * product_k(base, product)
    return to_fen(per_unit * product.units_per_pack * settings.non_winner_red_line_multiple)
