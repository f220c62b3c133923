"""Payment standard (医保支付标准, vbp-rules.md §1.9): what the insurance fund pays for a product.

From the 4+7 supporting measures (S23, quoting NHSA's 医保配套措施意见):
- a variety with a VBP winner: the winning price is the payment standard;
- a non-winner priced at or above 2 × the winning price: its own price − 30 %;
  below 2 ×: the winning price;
- a product without consistency evaluation: at most the winning price (we use the winning price).

The winning price is per comparable unit, converted to the product's spec with the price-ratio rule
(差比价, §1.4; bidding/pricing.py) and to its pack size (linear). Several winners of the variety
(same generic name and dosage-form group, published batches): the Shanghai batch-11 reading sets
the standard per generic name and dosage form, so the base is the LOWEST winning comparable price
(`settings.payment_standard_base`, "lowest" or "highest"). Every amount is computed exactly and
rounded once, half-up, through core.money.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal, localcontext

from sqlalchemy import select
from sqlalchemy.orm import Session

from bidding import pricing, rules
from bidding.models import Award, BatchItem, BatchStatus, ProcurementBatch, Product
from core.money import E4, FEN, quantize
from ledger.supervision.settings import DEFAULTS, SupervisionSettings

PUBLISHED = (BatchStatus.RESULTS_PUBLISHED, BatchStatus.EXECUTING)


class StandardBasis(enum.StrEnum):
    WINNER = "winning_price"  #: 中选产品：中选价
    WITHIN_MULTIPLE = "within_multiple"  #: 未中选，低于中选价2倍：中选价
    ABOVE_MULTIPLE = "above_multiple"  #: 未中选，达到中选价2倍及以上：原价降30%
    NOT_EVALUATED = "not_evaluated"  #: 未过一致性评价：不高于中选价


@dataclass(frozen=True)
class WinningPrice:
    """The variety's base winning price converted to one product's spec and pack."""

    award_id: int
    pack_fen: int
    unit_e4: int


@dataclass(frozen=True)
class PaymentStandard:
    product_id: int
    basis: StandardBasis
    base_award_id: int
    #: The winning price at this product's spec and pack.
    winning_pack_fen: int
    pack_fen: int
    unit_e4: int


def _k(item: BatchItem, ruleset: rules.RuleSet, spec: Decimal) -> Decimal | None:
    coef = pricing.coefficient(ruleset, item)
    rep = Decimal(item.rep_strength_value)
    if coef is None or spec == rep:
        return Decimal(1)
    if spec <= 0 or rep <= 0:
        return None
    return rules.price_ratio_k(coef, spec / rep)


def winning_price(
    session: Session, product: Product, settings: SupervisionSettings = DEFAULTS
) -> WinningPrice | None:
    """The base winner of the product's variety, its price converted to the product; None when the
    variety has no published winner (no payment standard from VBP)."""
    stmt = (
        select(Award, BatchItem, ProcurementBatch)
        .join(BatchItem, BatchItem.id == Award.item_id)
        .join(ProcurementBatch, ProcurementBatch.id == Award.batch_id)
        .where(
            BatchItem.generic_name == product.generic_name,
            BatchItem.dosage_form_group == product.dosage_form_group,
            ProcurementBatch.status.in_(PUBLISHED),
        )
    )
    highest = settings.payment_standard_base == "highest"
    order = (Award.comparable_e4.desc() if highest else Award.comparable_e4, Award.id)
    row = session.execute(stmt.order_by(*order).limit(1)).first()
    if row is None:
        return None
    award, item, batch = row
    ruleset = rules.RuleSet.from_dict(batch.rules)
    k_product = _k(item, ruleset, pricing.spec_quantity(item, product))
    k_award = _k(item, ruleset, pricing.spec_quantity(item, award.product))
    if k_product is None or k_award is None:
        return None
    with localcontext() as ctx:
        ctx.prec = 40
        # The winner's pack price → per unit of its own spec → the product's spec (÷K_a × K_p) → its pack.
        unit = Decimal(award.pack_price_fen) / 100 / award.product.units_per_pack * k_product / k_award
        return WinningPrice(
            award.id,
            int(quantize(unit * product.units_per_pack, FEN) * 100),
            int(quantize(unit, E4) * 10_000),
        )


def payment_standard(
    session: Session,
    product: Product,
    pack_price_fen: int,
    settings: SupervisionSettings = DEFAULTS,
    *,
    winning: WinningPrice | None = None,
) -> PaymentStandard | None:
    """The payment standard of `product` sold at `pack_price_fen` (§1.9); None without a winner.

    At exactly `payment_standard_high_multiple` × the winning price the −30 % rule applies
    ("≥ 2 ×", §1.9); just below it, the winning price.
    """
    win = winning or winning_price(session, product, settings)
    if win is None:
        return None
    is_winner = session.scalar(select(Award.id).where(Award.product_id == product.id).limit(1)) is not None
    units = product.units_per_pack

    def result(basis: StandardBasis, pack: Decimal) -> PaymentStandard:
        with localcontext() as ctx:
            ctx.prec = 40
            return PaymentStandard(
                product.id,
                basis,
                win.award_id,
                win.pack_fen,
                int(quantize(pack / 100, FEN) * 100),
                int(quantize(pack / 100 / units, E4) * 10_000),
            )

    winning_pack = Decimal(win.pack_fen)
    if is_winner:
        return result(StandardBasis.WINNER, winning_pack)
    if not product.consistency_evaluated:
        return result(StandardBasis.NOT_EVALUATED, winning_pack)
    if Decimal(pack_price_fen) >= settings.payment_standard_high_multiple * winning_pack:
        cut = Decimal(100 - settings.payment_standard_cut_pct) / 100
        return result(StandardBasis.ABOVE_MULTIPLE, Decimal(pack_price_fen) * cut)
    return result(StandardBasis.WITHIN_MULTIPLE, winning_pack)


def standards_for(
    session: Session, priced: list[tuple[Product, int]], settings: SupervisionSettings = DEFAULTS
) -> list[PaymentStandard | None]:
    """Payment standards of many (product, pack price) pairs, each variety's winner looked up once."""
    cache: dict[int, WinningPrice | None] = {}
    out = []
    for product, price in priced:
        if product.id not in cache:
            cache[product.id] = winning_price(session, product, settings)
        win = cache[product.id]
        out.append(None if win is None else payment_standard(session, product, price, settings, winning=win))
    return out
