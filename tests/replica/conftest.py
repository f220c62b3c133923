"""A real streaming replica for the read-routing tests (app/replica.py), made once per run.

PostgreSQL runs only (the tests are postgresql_only). There the harness must run: missing server
binaries fail the tests, unless VBP_REPLICA_TESTS=skip says this machine cannot have them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from alembic import command
from flask import Flask
from sqlalchemy import Engine, text

from app import create_app
from app.cli import alembic_config
from app.config import Config
from app.db import get_db
from core.actors import Role
from core.organizations import User
from tests.factories import bearer, make_user
from tests.ordering import make_market
from tests.replica.cluster import (
    BIN,
    ReplicaPair,
    binaries_missing,
    engine,
    set_replay_paused,
    wait_for_replay,
)
from tests.tendering import CRYPTO_SUITE

DATABASE = "vbp"


@pytest.fixture(scope="session")
def replica_pair() -> Iterator[ReplicaPair]:
    missing = binaries_missing()
    if missing:
        message = f"PostgreSQL server binaries not found in {BIN}: {', '.join(missing)}"
        if os.environ.get("VBP_REPLICA_TESTS") == "skip":
            pytest.skip(message)
        pytest.fail(f"{message} (install postgresql-15, or set VBP_REPLICA_TESTS=skip)")
    pair = ReplicaPair()
    try:
        pair.start_primary()
        admin = engine(pair.url())
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f"CREATE DATABASE {DATABASE}"))
        admin.dispose()
        # The migrations run while the replica is copied and started: it streams them anyway.
        with ThreadPoolExecutor(1) as pool:
            migrated = pool.submit(command.upgrade, alembic_config(pair.url(database=DATABASE)), "head")
            pair.start_replica()
            migrated.result()
    except BaseException:
        pair.stop()
        raise
    yield pair
    pair.stop()


@pytest.fixture(scope="session")
def primary(replica_pair: ReplicaPair) -> Iterator[Engine]:
    """The tests' own connections to the primary (to look behind the app's back)."""
    made = engine(replica_pair.url(database=DATABASE))
    yield made
    made.dispose()


@pytest.fixture(scope="session")
def standby(replica_pair: ReplicaPair) -> Iterator[Engine]:
    made = engine(replica_pair.url(replica=True, database=DATABASE))
    yield made
    made.dispose()


def replica_app(primary_url: str, replica_url: str, instance: Path) -> Flask:
    return create_app(
        Config(
            env="testing",
            database_url=primary_url,
            database_replica_url=replica_url,
            secret_key="replica-tests-" + "k" * 32,
            instance_path=str(instance),
            crypto_suite=CRYPTO_SUITE,
            publicity_days=0,
        )
    )


@pytest.fixture(scope="session")
def app_with_replica(replica_pair: ReplicaPair, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    made = replica_app(
        replica_pair.url(database=DATABASE),
        replica_pair.url(replica=True, database=DATABASE),
        tmp_path_factory.mktemp("replica-instance"),
    )
    yield made
    database = get_db(made)
    database.engine.dispose()
    assert database.replica is not None
    database.replica.engine.dispose()


@dataclass(frozen=True)
class People:
    """Two operators of one hospital (A writes, B reads), and what A orders."""

    a: dict[str, str]
    b: dict[str, str]
    a_user: User
    b_user: User
    hospital_id: int
    distributor_id: int
    listing_id: int


@pytest.fixture(scope="session")
def people(app_with_replica: Flask, primary: Engine, standby: Engine) -> People:
    with get_db(app_with_replica).sessionmaker() as session:
        market = make_market(session)
        a_user, b_user = (make_user(session, market.hospital, Role.OPERATOR) for _ in "ab")
        made = People(
            a=bearer(session, a_user),
            b=bearer(session, b_user),
            a_user=a_user,
            b_user=b_user,
            hospital_id=market.hospital.id,
            distributor_id=market.distributor.id,
            listing_id=market.listing.id,
        )
        session.commit()
    wait_for_replay(primary, standby)
    return made


@pytest.fixture(autouse=True)
def _replay_resumed(request: pytest.FixtureRequest) -> Iterator[None]:
    """Whatever a test does to replay, the next one starts with the replica streaming."""
    yield
    if "standby" in request.fixturenames:
        set_replay_paused(request.getfixturevalue("standby"), False)
