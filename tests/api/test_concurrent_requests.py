"""Concurrent write requests on either database: every one is answered 2xx, none fails with a
lock error. (SQLite needs its transactions to take the write lock up front: app/db.py.)"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from alembic import command
from sqlalchemy import func, select

from app import create_app
from app.cli import alembic_config
from app.config import Config
from app.db import get_db
from core.organizations import User
from ledger.models import Order
from tests.conftest import Databases
from tests.factories import bearer
from tests.ordering import make_market
from tests.tendering import CRYPTO_SUITE

CLIENTS = 8


def test_concurrent_orders_are_all_accepted(databases: Databases, tmp_path: Path) -> None:
    url = databases.new()
    command.upgrade(alembic_config(url), "head")
    app = create_app(
        Config(
            env="testing",
            database_url=url,
            secret_key="k" * 40,
            instance_path=str(tmp_path),
            crypto_suite=CRYPTO_SUITE,
        )
    )
    db = get_db(app)
    with db.sessionmaker() as s, s.begin():
        market = make_market(s)
        headers = bearer(s, s.get_one(User, market.hospital_actor.user_id))
        body = {
            "distributor_id": market.distributor.id,
            "lines": [{"listing_id": market.listing.id, "quantity": 3}],
        }
    barrier = threading.Barrier(CLIENTS)

    def order(_: int) -> list[int]:
        client = app.test_client()
        barrier.wait()
        return [client.post("/api/v1/orders", json=body, headers=headers).status_code for _ in range(3)]

    with ThreadPoolExecutor(CLIENTS) as pool:
        statuses = [code for codes in pool.map(order, range(CLIENTS)) for code in codes]
    assert statuses == [201] * CLIENTS * 3, statuses
    with db.sessionmaker() as s:
        assert s.scalar(select(func.count()).select_from(Order)) == CLIENTS * 3
    db.engine.dispose()
