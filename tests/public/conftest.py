"""Public-disclosure fixtures: a fresh answer cache per test, visitors with their own client
address (the rate limit counts per address and the app lives for the whole run), and a fixed
clock."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app.db import Database
from app.public.guard import CACHE
from tests.ordering import NOW

_addresses = itertools.count(1)


@pytest.fixture(autouse=True)
def fresh_cache(app: Flask) -> Iterator[None]:
    app.extensions[CACHE].clear()
    yield
    app.extensions[CACHE].clear()


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("core.clock.now", lambda: NOW)


def new_address() -> str:
    n = next(_addresses)
    return f"198.18.{n // 250}.{n % 250 + 1}"


@pytest.fixture
def visitor(app: Flask, db: Database) -> FlaskClient:
    """An anonymous browser from an address no other test uses."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = new_address()
    return client
