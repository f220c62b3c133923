"""Payment standard (支付标准, vbp-rules.md §1.9): the winning price, the 2× rule's boundary, 差比价
conversion to another spec, products without consistency evaluation, the base-winner setting."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from bidding import rules
from bidding.models import Product
from ledger.supervision.payment_standard import StandardBasis, payment_standard
from ledger.supervision.settings import DEFAULTS, SupervisionSettings
from tests.ordering import Market, make_market


@pytest.fixture
def market(session: Session) -> Market:
    return make_market(session)  # item 0: A wins at 0.2000 a 10 mg tablet (packs of 100: 20.00)


def _product(market: Market, name: str = "C", **kw: object) -> Product:
    return market.session.get_one(Product, market.world.product(name, market.world.items[0], **kw))


def test_a_winner_is_paid_its_winning_price(market: Market, session: Session) -> None:
    std = payment_standard(session, market.award.product, 2000)
    assert std is not None
    assert (std.basis, std.pack_fen, std.unit_e4, std.base_award_id) == (
        StandardBasis.WINNER,
        2000,
        2000,
        market.award.id,
    )


@pytest.mark.parametrize(
    ("price", "basis", "standard"),
    [
        (3999, StandardBasis.WITHIN_MULTIPLE, 2000),  # just below 2 ×: the winning price
        (4000, StandardBasis.ABOVE_MULTIPLE, 2800),  # at 2 ×: own price − 30 % ("≥ 2 ×", §1.9)
        (4001, StandardBasis.ABOVE_MULTIPLE, 2801),  # 2800.7 fen, half-up once
    ],
)
def test_the_two_times_rule_at_its_boundary(
    market: Market, session: Session, price: int, basis: StandardBasis, standard: int
) -> None:
    std = payment_standard(session, _product(market), price)
    assert std is not None
    assert (std.basis, std.winning_pack_fen, std.pack_fen) == (basis, 2000, standard)


def test_another_spec_is_converted_by_the_price_ratio_rule(market: Market, session: Session) -> None:
    product = _product(market, strength="20", units=28)
    std = payment_standard(session, product, 100)
    coef = rules.RuleSet.from_dict(market.world.batch.rules).price_ratio_coefficients["content"]
    unit = Decimal("0.2") * rules.price_ratio_k(coef, Decimal(2))
    assert std is not None
    assert std.basis is StandardBasis.WITHIN_MULTIPLE
    assert std.unit_e4 == int((unit * 10_000).quantize(Decimal(1), rounding="ROUND_HALF_UP"))
    assert std.pack_fen == int((unit * 28 * 100).quantize(Decimal(1), rounding="ROUND_HALF_UP"))


def test_a_product_without_consistency_evaluation_gets_at_most_the_winning_price(
    market: Market, session: Session
) -> None:
    std = payment_standard(session, _product(market, consistency_evaluated=False), 9000)
    assert std is not None
    assert (std.basis, std.pack_fen) == (StandardBasis.NOT_EVALUATED, 2000)


def test_the_base_winner_is_a_setting(market: Market, session: Session) -> None:
    highest = dataclasses.replace(DEFAULTS, payment_standard_base="highest")
    std = payment_standard(session, _product(market), 100, highest)
    assert std is not None
    assert std.winning_pack_fen == 3000


def test_no_winner_no_standard(market: Market, session: Session) -> None:
    product = _product(market)  # renamed below: a generic name with no VBP winner
    product.generic_name = "别的药"
    session.flush()
    assert payment_standard(session, product, 100) is None


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("VBP_SUP_PAYMENT_STANDARD_BASE", "median"),
        ("VBP_SUP_PAYMENT_STANDARD_CUT_PCT", "101"),
        ("VBP_SUP_PAYMENT_STANDARD_HIGH_MULTIPLE", "0.5"),
    ],
)
def test_bad_settings_name_the_variable(name: str, raw: str) -> None:
    with pytest.raises(ValueError, match=name):
        SupervisionSettings.from_env({name: raw})
