"""Shipments to attach codes to, made through the ordering services (tests/ordering.py's market)."""

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy.orm import Session

from core.actors import Actor
from core.organizations import User
from ledger.models import ShipmentLine
from ledger.services import ordering
from ledger.services.ordering import LineRequest, ShipRequest, Urgency
from tests.factories import bearer
from tests.ordering import EXPIRY, NOW, Market, make_market


@pytest.fixture
def market(session: Session, monkeypatch: pytest.MonkeyPatch) -> Market:
    monkeypatch.setattr("core.clock.now", lambda: NOW)
    return make_market(session)


def headers(session: Session, actor: Actor) -> dict[str, str]:
    return bearer(session, session.get_one(User, actor.user_id))


def domestic(n: int, start: int = 0) -> list[str]:
    return [f"8{i:019d}" for i in range(start, start + n)]


@pytest.fixture
def shipped(session: Session, market: Market) -> Callable[..., ShipmentLine]:
    """A shipment line of `packs` packs, in transit (hospital and distributor of the market)."""

    def make(packs: int, *, hospital: Actor | None = None, **_: Any) -> ShipmentLine:
        buyer = hospital or market.hospital_actor
        order = ordering.place_orders(
            session,
            buyer,
            distributor_id=market.distributor.id,
            lines=[LineRequest(market.listing.id, packs)],
            urgency=Urgency.NORMAL,
            now=NOW,
        )
        ordering.decide_order(session, market.distributor_actor, order.id, accept=True, reason=None, now=NOW)
        shipment = ordering.ship(
            session,
            market.distributor_actor,
            order.id,
            lines=[ShipRequest(order.lines[0].id, packs, "B1", EXPIRY)],
            now=NOW,
        )
        session.commit()
        return shipment.lines[0]

    return make
