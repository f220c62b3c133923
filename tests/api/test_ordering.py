"""Ordering and delivery through the HTTP API: idempotent orders, refusals that name the reason,
uploads, scoping, and (on PostgreSQL) concurrent receipt confirmations."""

import io
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from app import create_app
from app.cli import alembic_config
from app.config import Config
from app.db import Database, get_db
from core.organizations import User
from ledger.models import ListingStatus, Order, OrderLine, ReceiptLine
from ledger.services import listings
from tests.conftest import Databases
from tests.factories import bearer
from tests.ordering import EXPIRY, NOW, Market, make_market


@pytest.fixture
def market(session: Session, monkeypatch: pytest.MonkeyPatch) -> Market:
    monkeypatch.setattr("core.clock.now", lambda: NOW)
    return make_market(session)


def _headers(session: Session, actor: Any, **extra: str) -> dict[str, str]:
    return {**bearer(session, session.get_one(User, actor.user_id)), **extra}


def _counts(session: Session) -> tuple[int, int]:
    return (
        session.scalar(select(func.count()).select_from(Order)) or 0,
        session.scalar(select(func.count()).select_from(OrderLine)) or 0,
    )


def test_retried_order_with_the_same_key_returns_the_first_order(
    client: FlaskClient, session: Session, market: Market
) -> None:
    headers = _headers(session, market.hospital_actor, **{"Idempotency-Key": "his-20260510-0001"})
    body = {
        "distributor_id": market.distributor.id,
        "lines": [{"listing_id": market.listing.id, "quantity": 12}],
    }
    first = client.post("/api/v1/orders", json=body, headers=headers)
    assert first.status_code == 201, first.get_json()
    counts = _counts(session)
    again = client.post("/api/v1/orders", json=body, headers=headers)
    assert (again.status_code, again.get_json()["id"]) == (201, first.get_json()["id"])
    assert _counts(session) == counts
    assert first.get_json()["lines"][0]["amount"] == "240.00"


def test_an_api_order_is_checked_and_written_in_eight_statements(
    client: FlaskClient, session: Session, market: Market, db: Database
) -> None:
    """Token, then distributor + listings + authorizations in one query (the caller's own
    organization comes with the token), the order, its lines, and the audit event with its
    chain head and message. Every check still runs (the refusals are tested below)."""
    headers = _headers(session, market.hospital_actor)
    body = {
        "distributor_id": market.distributor.id,
        "lines": [{"listing_id": market.listing.id, "quantity": 2}],
    }
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            statements.append(statement.split(None, 1)[0])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        placed = client.post("/api/v1/orders", json=body, headers=headers)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert placed.status_code == 201, placed.get_json()
    assert len(statements) <= 8, statements


@pytest.mark.parametrize(
    ("problem", "status", "field"),
    [
        ("delisted", 422, "lines.0.listing_id"),
        ("unauthorized", 422, "lines.0.distributor_id"),
        ("zero", 422, "lines.0.quantity"),
        ("negative", 422, "lines.0.quantity"),
        ("foreign_filed", 422, "lines.0.listing_id"),
        ("not_a_distributor", 422, "distributor_id"),
    ],
)
def test_bad_orders_are_refused_naming_the_reason_and_write_nothing(
    client: FlaskClient, session: Session, market: Market, problem: str, status: int, field: str
) -> None:
    listing_id, quantity, distributor = market.listing.id, 5, market.distributor.id
    if problem == "delisted":
        listings.change_listing_status(
            session, market.world.bureau, listing_id, to=ListingStatus.DELISTED, reason="撤网", now=NOW
        )
    elif problem == "unauthorized":
        distributor = market.stranger_distributor.id
    elif problem == "zero":
        quantity = 0
    elif problem == "negative":
        quantity = -3
    elif problem == "foreign_filed":
        listing_id = listings.file_purchase(
            session,
            market.other_hospital_actor,
            product_id=market.listing.product_id,
            pack_price_fen=2100,
            reason="急需",
            now=NOW,
        ).id
    elif problem == "not_a_distributor":
        distributor = market.other_hospital.id
    counts = _counts(session)
    body = {"distributor_id": distributor, "lines": [{"listing_id": listing_id, "quantity": quantity}]}
    response = client.post("/api/v1/orders", json=body, headers=_headers(session, market.hospital_actor))
    assert response.status_code == status, response.get_json()
    assert field in response.get_json()["error"]["fields"]
    assert _counts(session) == counts


