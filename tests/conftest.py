"""Test fixtures: the same suite on SQLite (default) and PostgreSQL (`--db=postgresql`).

The schema comes from the Alembic migrations, never create_all(). Each test runs inside one
outer transaction on one connection; the app's sessions join it with SAVEPOINTs, so the code under
test really commits and rolls back, and the outer rollback wipes the test's data afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app import create_app
from app.cli import alembic_config
from app.config import Config
from app.db import Database, get_db
from core import crypto_suites
from ledger.invariants import check_ledger
from tests.tendering import CRYPTO_SUITE

PG_ADMIN_URL = os.environ.get(
    "VBP_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=("sqlite", "postgresql"),
        default=os.environ.get("VBP_TEST_DB", "sqlite"),
        help="database to run the suite on (default: sqlite, or $VBP_TEST_DB)",
    )


def pytest_report_header(config: pytest.Config) -> str:
    return f"database: {config.getoption('--db')}, crypto suite: {CRYPTO_SUITE}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--db") == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs real concurrent connections: runs with --db=postgresql")
    for item in items:
        if "postgresql_only" in item.keywords:
            item.add_marker(skip)


class Databases:
    """Creates throw-away databases of the chosen kind (the suite's, and extra ones for tests)."""

    def __init__(self, kind: str, tmp: Path) -> None:
        self.kind, self.tmp, self.created = kind, tmp, []

    def new(self) -> str:
        name = f"vbp_test_{uuid.uuid4().hex[:12]}"
        if self.kind == "sqlite":
            return f"sqlite:///{self.tmp / (name + '.sqlite3')}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        self.created.append(name)
        return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        if not self.created:
            return
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in self.created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def databases(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Databases]:
    dbs = Databases(request.config.getoption("--db"), tmp_path_factory.mktemp("databases"))
    yield dbs
    dbs.drop_all()


@pytest.fixture(scope="session")
def database_url(databases: Databases) -> str:
    url = databases.new()
    command.upgrade(alembic_config(url), "head")
    return url


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    config = Config(
        env="testing",
        database_url=database_url,
        secret_key="test-secret-key-" + "x" * 32,
        instance_path=str(tmp_path_factory.mktemp("instance")),
        # Results final at once: tests that need a publicity period set it (tests/publicity).
        publicity_days=0,
        # Every test client comes from 127.0.0.1 and the app lives for the whole run: the public
        # routes' per-address limit is set high here; tests/public tightens it where it is tested.
        public_rate_limit="1000000 per minute",
        crypto_suite=CRYPTO_SUITE,  # VBP_CRYPTO_SUITE: the whole suite runs under either
    )
    application = create_app(config)
    yield application
    get_db(application).engine.dispose()


@pytest.fixture(autouse=True)
def _crypto_suite() -> Iterator[None]:
    """Every test starts under the tests' suite: a test that builds an app of its own with
    another suite (create_app sets the process-wide one) leaves no trace on the next test."""
    crypto_suites.configure(CRYPTO_SUITE)
    yield
    crypto_suites.configure(CRYPTO_SUITE)


@pytest.fixture
def db(app: Flask) -> Iterator[Database]:
    """Per-test isolation: one connection, one outer transaction, rolled back at the end."""
    database = get_db(app)
    connection = database.engine.connect()
    outer = connection.begin()
    database.sessionmaker.configure(bind=connection, join_transaction_mode="create_savepoint")
    try:
        yield database
    finally:
        database.sessionmaker.configure(bind=database.engine, join_transaction_mode="conservative_savepoint")
        outer.rollback()
        connection.close()


@pytest.fixture
def session(db: Database, request: pytest.FixtureRequest) -> Iterator[Session]:
    s = db.sessionmaker()
    yield s
    s.close()
    if "corrupts_ledger" not in request.keywords and not request.session.shouldfail:
        # Every scenario must leave the ledger's invariants intact (ledger/invariants.py).
        with db.sessionmaker() as check:
            report = check_ledger(check)
        assert report.ok, report.problems()


@pytest.fixture
def client(app: Flask, db: Database) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def dialect(db: Database) -> str:
    return db.dialect
