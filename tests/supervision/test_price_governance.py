"""Price governance (issue 18 item 2): other provinces' prices, the four-same comparison and risk
levels, abnormal price increases, the non-winner red line."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import Conflict, PermissionDenied, ValidationFailed
from ledger.models import Listing
from ledger.services import listings
from ledger.supervision import price_changes
from ledger.supervision.models import Severity, SupervisionWarning
from ledger.supervision.price_models import PriceRisk
from ledger.supervision.prices import (
    import_other_province_prices,
    median_fen,
    normalize,
    peer_prices,
    risk_level,
)
from ledger.supervision.settings import DEFAULTS
from ledger.supervision.warnings import compute_warnings
from tests.ordering import NOW, Market, make_market


def csv_bytes(rows: list[list[str]], header: str | None = None) -> bytes:
    head = (
        header or "通用名,生产企业,生产企业统一社会信用代码,剂型,规格,省份代码,包装价格（元）,价格日期,来源"
    )
    return ("\n".join([head, *(",".join(r) for r in rows)]) + "\n").encode()


@dataclasses.dataclass
class Priced:
    market: Market
    listing: Listing
    product_id: int

    def rows(self, *prices: tuple[str, str, str]) -> bytes:
        """(province, pack price, date) rows of this listing's four-same group."""
        listing = self.listing
        product = listing.product
        maker = self.market.world.manufacturer("C")
        return csv_bytes(
            [
                [
                    product.generic_name,
                    maker.name,
                    "",
                    " 片 剂",
                    product.spec_text,
                    prov,
                    price,
                    day,
                    "某省平台",
                ]
                for prov, price, day in prices
            ]
        )


def priced(session: Session, pack_price_fen: int = 3000) -> Priced:
    """A non-winner (C) of item 0 listed price-linked in 510100; A won at 0.2000 per tablet."""
    market = make_market(session)
    world = market.world
    product_id = world.product("C", world.items[0])
    listing = listings.apply_price_linked(
        session,
        world.actor(world.manufacturer("C")),
        product_id=product_id,
        region_code="510100",
        pack_price_fen=pack_price_fen,
        now=NOW,
    )
    return Priced(market, listing, product_id)


def warnings_of(session: Session, rule: str) -> list[SupervisionWarning]:
    return list(session.scalars(select(SupervisionWarning).where(SupervisionWarning.rule == rule)))


def test_normalize_folds_full_width_and_spaces() -> None:
    assert normalize(" 20ｍｇ × 28 片 ") == normalize("20mg×28片") == "20mg×28片"


def test_median_of_an_even_count_is_rounded_half_up_once() -> None:
    assert median_fen([2400]) == 2400
    assert median_fen([2500, 2400, 9999]) == 2500
    assert median_fen([2400, 2501]) == 2451  # 2450.5 → 2451
    assert median_fen([2400, 2500]) == 2450


@pytest.mark.parametrize(
    ("price", "expected"),
    [(2880, PriceRisk.YELLOW), (2881, PriceRisk.RED), (2500, PriceRisk.GREEN), (2501, PriceRisk.YELLOW)],
)
def test_risk_level_boundaries(price: int, expected: PriceRisk) -> None:
    # lowest 2400 × 1.20 = 2880: at it is not red; median 2500 + 0 %: at it is green.
    assert risk_level(price, 2400, 2500, DEFAULTS) is expected


def test_nothing_to_compare_is_none() -> None:
    assert risk_level(100, None, None, DEFAULTS) is PriceRisk.NONE


def test_import_compares_with_the_latest_price_of_every_other_province(session: Session) -> None:
    p = priced(session)
    bureau = p.market.world.bureau
    data = p.rows(
        ("440000", "24.00", "2026-04-01"),
        ("330000", "20.00", "2026-01-01"),  # older price of Zhejiang: replaced by the next row
        ("330000", "25.00", "2026-04-15"),
        ("510000", "10.00", "2026-04-15"),  # this province: not a peer
    )
    assert (
        import_other_province_prices(session, bureau, data=data, filename="p.csv", settings=DEFAULTS, now=NOW)
        == 4
    )
    assert [(x.province_code, x.pack_price_fen) for x in peer_prices(session, p.listing)] == [
        ("330000", 2500),
        ("440000", 2400),
    ]
    listing = session.get_one(Listing, p.listing.id)
    assert (listing.peer_lowest_fen, listing.peer_median_fen, listing.peer_count) == (2400, 2450, 2)
    assert listing.price_risk == PriceRisk.RED
    assert listing.red_line_fen == 3000  # 0.2000 × 1.5 × 100 tablets

    # The same file again: 409, nothing written.
    with pytest.raises(Conflict):
        import_other_province_prices(session, bureau, data=data, filename="p.csv", settings=DEFAULTS, now=NOW)


def test_bad_cells_are_named_and_nothing_is_written(session: Session) -> None:
    p = priced(session)
    data = p.rows(
        ("440000", "24.00", "2026-04-01"), ("990000", "-1", "yesterday"), ("330000", "1.234", "2026-04-01")
    )
    with pytest.raises(ValidationFailed) as exc:
        import_other_province_prices(
            session, p.market.world.bureau, data=data, filename="p.csv", settings=DEFAULTS, now=NOW
        )
    assert set(exc.value.fields) == {
        "row 3.province_code",
        "row 3.pack_price",
        "row 3.price_on",
        "row 4.pack_price",
    }
    assert peer_prices(session, p.listing) == []


