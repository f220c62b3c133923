"""Credit linkage (信用评价联动, vbp-rules.md §7.1, §7.2): each grade's consequences in this province,
repair restoring only its own suspensions, retries not applying twice, messages delivered."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.errors import Conflict, InvalidState
from core.messages import Message
from ledger.models import DistributionAuthorization, Listing, ListingStatus
from ledger.services import listings
from ledger.supervision import credit_linkage as linkage
from ledger.supervision.credit_models import CreditSuspension
from tests.ordering import NOW, Market, make_market

HOME = "510000"


@pytest.fixture
def market(session: Session) -> Market:
    return make_market(session)


def _rate(
    market: Market,
    enterprise_id: int,
    *,
    cause: str,
    amount_fen: int | None,
    products: list[int],
    province: str = HOME,
    now=NOW,
) -> linkage.Linkage:  # type: ignore[no-untyped-def]
    return linkage.record_rating(
        market.session,
        market.world.bureau,
        home_province=HOME,
        enterprise_id=enterprise_id,
        province_code=province,
        cause=cause,
        amount_fen=amount_fen,
        product_ids=products,
        effective_on=now.date(),
        now=now,
    )


def _other_listing(market: Market, strength: str = "20") -> Listing:
    """Another product of manufacturer A, listed price-linked in the hospital's region."""
    maker = market.world.manufacturer("A")
    product_id = market.world.product("A", market.world.items[0], strength=strength)
    return listings.apply_price_linked(
        market.session,
        market.world.actor(maker),
        product_id=product_id,
        region_code="510100",
        pack_price_fen=5000,
        now=NOW,
        hold_flagged=False,
    )


def _statuses(session: Session, *rows: Listing) -> list[ListingStatus]:
    for row in rows:
        session.refresh(row)
    return [row.status for row in rows]


SERIOUS = {"cause": "bribery", "amount_fen": 50 * 10_000 * 100}  # 50万: 严重失信 (§7.2)
TOP = {"cause": "bid_rigging_national_vbp", "amount_fen": None}  # 顶格: 特别严重失信
SHIXIN = {"cause": "tax", "amount_fen": 5 * 10_000 * 100}  # 5万: 失信


def test_shixin_suspends_nothing(market: Market, session: Session) -> None:
    maker = market.world.manufacturer("A")
    done = _rate(market, maker.id, products=[market.listing.product_id], **SHIXIN)
    assert done.listing_ids == ()
    assert _statuses(session, market.listing) == [ListingStatus.LISTED]


def test_serious_suspends_the_involved_products_and_tells_enterprise_and_recent_buyers(
    market: Market, session: Session
) -> None:
    market.order(5)  # the hospital bought this listing recently
    other = _other_listing(market)
    maker = market.world.manufacturer("A")
    done = _rate(market, maker.id, products=[market.listing.product_id], **SERIOUS)
    assert market.listing.id in done.listing_ids
    assert other.id not in done.listing_ids
    assert _statuses(session, market.listing, other) == [ListingStatus.SUSPENDED, ListingStatus.LISTED]
    assert f"#{done.rating.id}" in (market.listing.status_reason or "")
    kinds = {(m.org_id, m.kind) for m in session.scalars(select(Message))}
    assert (maker.id, "credit_suspended") in kinds
    assert (market.hospital.id, "credit_buy_elsewhere") in kinds
    assert (market.other_hospital.id, "credit_buy_elsewhere") not in kinds  # never ordered it


def test_serious_of_another_province_suspends_nothing_here(market: Market, session: Session) -> None:
    maker = market.world.manufacturer("A")
    done = _rate(market, maker.id, products=[market.listing.product_id], province="440000", **SERIOUS)
    assert done.listing_ids == ()


def test_particularly_serious_suspends_all_listings_here(market: Market, session: Session) -> None:
    other = _other_listing(market)
    maker = market.world.manufacturer("A")
    _rate(market, maker.id, products=[], **TOP)
    assert _statuses(session, market.listing, other) == [ListingStatus.SUSPENDED] * 2
    b_listings = session.scalars(select(Listing).where(Listing.manufacturer_id != maker.id)).all()
    assert b_listings
    assert {x.status for x in b_listings} == {ListingStatus.LISTED}


def test_particularly_serious_elsewhere_suspends_only_the_products_involved_here(
    market: Market, session: Session
) -> None:
    other = _other_listing(market)
    maker = market.world.manufacturer("A")
    _rate(market, maker.id, products=[market.listing.product_id], province="440000", **TOP)
    assert _statuses(session, market.listing, other) == [ListingStatus.SUSPENDED, ListingStatus.LISTED]