def test_order_upload_is_all_or_nothing_with_row_errors(
    client: FlaskClient, session: Session, market: Market
) -> None:
    headers = _headers(session, market.hospital_actor)
    csv = (
        "挂网ID,数量,配送企业ID\n"
        f"{market.listing.id},10,{market.distributor.id}\n"
        f"{market.listing.id},0,{market.distributor.id}\n"
        f"{market.listing.id},5,{market.stranger_distributor.id}\n"
    )
    counts = _counts(session)
    bad = client.post(
        "/api/v1/orders/upload", data={"file": (io.BytesIO(csv.encode()), "o.csv")}, headers=headers
    )
    assert bad.status_code == 422
    assert set(bad.get_json()["error"]["fields"]) == {"row 3.quantity", "row 4.distributor_id"}
    assert _counts(session) == counts
    row = f"{market.listing.id},{{}},{market.distributor.id}\n"
    good = "挂网ID,数量,配送企业ID\n" + row.format(10) + row.format(4)
    ok = client.post(
        "/api/v1/orders/upload", data={"file": (io.BytesIO(good.encode()), "o.csv")}, headers=headers
    )
    assert ok.status_code == 201
    assert [(o["line_count"], o["amount"]) for o in ok.get_json()] == [(2, "280.00")]


def test_full_delivery_journey_over_http(client: FlaskClient, session: Session, market: Market) -> None:
    h = _headers(session, market.hospital_actor)
    d = _headers(session, market.distributor_actor)
    order = client.post(
        "/api/v1/orders",
        headers=h,
        json={
            "distributor_id": market.distributor.id,
            "urgency": "emergency",
            "lines": [{"listing_id": market.listing.id, "quantity": 10}],
        },
    ).get_json()
    assert (
        client.post(f"/api/v1/orders/{order['id']}/decision", headers=d, json={"accept": True}).status_code
        == 200
    )
    shipment = client.post(
        f"/api/v1/orders/{order['id']}/shipments",
        headers=d,
        json={
            "lines": [
                {
                    "order_line_id": order["lines"][0]["id"],
                    "quantity": 10,
                    "batch_no": "B7",
                    "expiry_on": EXPIRY.isoformat(),
                }
            ]
        },
    )
    assert shipment.status_code == 201, shipment.get_json()
    line_id = shipment.get_json()["lines"][0]["id"]
    receipt = client.post(
        f"/api/v1/shipment-lines/{line_id}/receipt",
        headers=h,
        json={"accepted_quantity": 9, "rejected_quantity": 1, "reason_code": "damaged"},
    )
    assert receipt.status_code == 201, receipt.get_json()
    returned = client.post(
        f"/api/v1/receipt-lines/{receipt.get_json()['id']}/returns",
        headers=h,
        json={"quantity": 2, "reason": "近效期"},
    )
    assert returned.status_code == 201
    # The rejected pack remains to deliver until it is re-shipped or the hospital cancels it.
    assert client.get(f"/api/v1/orders/{order['id']}", headers=h).get_json()["status"] == "partially_shipped"
    cancelled = client.post(f"/api/v1/orders/{order['id']}/cancel", headers=h, json={"reason": "不再补发"})
    assert cancelled.status_code == 200, cancelled.get_json()
    final = client.get(f"/api/v1/orders/{order['id']}", headers=h).get_json()
    assert (
        final["status"],
        final["lines"][0]["accepted_quantity"],
        final["lines"][0]["returned_quantity"],
        final["lines"][0]["cancelled_quantity"],
    ) == ("completed", 9, 2, 1)
    assert (
        client.get(
            f"/api/v1/orders/{order['id']}", headers=_headers(session, market.other_hospital_actor)
        ).status_code
        == 404
    )


