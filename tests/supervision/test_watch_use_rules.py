"""Use-monitoring rules: each at a value just below, at and above its threshold."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from ledger.services import authorizations, listings, ordering
from ledger.services.ordering import LineRequest, ShipRequest, Urgency
from ledger.supervision.settings import DEFAULTS
from ledger.supervision.use_rules import (
    implausibly_fast,
    non_winner_share,
    receipt_unconfirmed,
    volume_lag,
)
from ledger.supervision.warnings import compute_warnings
from tests.flows import at, buy
from tests.ordering import EXPIRY, Market, make_market

DAY = date(2026, 6, 1)


@pytest.fixture
def market(session: Session) -> Market:
    return make_market(session)


def _with(**values: object) -> object:
    return dataclasses.replace(DEFAULTS, **values)


def _non_winner_listing(m: Market) -> object:
    """A non-winning product of the same generic (manufacturer C), price-linked in the region, its
    distributor authorized."""
    world = m.world
    product = world.product("C", world.items[0])
    maker = world.actor(world.manufacturer("C"))
    listing = listings.apply_price_linked(
        m.session, maker, product_id=product, region_code="510100", pack_price_fen=2500, now=at(DAY)
    )
    authorizations.authorize_distributor(
        m.session, maker, distributor_id=m.distributor.id, product_id=None, region_code="510100", now=at(DAY)
    )
    return listing


def test_non_winner_share_below_at_and_above_its_threshold(market: Market, session: Session) -> None:
    other = _non_winner_listing(market)
    buy(market, 4, on=DAY)  # winner: 4 packs
    buy(market, 1, on=DAY, listing=other)  # non-winner: 1 pack of as many units → 20 %
    now = at(DAY + timedelta(days=1))

    def found(pct: int) -> list:
        return [
            f
            for f in non_winner_share(session, now, _with(non_winner_share_pct=pct))
            if f.org_id == market.hospital.id
        ]

    above = found(19)
    assert [f.value for f in above] == ["20.00"]
    assert above[0].facts["winner_share_pct"] == "80.00"
    assert above[0].records[0][0] == "order_line"
    assert found(20) == []  # at: not flagged
    assert found(21) == []
    # Outside the window the purchases no longer count.
    late = at(DAY + timedelta(days=DEFAULTS.window_days + 1))
    assert list(non_winner_share(session, late, _with(non_winner_share_pct=0))) == []


def test_volume_lag_below_at_and_above_its_threshold(market: Market, session: Session) -> None:
    # 73 of the cycle year's 365 days: 序时进度 exactly 20.00 %, nothing bought: 20 points behind.
    now = at(date(2026, 5, 1) + timedelta(days=73))

    def found(points: int) -> list:
        return [
            f
            for f in volume_lag(session, now, _with(volume_lag_points=points))
            if f.org_id == market.hospital.id
        ]

    above = found(19)
    assert {f.value for f in above} == {"20.00"}
    assert above[0].facts["time_elapsed_pct"] == "20.00"
    assert found(20) == []  # at: not flagged
    assert found(21) == []


def test_receipt_unconfirmed_below_at_and_above_its_threshold(market: Market, session: Session) -> None:
    order = market.order(5, now=at(DAY))
    ordering.decide_order(session, market.distributor_actor, order.id, accept=True, reason=None, now=at(DAY))
    shipment = ordering.ship(
        session,
        market.distributor_actor,
        order.id,
        lines=[ShipRequest(order.lines[0].id, 5, "B1", EXPIRY)],
        now=at(DAY),
    )
    days = DEFAULTS.receipt_unconfirmed_days
    assert list(receipt_unconfirmed(session, at(DAY + timedelta(days=days - 1)), DEFAULTS)) == []
    (at_limit,) = receipt_unconfirmed(session, at(DAY + timedelta(days=days)), DEFAULTS)  # at: flagged
    assert (at_limit.subject_id, at_limit.org_id, at_limit.value) == (
        shipment.id,
        market.hospital.id,
        str(days),
    )
    (above,) = receipt_unconfirmed(session, at(DAY + timedelta(days=days + 1)), DEFAULTS)
    assert above.value == str(days + 1)
    # Confirmed: cleared by the daily job.
    summary = compute_warnings(
        session, now=at(DAY + timedelta(days=days)), settings=DEFAULTS, rules=["receipt_unconfirmed"]
    )
    assert summary.raised == {"receipt_unconfirmed": 1}
    ordering.confirm_receipt(
        session,
        market.hospital_actor,
        shipment.lines[0].id,
        accepted=5,
        rejected=0,
        reason_code=None,
        now=at(DAY + timedelta(days=days + 1)),
    )
    summary = compute_warnings(
        session, now=at(DAY + timedelta(days=days + 1)), settings=DEFAULTS, rules=["receipt_unconfirmed"]
    )
    assert summary.cleared == {"receipt_unconfirmed": 1}


def _order_with_receipt_after(m: Market, minutes: int, on: date) -> None:
    t0 = at(on)
    order = ordering.place_orders(
        m.session,
        m.hospital_actor,
        distributor_id=m.distributor.id,
        lines=[LineRequest(m.listing.id, 3)],
        urgency=Urgency.NORMAL,
        now=t0,
    )
    ordering.decide_order(m.session, m.distributor_actor, order.id, accept=True, reason=None, now=t0)
    shipped = ordering.ship(
        m.session,
        m.distributor_actor,
        order.id,
        lines=[ShipRequest(order.lines[0].id, 3, "B1", EXPIRY)],
        now=t0,
    )
    ordering.confirm_receipt(
        m.session,
        m.hospital_actor,
        shipped.lines[0].id,
        accepted=3,
        rejected=0,
        reason_code=None,
        now=t0 + timedelta(minutes=minutes),
    )


def test_implausibly_fast_below_at_and_above_its_threshold(market: Market, session: Session) -> None:
    _order_with_receipt_after(market, 15, DAY)  # the slowest step: 15 minutes after the order
    now = at(DAY + timedelta(days=1))

    def found(minutes: int) -> list:
        return [
            f
            for f in implausibly_fast(session, now, _with(implausible_minutes=minutes))
            if f.org_id == market.distributor.id
        ]

    (within,) = found(16)
    assert (within.value, within.facts["completed_orders"]) == ("15.00", 1)
    assert [f.value for f in found(15)] == ["15.00"]  # at: flagged
    assert found(14) == []
    # One ordinary order (a step an hour later) clears the distributor.
    _order_with_receipt_after(market, 60, DAY)
    assert found(16) == []


def test_implausibly_fast_needs_a_completed_order(market: Market, session: Session) -> None:
    order = market.order(5, now=at(DAY))
    ordering.decide_order(session, market.distributor_actor, order.id, accept=True, reason=None, now=at(DAY))
    now: datetime = at(DAY + timedelta(days=1))
    assert [f for f in implausibly_fast(session, now, DEFAULTS) if f.org_id == market.distributor.id] == []