def test_repair_restores_only_what_no_other_rating_holds(market: Market, session: Session) -> None:
    other = _other_listing(market)
    maker = market.world.manufacturer("A")
    bureau_held = _other_listing(market, "30")
    listings.change_listing_status(
        session, market.world.bureau, bureau_held.id, to=ListingStatus.SUSPENDED, reason="医保局暂停", now=NOW
    )
    serious = _rate(market, maker.id, products=[market.listing.product_id], **SERIOUS).rating
    top = _rate(market, maker.id, products=[], now=NOW + timedelta(days=1), **TOP).rating
    assert _statuses(session, market.listing, other) == [ListingStatus.SUSPENDED] * 2

    first = linkage.repair_rating(session, market.world.bureau, top.id, repaired_on=NOW.date(), now=NOW)
    # The serious rating still holds its product; the other listing was the top rating's alone.
    assert first.listing_ids == (other.id,)
    assert _statuses(session, market.listing, other, bureau_held) == [
        ListingStatus.SUSPENDED,
        ListingStatus.LISTED,
        ListingStatus.SUSPENDED,
    ]
    second = linkage.repair_rating(session, market.world.bureau, serious.id, repaired_on=NOW.date(), now=NOW)
    assert second.listing_ids == (market.listing.id,)
    # The bureau's own suspension is not a rating's to lift.
    assert _statuses(session, market.listing, bureau_held) == [ListingStatus.LISTED, ListingStatus.SUSPENDED]
    assert bureau_held.status_reason == "医保局暂停"
    with pytest.raises(InvalidState):
        linkage.repair_rating(session, market.world.bureau, serious.id, repaired_on=NOW.date(), now=NOW)
    kinds = {(m.org_id, m.kind) for m in session.scalars(select(Message))}
    assert (maker.id, "credit_restored") in kinds


def test_a_retried_rating_does_not_suspend_twice(market: Market, session: Session) -> None:
    maker = market.world.manufacturer("A")
    _rate(market, maker.id, products=[market.listing.product_id], **SERIOUS)
    rows = session.scalar(select(func.count()).select_from(CreditSuspension))
    with pytest.raises(Conflict):
        _rate(market, maker.id, products=[market.listing.product_id], **SERIOUS)
    assert session.scalar(select(func.count()).select_from(CreditSuspension)) == rows


def test_a_distributors_particularly_serious_rating_suspends_its_authorizations(
    market: Market, session: Session
) -> None:
    auth = session.scalars(
        select(DistributionAuthorization).where(
            DistributionAuthorization.distributor_id == market.distributor.id
        )
    ).one()
    done = _rate(market, market.distributor.id, products=[], **TOP)
    session.refresh(auth)
    assert done.authorization_ids == (auth.id,)
    assert not auth.active
    assert _statuses(session, market.listing) == [ListingStatus.LISTED]  # listings are the maker's
    kinds = {(m.org_id, m.kind) for m in session.scalars(select(Message))}
    assert (market.distributor.id, "credit_suspended") in kinds
    assert (market.world.manufacturer("A").id, "credit_distributor_suspended") in kinds
    linkage.repair_rating(session, market.world.bureau, done.rating.id, repaired_on=NOW.date(), now=NOW)
    session.refresh(auth)
    assert auth.active


def test_standing_shows_the_worst_grade_in_force_and_repairs(market: Market, session: Session) -> None:
    maker = market.world.manufacturer("A")
    serious = _rate(market, maker.id, products=[market.listing.product_id], **SERIOUS).rating
    _rate(market, maker.id, products=[], **SHIXIN)
    assert linkage.standings(session, [maker.id])[maker.id] == linkage.CreditStanding("serious", False)
    linkage.repair_rating(session, market.world.bureau, serious.id, repaired_on=NOW.date(), now=NOW)
    assert linkage.standings(session, [maker.id])[maker.id].grade == "shixin"


@pytest.mark.parametrize(("days", "told"), [(89, True), (90, True), (91, False)])
def test_recent_buyers_are_those_of_the_last_90_days(
    market: Market, session: Session, days: int, told: bool
) -> None:
    """An order placed 90 days before the rating still counts ("the last 90 days"); 91 does not."""
    market.order(5)
    maker = market.world.manufacturer("A")
    _rate(market, maker.id, products=[market.listing.product_id], now=NOW + timedelta(days=days), **SERIOUS)
    kinds = {(m.org_id, m.kind) for m in session.scalars(select(Message))}
    assert ((market.hospital.id, "credit_buy_elsewhere") in kinds) is told