def test_only_the_bureau_imports(session: Session) -> None:
    p = priced(session)
    maker = p.market.world.actor(p.market.world.manufacturer("C"))
    with pytest.raises(PermissionDenied):
        import_other_province_prices(
            session,
            maker,
            data=p.rows(("440000", "1", "2026-04-01")),
            filename="p.csv",
            settings=DEFAULTS,
            now=NOW,
        )


@pytest.mark.parametrize(("lowest", "severity"), [("25.01", None), ("25.00", None), ("24.99", Severity.HIGH)])
def test_price_risk_rule_red_boundary(session: Session, lowest: str, severity: Severity | None) -> None:
    # Listed at 30.00: red above 25.00 × 1.20 = 30.00; a single province is also the median, so
    # below/at red it is yellow (MEDIUM) with the default yellow 0 %.
    p = priced(session)
    import_other_province_prices(
        session,
        p.market.world.bureau,
        data=p.rows(("440000", lowest, "2026-04-01")),
        filename="p.csv",
        settings=DEFAULTS,
        now=NOW,
    )
    compute_warnings(session, now=NOW, settings=DEFAULTS, rules=["price_risk"])
    found = warnings_of(session, "price_risk")
    assert [w.severity for w in found] == [severity or Severity.MEDIUM]
    assert found[0].org_id == p.market.world.manufacturer("C").id
    assert found[0].subject_id == p.listing.id


@pytest.mark.parametrize(("price", "fires"), [(2999, False), (3000, False), (3001, True)])
def test_non_winner_red_line_boundary(session: Session, price: int, fires: bool) -> None:
    priced(session, pack_price_fen=price)
    compute_warnings(session, now=NOW, settings=DEFAULTS, rules=["non_winner_red_line"])
    found = warnings_of(session, "non_winner_red_line")
    assert bool(found) is fires
    if fires:
        assert found[0].threshold == "30.00"
        assert found[0].severity is Severity.HIGH


def test_red_line_follows_the_setting(session: Session) -> None:
    priced(session, pack_price_fen=2500)
    settings = dataclasses.replace(DEFAULTS, non_winner_red_line_multiple=Decimal("1.2"))
    compute_warnings(session, now=NOW, settings=settings, rules=["non_winner_red_line"])
    assert [w.value for w in warnings_of(session, "non_winner_red_line")] == ["25.00"]


def test_price_increase_is_off_by_default(session: Session) -> None:
    p = priced(session, pack_price_fen=2000)
    maker = p.market.world.actor(p.market.world.manufacturer("C"))
    price_changes.change_listing_price(
        session, maker, p.listing.id, pack_price_fen=2900, now=NOW + timedelta(days=1)
    )
    compute_warnings(session, now=NOW + timedelta(days=2), settings=DEFAULTS, rules=["price_increase"])
    assert warnings_of(session, "price_increase") == []


@pytest.mark.parametrize(("new_price", "fires"), [(2199, False), (2200, False), (2201, True)])
def test_price_increase_boundary(session: Session, new_price: int, fires: bool) -> None:
    # Lowest in the window 20.00, +10 %: 22.00 is at the threshold.
    p = priced(session, pack_price_fen=2000)
    maker = p.market.world.actor(p.market.world.manufacturer("C"))
    price_changes.change_listing_price(
        session, maker, p.listing.id, pack_price_fen=new_price, now=NOW + timedelta(days=1)
    )
    settings = dataclasses.replace(DEFAULTS, price_max_increase_pct=10, price_window_days=30)
    compute_warnings(session, now=NOW + timedelta(days=2), settings=settings, rules=["price_increase"])
    assert bool(warnings_of(session, "price_increase")) is fires


def test_an_increase_outside_the_window_is_not_abnormal(session: Session) -> None:
    p = priced(session, pack_price_fen=2000)
    maker = p.market.world.actor(p.market.world.manufacturer("C"))
    price_changes.change_listing_price(
        session, maker, p.listing.id, pack_price_fen=3000, now=NOW + timedelta(days=1)
    )
    settings = dataclasses.replace(DEFAULTS, price_max_increase_pct=10, price_window_days=30)
    compute_warnings(session, now=NOW + timedelta(days=40), settings=settings, rules=["price_increase"])
    assert warnings_of(session, "price_increase") == []


def test_price_change_keeps_the_cap_and_refuses_others(session: Session) -> None:
    p = priced(session, pack_price_fen=2000)
    world = p.market.world
    with pytest.raises(ValidationFailed):
        price_changes.change_listing_price(
            session, world.actor(world.manufacturer("C")), p.listing.id, pack_price_fen=0, now=NOW
        )
    from core.errors import NotFound

    with pytest.raises(NotFound):
        price_changes.change_listing_price(
            session, world.actor(world.manufacturer("A")), p.listing.id, pack_price_fen=100, now=NOW
        )
    assert session.get_one(Listing, p.listing.id).pack_price_fen == 2000


def test_english_headers_and_a_unit_price_are_read(session: Session) -> None:
    # A unit price of 0.2500 × 100 tablets = 25.00 per pack; the USCC names the manufacturer.
    p = priced(session)
    product, maker = p.listing.product, p.market.world.manufacturer("C")
    header = "generic_name,manufacturer_uscc,dosage_form,spec,province_code,unit_price,price_on,source"
    data = csv_bytes(
        [
            [
                product.generic_name,
                maker.uscc,
                "片剂",
                product.spec_text,
                "440000",
                "0.2500",
                "2026-04-01",
                "GD",
            ]
        ],
        header=header,
    )
    import_other_province_prices(
        session, p.market.world.bureau, data=data, filename="p.csv", settings=DEFAULTS, now=NOW
    )
    assert [x.pack_price_fen for x in peer_prices(session, p.listing)] == [2500]
