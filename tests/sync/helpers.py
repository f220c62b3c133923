"""Sync test helpers: the reference client (scripts/sync_client.py) driven through the Flask test
client, and the platform's own view of a collection to compare a mirror with."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from core.actors import Actor
from ledger.sync.registry import collection_for

ROOT = Path(__file__).resolve().parents[2]


def load_client_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sync_client", ROOT / "scripts" / "sync_client.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sync_client = load_client_module()


def flask_transport(client: FlaskClient) -> Any:
    def get(path: str, query: dict[str, str], headers: dict[str, str]) -> tuple[int, Any]:
        response = client.get("/api/v1" + path, query_string=query, headers=headers)
        return response.status_code, response.get_json()

    return get


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def platform_view(session: Session, actor: Actor, name: str) -> dict[int, dict[str, Any]]:
    """Every row of the collection the actor may see, dumped as the feed dumps it (JSON-normalised)."""
    collection = collection_for(actor, name)
    rows = list(session.scalars(collection.visible(actor)).all())
    dumped = collection.dump(session, actor, rows)
    return {
        row.id: json.loads(json.dumps(data, sort_keys=True)) for row, data in zip(rows, dumped, strict=True)
    }


#: How long settle() waits for older transactions to end (other suites may share the cluster).
PATIENCE_S = 600.0


def settle(engine: Engine) -> None:
    """Wait until every transaction that started before now has ended (PostgreSQL), so a feed
    read afterwards may return everything committed so far. The feed's horizon is the cluster's
    xmin: a long transaction in ANY database of the cluster (another test suite's) delays it
    (never makes it wrong). SQLite: nothing to wait for."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        mark = conn.execute(text("SELECT pg_current_xact_id()::text::bigint")).scalar_one()
    deadline = time.monotonic() + PATIENCE_S
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            horizon = conn.execute(
                text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
            ).scalar_one()
            conn.rollback()
            if horizon > mark:
                return
            time.sleep(0.05)
        blockers = conn.execute(
            text("SELECT datname, state, xact_start FROM pg_stat_activity WHERE backend_xid IS NOT NULL")
        ).all()
    raise AssertionError(f"older transactions never ended: {blockers}")
