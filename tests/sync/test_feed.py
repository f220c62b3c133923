"""The change feed through the HTTP API: cursors, bounded pages, scoping, new versions, the NHSA
mapping (inside the test's transaction; real commits: test_convergence.py)."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from core.actors import Role
from ledger.models import OrderLine
from ledger.sync import cursor as cursors
from tests.factories import bearer, make_user
from tests.ordering import make_market


def _headers(session: Session, org: Any) -> dict[str, str]:
    return bearer(session, make_user(session, org, Role.OPERATOR))


def _all(client: FlaskClient, headers: dict[str, str], name: str, **query: Any) -> list[dict[str, Any]]:
    items, cursor = [], None
    while True:
        params = dict(query, **({"cursor": cursor} if cursor else {}))
        body = client.get(f"/api/v1/sync/{name}", query_string=params, headers=headers).get_json()
        items += body["items"]
        cursor = body["next_cursor"]
        if not body["has_more"]:
            return items


def test_a_hospital_reads_its_own_order_lines_in_bounded_pages_and_nothing_of_another(
    client: FlaskClient, session: Session
) -> None:
    m = make_market(session)
    orders = [m.order(quantity=q) for q in range(1, 6)]
    session.commit()
    mine, theirs = _headers(session, m.hospital), _headers(session, m.other_hospital)
    session.commit()

    first = client.get("/api/v1/sync/order_lines", query_string={"limit": 2}, headers=mine).get_json()
    assert len(first["items"]) == 2
    assert first["has_more"] is True
    items = _all(client, mine, "order_lines", limit=2)
    assert sorted(i["data"]["quantity"] for i in items) == [1, 2, 3, 4, 5]
    assert {i["data"]["order_id"] for i in items} == {o.id for o in orders}  # type: ignore[attr-defined]
    assert _all(client, theirs, "order_lines") == []
    assert _all(client, theirs, "orders") == []


def test_a_row_written_again_comes_again_with_a_new_version_and_nothing_else_does(
    client: FlaskClient, session: Session
) -> None:
    m = make_market(session)
    order = m.order(quantity=3)
    session.commit()
    headers = _headers(session, m.hospital)
    session.commit()
    body = client.get("/api/v1/sync/order_lines", headers=headers).get_json()
    (item,) = body["items"]
    cursor = body["next_cursor"]
    assert (
        client.get("/api/v1/sync/order_lines", query_string={"cursor": cursor}, headers=headers).get_json()[
            "items"
        ]
        == []
    )

    # A Core bulk UPDATE (no ORM event) is stamped by the trigger all the same.
    session.execute(update(OrderLine).where(OrderLine.order_id == order.id).values(cancelled_quantity=1))  # type: ignore[attr-defined]
    session.commit()
    again = client.get(
        "/api/v1/sync/order_lines", query_string={"cursor": cursor}, headers=headers
    ).get_json()
    (changed,) = again["items"]
    assert changed["id"] == item["id"]
    assert changed["data"]["cancelled_quantity"] == 1
    assert changed["version"] != item["version"]


@pytest.mark.parametrize(
    "cursor",
    ["not-base64!", "eyJ2IjoxfQ", cursors.encode("orders", cursors.Position(1, 2)), "e30"],
)
def test_a_malformed_cursor_or_one_of_another_collection_is_a_400_naming_cursor(
    client: FlaskClient, session: Session, cursor: str
) -> None:
    m = make_market(session)
    headers = _headers(session, m.hospital)
    session.commit()
    response = client.get("/api/v1/sync/order_lines", query_string={"cursor": cursor}, headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_cursor"
    assert "cursor" in response.get_json()["error"]["fields"]


def test_limits_and_collections_are_bounded_by_kind(client: FlaskClient, session: Session) -> None:
    m = make_market(session)
    hospital = _headers(session, m.hospital)
    maker = _headers(session, m.world.manufacturer("A"))
    session.commit()
    too_many = client.get("/api/v1/sync/orders", query_string={"limit": 1001}, headers=hospital)
    assert too_many.status_code == 422
    assert "limit" in str(too_many.get_json()["error"]["fields"])
    assert client.get("/api/v1/sync/nothing", headers=hospital).status_code == 404
    # A manufacturer mirrors its products' lines, not invoices or order headers.
    assert client.get("/api/v1/sync/invoices", headers=maker).status_code == 404
    assert client.get("/api/v1/sync/orders", headers=maker).status_code == 404
    names = [c["name"] for c in client.get("/api/v1/sync", headers=maker).get_json()["collections"]]
    assert "order_lines" in names
    assert "invoices" not in names


def test_a_manufacturer_sees_only_its_own_products_lines_of_a_shared_order(
    client: FlaskClient, session: Session
) -> None:
    m = make_market(session)
    m.order(quantity=4)
    session.commit()
    winner = _headers(session, m.world.manufacturer("A"))
    loser = _headers(session, m.world.manufacturer("B"))
    session.commit()
    assert [i["data"]["quantity"] for i in _all(client, winner, "order_lines")] == [4]
    assert _all(client, loser, "order_lines") == []


def test_nhsa_names_and_the_mapping_are_served_with_the_openapi_document(
    client: FlaskClient, session: Session
) -> None:
    m = make_market(session)
    m.order(quantity=2)
    session.commit()
    headers = _headers(session, m.hospital)
    session.commit()
    (order,) = _all(client, headers, "orders", names="nhsa")
    assert order["data"]["medins_id"] == m.hospital.id
    assert "hospital_id" not in order["data"]
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["x-nhsa-mapping"]["collections"]["shipment_lines"]["batch_no"]["nhsa"] == "manu_lotnum"
    mapping = client.get("/api/v1/sync/nhsa-mapping", headers=headers).get_json()
    assert mapping["status"] == "UNVERIFIED"
    assert mapping["collections"]["listings"]["pack_price"]["nhsa"] == "pubonln_pric"
