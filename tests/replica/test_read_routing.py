"""Reads that may lag come from a real streaming replica; writes and a user's own fresh reads
from the primary (app/replica.py). Replay is paused on the replica to tell the two apart by data:
while paused, the replica cannot have a change the primary already has."""

from __future__ import annotations

import csv
import io
import logging
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, text

from app.db import get_db
from tests.factories import login
from tests.replica.cluster import free_port, set_replay_paused, wait_for_replay
from tests.replica.conftest import DATABASE, People, replica_app

pytestmark = pytest.mark.postgresql_only

LINES = "/api/v1/reconciliation/lines"


def place_order(app: Flask, people: People, headers: dict[str, str]) -> int:
    response = app.test_client().post(
        "/api/v1/orders",
        json={
            "distributor_id": people.distributor_id,
            "lines": [{"listing_id": people.listing_id, "quantity": 3}],
        },
        headers=headers,
    )
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["id"])


def order_ids(app: Flask, headers: dict[str, str], path: str = LINES) -> tuple[str, set[int]]:
    """Where the explorer read from, and the orders it listed."""
    response = app.test_client().get(path, query_string={"page_size": 100}, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.headers["X-VBP-Read-From"], {row["order_id"] for row in response.get_json()}


def on(engine: Engine, order_id: int) -> bool:
    with engine.connect() as conn:
        return (
            conn.execute(text("SELECT count(*) FROM orders WHERE id = :id"), {"id": order_id}).scalar() == 1
        )


def test_another_users_report_is_served_by_the_replica_until_it_replays_the_change(
    app_with_replica: Flask, people: People, primary: Engine, standby: Engine
) -> None:
    set_replay_paused(standby, True)
    order_id = place_order(app_with_replica, people, people.a)

    source, seen = order_ids(app_with_replica, people.b)
    assert (source, order_id in seen) == ("replica", False)
    assert on(primary, order_id)
    assert not on(standby, order_id)  # the data prove where B's report came from

    set_replay_paused(standby, False)
    wait_for_replay(primary, standby)
    source, seen = order_ids(app_with_replica, people.b)
    assert (source, order_id in seen) == ("replica", True)


def test_a_user_sees_their_own_write_at_once_even_while_the_replica_lags(
    app_with_replica: Flask, people: People, primary: Engine, standby: Engine
) -> None:
    set_replay_paused(standby, True)
    order_id = place_order(app_with_replica, people, people.a)

    source, seen = order_ids(app_with_replica, people.a)
    assert (source, order_id in seen) == ("primary", True)
    assert not on(standby, order_id)  # only the primary could have answered A
    # A's indicator report and export follow the same rule.
    report = app_with_replica.test_client().get(
        "/api/v1/reports/indicators", query_string={"period_from": "2026-01"}, headers=people.a
    )
    assert report.headers["X-VBP-Read-From"] == "primary"

    # Once the replica has replayed A's write (a WAL position, not a timer), A reads it there.
    set_replay_paused(standby, False)
    wait_for_replay(primary, standby)
    source, seen = order_ids(app_with_replica, people.a)
    assert (source, order_id in seen) == ("replica", True)


def test_writes_go_to_the_primary_while_the_replica_is_paused(
    app_with_replica: Flask, people: People, primary: Engine, standby: Engine
) -> None:
    set_replay_paused(standby, True)
    first = place_order(app_with_replica, people, people.a)
    second = place_order(app_with_replica, people, people.b)
    assert [on(primary, first), on(primary, second)] == [True, True]
    assert [on(standby, first), on(standby, second)] == [False, False]


def exported_orders(client: FlaskClient) -> tuple[str, set[int]]:
    response = client.get("/orders", query_string={"export": "csv"})
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    return response.headers["X-VBP-Read-From"], {int(row[0]) for row in rows[1:] if row and row[0].isdigit()}


def test_browser_exports_follow_the_same_rule_for_signed_in_users(
    app_with_replica: Flask, people: People, primary: Engine, standby: Engine
) -> None:
    a, b = app_with_replica.test_client(), app_with_replica.test_client()
    login(a, people.a_user)
    login(b, people.b_user)
    earlier = place_order(app_with_replica, people, people.a)
    wait_for_replay(primary, standby)
    set_replay_paused(standby, True)
    created = a.post(
        "/api/v1/orders",
        json={
            "distributor_id": people.distributor_id,
            "lines": [{"listing_id": people.listing_id, "quantity": 2}],
        },
    )
    assert created.status_code == 201, created.get_json()
    order_id = created.get_json()["id"]

    source, seen = exported_orders(b)
    assert (source, earlier in seen, order_id in seen) == ("replica", True, False)
    source, seen = exported_orders(a)
    assert (source, order_id in seen) == ("primary", True)


def sync_page(app: Flask, headers: dict[str, str], cursor: str | None) -> tuple[str, list[int], str, Any]:
    query = {"limit": 1000} | ({"cursor": cursor} if cursor else {})
    response = app.test_client().get("/api/v1/sync/orders", query_string=query, headers=headers)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    return response.headers["X-VBP-Read-From"], [i["id"] for i in body["items"]], body["next_cursor"], body


def test_the_sync_feed_reads_the_replica_and_its_cursor_stays_complete_there(
    app_with_replica: Flask, people: People, primary: Engine, standby: Engine
) -> None:
    wait_for_replay(primary, standby)
    _, _, cursor, body = sync_page(app_with_replica, people.b, None)
    while body["has_more"]:
        _, _, cursor, body = sync_page(app_with_replica, people.b, cursor)

    set_replay_paused(standby, True)
    placed = place_order(app_with_replica, people, people.a)
    assert sync_page(app_with_replica, people.b, cursor)[:3] == ("replica", [], cursor)
    assert sync_page(app_with_replica, people.a, cursor)[:2] == ("primary", [placed])
    set_replay_paused(standby, False)
    wait_for_replay(primary, standby)
    source, items, cursor, _ = sync_page(app_with_replica, people.b, cursor)
    assert (source, items) == ("replica", [placed])

    # A transaction still open on the primary holds back later commits on the replica too (the
    # standby's snapshot knows it is running), so nothing can ever land behind B's cursor.
    with primary.connect() as slow:
        slow.execute(text("BEGIN"))
        early = slow.execute(
            text("UPDATE orders SET note = 'slow' WHERE id = :id RETURNING id"), {"id": placed}
        ).scalar_one()
        late = place_order(app_with_replica, people, people.a)
        wait_for_replay(primary, standby)
        source, items, held, _ = sync_page(app_with_replica, people.b, cursor)
        assert (source, items, held) == ("replica", [], cursor)
        slow.execute(text("COMMIT"))
    wait_for_replay(primary, standby)
    source, items, _, _ = sync_page(app_with_replica, people.b, cursor)
    assert (source, items) == ("replica", [early, late])


def test_an_unreachable_replica_sends_reads_to_the_primary(
    replica_pair: Any, people: People, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    nowhere = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/{DATABASE}"
    app = replica_app(replica_pair.url(database=DATABASE), nowhere, tmp_path)
    try:
        order_id = place_order(app, people, people.a)
        with caplog.at_level(logging.WARNING, logger="app.replica"):
            source, seen = order_ids(app, people.b)
    finally:
        get_db(app).engine.dispose()
    assert (source, order_id in seen) == ("primary", True)
    assert "replica unreachable" in caplog.text


def test_commands_read_reports_from_the_replica(app_with_replica: Flask) -> None:
    """`flask report indicators` and the like read through Database.reading() (app/cli_reports.py)."""
    with app_with_replica.app_context(), get_db(app_with_replica).reading() as session:
        assert session.execute(text("SELECT pg_is_in_recovery()")).scalar() is True