def test_off_platform_amounts_upload_is_all_or_nothing(
    client: FlaskClient, session: Session, market: Market
) -> None:
    headers = _headers(session, market.hospital_actor)
    bad = "月份,类别,金额\n2026-04-01,drugs,1500000.00\n2026-04-15,tcm_pieces,3.00\n2026-04-01,gold,1.00\n"
    response = client.post(
        "/api/v1/off-platform-purchases/upload",
        headers=headers,
        data={"file": (io.BytesIO(bad.encode()), "p.csv")},
    )
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"row 4.category"}
    bad_month = "月份,类别,金额\n2026-04-01,drugs,1500000.00\n2026-04-15,tcm_pieces,3.00\n"
    response = client.post(
        "/api/v1/off-platform-purchases/upload",
        headers=headers,
        data={"file": (io.BytesIO(bad_month.encode()), "p.csv")},
    )
    assert set(response.get_json()["error"]["fields"]) == {"row 3.month"}
    assert client.get("/api/v1/off-platform-purchases", headers=headers).get_json() == []
    good = "月份,类别,金额\n2026-04-01,drugs,1500000.00\n2026-04-01,tcm_pieces,3.10\n"
    ok = client.post(
        "/api/v1/off-platform-purchases/upload",
        headers=headers,
        data={"file": (io.BytesIO(good.encode()), "p.csv")},
    )
    assert [(r["category"], r["amount"]) for r in ok.get_json()] == [
        ("drugs", "1500000.00"),
        ("tcm_pieces", "3.10"),
    ]


# --- concurrency on PostgreSQL: real connections, committed data --------------------------------


@pytest.fixture
def committed_app(databases: Databases, tmp_path: Path) -> Iterator[Flask]:
    url = databases.new()
    command.upgrade(alembic_config(url), "head")
    app = create_app(
        Config(env="testing", database_url=url, secret_key="k" * 40, instance_path=str(tmp_path))
    )
    yield app
    get_db(app).engine.dispose()


def _parallel(app: Flask, n: int, request: Any) -> list[int]:
    barrier = threading.Barrier(n)

    def one(_: int) -> int:
        client = app.test_client()
        barrier.wait()
        return request(client).status_code

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


@pytest.mark.postgresql_only
def test_twenty_parallel_acceptances_accept_exactly_the_shipped_quantity(committed_app: Flask) -> None:
    db = get_db(committed_app)
    with db.sessionmaker() as session, session.begin():
        market = make_market(session)
        order = market.order(10)
        line_id = market.accept_and_ship(order.id, 10).lines[0].id
        headers = _headers(session, market.hospital_actor)
    statuses = _parallel(
        committed_app,
        20,
        lambda c: c.post(
            f"/api/v1/shipment-lines/{line_id}/receipt", headers=headers, json={"accepted_quantity": 10}
        ),
    )
    print(f"20 parallel acceptances: {statuses.count(201)} × 201, {statuses.count(409)} × 409")
    assert sorted(set(statuses)) == [201, 409]
    assert statuses.count(201) == 1
    with db.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(ReceiptLine)) == 1
        line = session.scalars(select(OrderLine)).one()
        assert (line.accepted_quantity, line.shipped_quantity) == (10, 10)


@pytest.mark.postgresql_only
def test_parallel_orders_with_one_idempotency_key_create_one_order(committed_app: Flask) -> None:
    db = get_db(committed_app)
    with db.sessionmaker() as session, session.begin():
        market = make_market(session)
        headers = _headers(session, market.hospital_actor, **{"Idempotency-Key": "same-key"})
        body = {
            "distributor_id": market.distributor.id,
            "lines": [{"listing_id": market.listing.id, "quantity": 3}],
        }
    statuses = _parallel(committed_app, 10, lambda c: c.post("/api/v1/orders", headers=headers, json=body))
    print(f"10 parallel orders with one key: statuses {sorted(statuses)}")
    assert set(statuses) == {201}
    with db.sessionmaker() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 1
