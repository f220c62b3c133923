"""An order's status is derived from its lines; concurrent writes to sibling lines (receipts of
two lines, a receipt while the rest ships) must not derive it from a stale sibling. PostgreSQL,
real connections, the two transactions overlapping for certain (tests/races.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from app.db import get_db
from core.organizations import User
from ledger.models import Order, OrderLine, ReceiptLine
from ledger.services import ordering
from tests.conftest import Databases
from tests.factories import bearer
from tests.ordering import EXPIRY, NOW, make_market
from tests.races import committed_app, in_session, race

pytestmark = pytest.mark.postgresql_only


@pytest.fixture
def app(databases: Databases, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    monkeypatch.setattr("core.clock.now", lambda: NOW)
    application = committed_app(databases, tmp_path)
    yield application
    get_db(application).engine.dispose()


def _two_line_order(app: Flask, ship: tuple[int, int]) -> tuple[int, list[int], list[int], dict, dict]:
    """An accepted order of two lines (5 and 7 packs), shipped as asked: (order id, order line ids,
    shipment line ids, hospital headers, distributor headers)."""
    with get_db(app).sessionmaker() as s, s.begin():
        market = make_market(s)
        listing = market.listing.id
        order = ordering.place_orders(
            s,
            market.hospital_actor,
            distributor_id=market.distributor.id,
            lines=[ordering.LineRequest(listing, 5), ordering.LineRequest(listing, 7)],
            urgency=ordering.Urgency.NORMAL,
            now=NOW,
        )
        ordering.decide_order(s, market.distributor_actor, order.id, accept=True, reason=None, now=NOW)
        line_ids = [line.id for line in order.lines]
        shipment = ordering.ship(
            s,
            market.distributor_actor,
            order.id,
            lines=[
                ordering.ShipRequest(line_id, qty, "B1", EXPIRY)
                for line_id, qty in zip(line_ids, ship, strict=True)
                if qty
            ],
            now=NOW,
        )
        hospital = bearer(s, s.get_one(User, market.hospital_actor.user_id))
        distributor = bearer(s, s.get_one(User, market.distributor_actor.user_id))
        return order.id, line_ids, [x.id for x in shipment.lines], hospital, distributor


def _state(app: Flask, order_id: int) -> tuple[str, list[str]]:
    with get_db(app).sessionmaker() as s:
        order = s.get_one(Order, order_id)
        lines = s.scalars(select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.id))
        return order.status.value, [line.status.value for line in lines]


def test_two_lines_of_one_order_received_at_once_complete_the_order(app: Flask) -> None:
    order_id, _, (first, second), hospital, _ = _two_line_order(app, (5, 7))
    answers = race(
        app,
        [
            lambda c, sid=sid, qty=qty: c.post(
                f"/api/v1/shipment-lines/{sid}/receipt", headers=hospital, json={"accepted_quantity": qty}
            )
            for sid, qty in ((first, 5), (second, 7))
        ],
        when=lambda s: in_session(s, ReceiptLine),
    )
    assert [a.status for a in answers] == [201, 201], answers
    assert _state(app, order_id) == ("completed", ["completed", "completed"])


def test_a_receipt_while_the_hospital_cancels_the_rest_completes_the_order(app: Flask) -> None:
    order_id, _, (shipped,), hospital, _ = _two_line_order(app, (5, 0))
    answers = race(
        app,
        [
            lambda c: c.post(
                f"/api/v1/shipment-lines/{shipped}/receipt", headers=hospital, json={"accepted_quantity": 5}
            ),
            lambda c: c.post(
                f"/api/v1/orders/{order_id}/cancel", headers=hospital, json={"reason": "不再需要"}
            ),
        ],
        when=lambda s: in_session(s, ReceiptLine, Order),
    )
    assert [a.status for a in answers] == [201, 200], answers
    assert _state(app, order_id) == ("completed", ["completed", "cancelled"])
