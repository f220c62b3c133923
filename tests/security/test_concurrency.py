"""Concurrency on PostgreSQL with real connections: many clients replacing one manufacturer's
bid at once just before the deadline leave exactly one active bid — the last one committed —
and a submission after the deadline is refused. (Parallel acceptance of one shipment line,
parallel payment of one application and parallel orders with one idempotency key are in
tests/api/test_ordering.py and tests/ledger/test_settlement.py.)"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, select

from app import create_app
from app.cli import alembic_config
from app.config import Config
from app.db import get_db
from bidding.models import BatchStatus, Bid, BidStatus
from core.organizations import User
from tests.conftest import Databases
from tests.factories import bearer
from tests.tendering import CRYPTO_SETTINGS, DURING_DEMAND, TIMELINE, make_world

pytestmark = pytest.mark.postgresql_only
ATTEMPTS = 24


def test_parallel_bid_replacements_at_the_deadline_leave_the_last_one(
    databases: Databases, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = databases.new()
    command.upgrade(alembic_config(url), "head")
    app = create_app(
        Config(
            env="testing",
            database_url=url,
            secret_key="k" * 40,
            instance_path=str(tmp_path),
            **CRYPTO_SETTINGS,
        )
    )
    db = get_db(app)
    db.engine.dispose()
    db.engine = create_engine(url, pool_size=ATTEMPTS + 2, max_overflow=0, pool_timeout=120)
    db.sessionmaker.configure(bind=db.engine)
    with db.sessionmaker() as s, s.begin():
        world = make_world(s)
        world.to(BatchStatus.DEMAND_COLLECTION, DURING_DEMAND)
        world.to(BatchStatus.BIDDING, TIMELINE["demand_closes_at"])
        item = world.items[0]
        maker = world.manufacturer("A")
        product_id = world.product("A", item)
        headers = bearer(s, s.get_one(User, world.actor(maker).user_id))
        batch_id, item_id, maker_id = world.batch.id, item.id, maker.id
    just_before = TIMELINE["bid_closes_at"] - timedelta(seconds=1)
    monkeypatch.setattr("core.clock.now", lambda: just_before)
    barrier = threading.Barrier(ATTEMPTS)

    def submit(n: int) -> tuple[int, Any]:
        client = app.test_client()
        barrier.wait()
        response = client.post(
            f"/api/v1/batches/{batch_id}/bids",
            headers=headers,
            json={"item_id": item_id, "product_id": product_id, "pack_price": f"{20 + n}.00"},
        )
        return response.status_code, response.get_json()

    with ThreadPoolExecutor(ATTEMPTS) as pool:
        answers = list(pool.map(submit, range(ATTEMPTS)))
    assert [code for code, _ in answers] == [201] * ATTEMPTS, answers
    with db.sessionmaker() as s:
        bids = s.scalars(
            select(Bid).where(Bid.item_id == item_id, Bid.manufacturer_id == maker_id).order_by(Bid.id)
        ).all()
    active = [b for b in bids if b.status is BidStatus.ACTIVE]
    assert len(bids) == ATTEMPTS
    assert len(active) == 1
    assert active[0].id == bids[-1].id  # the last one committed wins; every earlier one is replaced
    assert {b.status for b in bids[:-1]} == {BidStatus.REPLACED}
    print(f"{ATTEMPTS} parallel bid replacements: 1 active (the last committed), {ATTEMPTS - 1} replaced")

    monkeypatch.setattr("core.clock.now", lambda: TIMELINE["bid_closes_at"] + timedelta(seconds=1))
    late = app.test_client().post(
        f"/api/v1/batches/{batch_id}/bids",
        headers=headers,
        json={"item_id": item_id, "product_id": product_id, "pack_price": "19.00"},
    )
    assert late.status_code in (409, 422), late.get_json()
    db.engine.dispose()
