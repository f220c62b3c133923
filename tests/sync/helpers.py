"""Sync test helpers: the reference client (scripts/sync_client.py) driven through the Flask test
client, and the platform's own view of a collection to compare a mirror with."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

from flask.testing import FlaskClient
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
