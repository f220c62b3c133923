"""A shared order (one hospital, one distributor, products of two manufacturers): the hospital,
its distributor and the bureau see every line; a manufacturer only the lines of its products,
with counts, amounts and status of those lines only, in the API, the summaries and the pages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.actors import Actor, Role
from core.organizations import User
from ledger.models import Order, OrderStatus
from ledger.services import authorizations, listings, ordering
from tests.factories import actor_of, bearer, make_user
from tests.ordering import EXPIRY, NOW, Market, make_market
from tests.tendering import AT_OPENING
from tests.web.test_pages import web_login

#: B's line: a price and a quantity that appear nowhere else in the scenario.
#: The other manufacturer's line: a price and a quantity no id or count of the run is likely to be
#: (the quantity is looked for as a whole number, so "1731" as an id is not a leak).
B_PRICE, B_QUANTITY = "77.31", 73_193


@dataclass
class Shared:
    market: Market
    order: Order
    maker_a: Actor
    maker_b: Actor
    b_product_name: str


@pytest.fixture
def shared(session: Session, monkeypatch: pytest.MonkeyPatch) -> Shared:
    monkeypatch.setattr("core.clock.now", lambda: NOW)
    market = make_market(session)
    world = market.world
    maker_a = world.actor(world.manufacturer("A"))
    maker_b = actor_of(make_user(session, world.manufacturer("B"), Role.OPERATOR))
    b_product = world.product("B", world.items[0], strength="20")
    filed = listings.file_purchase(
        session, market.hospital_actor, product_id=b_product, pack_price_fen=7731, reason="临床急需", now=NOW
    )
    authorizations.authorize_distributor(
        session,
        maker_b,
        distributor_id=market.distributor.id,
        product_id=None,
        region_code="510100",
        now=AT_OPENING,
    )
    order = ordering.place_orders(
        session,
        market.hospital_actor,
        distributor_id=market.distributor.id,
        lines=[ordering.LineRequest(market.listing.id, 10), ordering.LineRequest(filed.id, B_QUANTITY)],
        urgency=ordering.Urgency.NORMAL,
        note="两个厂家的货请一起送",
        now=NOW,
    )
    ordering.decide_order(session, market.distributor_actor, order.id, accept=True, reason=None, now=NOW)
    b_line = next(line for line in order.lines if line.listing_id == filed.id)
    ordering.ship(
        session,
        market.distributor_actor,
        order.id,
        lines=[ordering.ShipRequest(b_line.id, B_QUANTITY, "B20260101", EXPIRY)],
        now=NOW,
    )
    session.commit()
    return Shared(market, order, maker_a, maker_b, filed.product.generic_name + " " + filed.product.spec_text)


def _api(client: FlaskClient, session: Session, actor: Actor, url: str) -> Any:
    response = client.get(url, headers=bearer(session, session.get_one(User, actor.user_id)))
    assert response.status_code == 200, response.get_json()
    return response


def test_a_manufacturer_reads_only_its_own_lines_of_a_shared_order(
    client: FlaskClient, session: Session, shared: Shared
) -> None:
    a, b = shared.market.world.manufacturer("A"), shared.market.world.manufacturer("B")
    seen_by_a = _api(client, session, shared.maker_a, f"/api/v1/orders/{shared.order.id}")
    assert {line["manufacturer_id"] for line in seen_by_a.get_json()["lines"]} == {a.id}
    assert [line["quantity"] for line in seen_by_a.get_json()["lines"]] == [10]
    assert B_PRICE not in seen_by_a.get_data(as_text=True)
    # A's line is open: A sees its lines' status, not that the order moved on with B's shipment.
    assert seen_by_a.get_json()["status"] == "accepted"
    assert seen_by_a.get_json()["note"] is None  # the hospital's note to its distributor
    seen_by_b = _api(client, session, shared.maker_b, f"/api/v1/orders/{shared.order.id}").get_json()
    assert [(x["manufacturer_id"], x["quantity"], x["pack_price"]) for x in seen_by_b["lines"]] == [
        (b.id, B_QUANTITY, B_PRICE)
    ]
    assert seen_by_b["status"] == "shipped"


@pytest.mark.parametrize("who", ["hospital", "distributor", "bureau"])
def test_the_hospital_its_distributor_and_the_bureau_see_the_whole_order(
    client: FlaskClient, session: Session, shared: Shared, who: str
) -> None:
    market = shared.market
    actor = {
        "hospital": market.hospital_actor,
        "distributor": market.distributor_actor,
        "bureau": market.world.bureau,
    }[who]
    body = _api(client, session, actor, f"/api/v1/orders/{shared.order.id}").get_json()
    assert sorted(line["quantity"] for line in body["lines"]) == [10, B_QUANTITY]
    assert body["status"] == "partially_shipped"
    assert body["note"] == "两个厂家的货请一起送"


def test_the_order_list_shows_a_manufacturer_only_its_own_lines(
    client: FlaskClient, session: Session, shared: Shared
) -> None:
    response = _api(client, session, shared.maker_a, "/api/v1/orders")
    (order,) = [o for o in response.get_json() if o["id"] == shared.order.id]
    assert [line["quantity"] for line in order["lines"]] == [10]
    assert B_PRICE not in response.get_data(as_text=True)
    assert not re.search(rf"(?<![\d.]){B_QUANTITY}(?![\d.])", response.get_data(as_text=True))


def test_order_summaries_count_and_sum_the_callers_lines_only(session: Session, shared: Shared) -> None:
    from ledger.order_views import order_summary, order_view

    market = shared.market
    whole = order_summary(session, market.hospital_actor, shared.order)
    mine = order_summary(session, shared.maker_b, shared.order)
    assert (whole["line_count"], mine["line_count"]) == (2, 1)
    a_amount = 10 * market.listing.pack_price_fen
    assert (whole["amount_fen"], mine["amount_fen"]) == (a_amount + 7731 * B_QUANTITY, 7731 * B_QUANTITY)
    assert order_summary(session, shared.maker_a, shared.order)["amount_fen"] == a_amount
    assert len(order_view(session, shared.maker_a, shared.order).lines) == 1


def test_the_order_page_shows_a_manufacturer_only_its_own_lines(
    app: Flask, session: Session, shared: Shared
) -> None:
    pages: dict[str, str] = {}
    for name, actor in (("A", shared.maker_a), ("distributor", shared.market.distributor_actor)):
        client = app.test_client()
        assert web_login(client, session.get_one(User, actor.user_id).username).status_code == 302
        response = client.get(f"/orders/{shared.order.id}")
        assert response.status_code == 200
        pages[name] = response.get_data(as_text=True)
    assert B_PRICE in pages["distributor"]
    assert f">{B_QUANTITY}<" in pages["distributor"]
    assert B_PRICE not in pages["A"]
    assert f">{B_QUANTITY}<" not in pages["A"]
    assert shared.b_product_name.split()[1] not in pages["A"]


def test_the_order_list_page_shows_a_manufacturer_the_status_of_its_own_lines(
    app: Flask, session: Session, shared: Shared
) -> None:
    rows = {}
    for name, actor in (("A", shared.maker_a), ("hospital", shared.market.hospital_actor)):
        client = app.test_client()
        assert web_login(client, session.get_one(User, actor.user_id).username).status_code == 302
        page = client.get("/orders").get_data(as_text=True)
        row = re.search(rf">#{shared.order.id}</a>.*?</tr>", page, re.DOTALL)
        assert row is not None
        rows[name] = row.group()
    assert "status-partially_shipped" in rows["hospital"]
    assert "status-accepted" in rows["A"]


@pytest.mark.parametrize("status", [s.value for s in OrderStatus])
def test_filtering_orders_by_status_uses_the_status_a_manufacturer_sees(
    client: FlaskClient, session: Session, shared: Shared, status: str
) -> None:
    for actor in (shared.maker_a, shared.maker_b, shared.market.hospital_actor):
        seen = _api(client, session, actor, f"/api/v1/orders/{shared.order.id}").get_json()["status"]
        listed = _api(client, session, actor, f"/api/v1/orders?status={status}").get_json()
        assert (shared.order.id in [o["id"] for o in listed]) is (seen == status), (actor, status, seen)
        assert all(o["status"] == status for o in listed)
