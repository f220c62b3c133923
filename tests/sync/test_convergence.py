"""Convergence: after any sequence of platform events, with the reference client polling at any
points between them, a hospital's mirror equals the platform's view for that hospital (as the
feed and the regular GET endpoints give it), and another hospital's mirror holds none of it."""

from __future__ import annotations

import contextlib
import json
import os
import random
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.db import get_db
from ledger.sync.registry import collections_for
from tests.sync.helpers import flask_transport, platform_view, settle, sync_client, token_of
from tests.sync.scenario import EVENTS, Platform, run_event

EXAMPLES = int(os.environ.get("VBP_SYNC_EXAMPLES", "3"))


def assert_converged(platform: Platform, mirror: Any, actor: Any) -> None:
    with platform.session() as s:
        for collection in collections_for(actor):
            expected = platform_view(s, actor, collection.name)
            mirrored = mirror.rows(collection.name)
            assert sorted(mirrored) == sorted(expected), collection.name
            for key, row in expected.items():
                assert mirrored[key] == row, (collection.name, key)


def assert_matches_the_get_endpoints(platform: Platform, mirror: Any) -> None:
    client = platform.app.test_client()
    body = client.get("/api/v1/orders?page_size=100", headers=platform.hospital_headers).get_json()
    orders, lines = mirror.rows("orders"), mirror.rows("order_lines")
    assert sorted(orders) == sorted(o["id"] for o in body)
    for order in body:
        header = {k: v for k, v in order.items() if k != "lines"}
        assert orders[order["id"]] == json.loads(json.dumps(header, sort_keys=True))
        for line in order["lines"]:
            assert lines[line["id"]] == dict(line, order_id=order["id"])
    listed = client.get("/api/v1/invoice-lines?page_size=100", headers=platform.hospital_headers).get_json()
    assert mirror.rows("invoice_lines") == {line["id"]: line for line in listed}


def _client(platform: Platform, path: Path, headers: dict[str, str]) -> Any:
    mirror = sync_client.Mirror(str(path))
    transport = flask_transport(platform.app.test_client())
    return mirror, sync_client.SyncClient(transport, token_of(headers), mirror, limit=3)


def test_mirrors_converge_after_random_event_sequences(platform: Platform, tmp_path: Path) -> None:
    runs = iter(range(10_000))

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(
        steps=st.lists(st.tuples(st.sampled_from(EVENTS), st.booleans()), min_size=4, max_size=25),
        seed=st.integers(0, 2**16),
    )
    def scenario(steps: list[tuple[Any, bool]], seed: int) -> None:
        rng = random.Random(seed)
        run = next(runs)
        mirror, client = _client(platform, tmp_path / f"mirror-{run}.sqlite3", platform.hospital_headers)
        other_mirror, other = _client(platform, tmp_path / f"other-{run}.sqlite3", platform.other_headers)
        for event, poll in steps:
            run_event(platform, event, rng)
            if poll:
                client.sync()
        settle(get_db(platform.app).engine)
        client.sync()
        other.sync()
        assert_converged(platform, mirror, platform.hospital)
        assert_matches_the_get_endpoints(platform, mirror)
        assert_converged(platform, other_mirror, platform.other_hospital)
        mine = platform.hospital.org_id
        for name in (
            "orders",
            "order_lines",
            "shipments",
            "shipment_lines",
            "receipt_lines",
            "invoice_lines",
        ):
            for row in other_mirror.rows(name).values():
                assert row.get("hospital_id", None) != mine
        for order_id in mirror.rows("orders"):
            assert order_id not in other_mirror.rows("orders")
        mirror.close()
        other_mirror.close()

    scenario()


def test_a_client_killed_between_pages_resumes_without_gaps_or_repeats(
    platform: Platform, tmp_path: Path
) -> None:
    rng = random.Random(7)
    for event in EVENTS * 4:
        run_event(platform, event, rng)
    path = tmp_path / "crash.sqlite3"
    mirror, client = _client(platform, path, platform.hospital_headers)
    pages = 0

    def crash_on_third_page(_collection: str, _page: dict[str, Any]) -> None:
        nonlocal pages
        pages += 1
        if pages == 3:
            raise KeyboardInterrupt  # the process dies after fetching, before storing

    client.on_page = crash_on_third_page
    with contextlib.suppress(KeyboardInterrupt):
        client.sync()
    mirror.close()
    mirror, client = _client(platform, path, platform.hospital_headers)  # a new process
    settle(get_db(platform.app).engine)
    client.sync()
    assert_converged(platform, mirror, platform.hospital)
    mirror.close()
