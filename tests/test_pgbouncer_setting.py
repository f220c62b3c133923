"""VBP_DATABASE_PGBOUNCER: behind PgBouncer in transaction mode no statement is prepared on the
server (the next transaction may run on another backend, where the name is unknown)."""

import pytest
from sqlalchemy import text

from app.config import Config
from app.db import Database
from tests.conftest import Databases

pytestmark = pytest.mark.postgresql_only

#: psycopg prepares a statement on the server from its 5th execution by default.
REPEATS = 8


def _prepared_after_repeats(url: str, *, pgbouncer: bool) -> int:
    db = Database(url, pgbouncer=pgbouncer)
    try:
        with db.engine.connect() as conn:
            for n in range(REPEATS):
                conn.execute(text("SELECT :n + 1"), {"n": n})
            return conn.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar_one()
    finally:
        db.engine.dispose()


def test_without_the_setting_psycopg_prepares_repeated_statements(databases: Databases) -> None:
    assert _prepared_after_repeats(databases.new(), pgbouncer=False) > 0


def test_with_the_setting_nothing_is_prepared_on_the_server(databases: Databases) -> None:
    assert _prepared_after_repeats(databases.new(), pgbouncer=True) == 0


def test_the_setting_is_read_from_the_environment() -> None:
    assert Config.from_env({"VBP_DATABASE_PGBOUNCER": "true"}).database_pgbouncer is True
    assert Config.from_env({}).database_pgbouncer is False


def test_the_replica_behind_pgbouncer_prepares_nothing_and_still_refuses_writes(databases: Databases) -> None:
    from sqlalchemy.exc import DBAPIError

    from app.replica import Replica

    # A writable server named by mistake: the replica's transactions are read-only all the same.
    replica = Replica(databases.new(), pgbouncer=True)
    try:
        with replica.engine.connect() as conn:
            for n in range(REPEATS):
                conn.execute(text("SELECT :n + 1"), {"n": n})
            assert conn.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar_one() == 0
            conn.rollback()
            with pytest.raises(DBAPIError, match="read-only transaction"):
                conn.execute(text("CREATE TABLE written_on_the_replica (id int)"))
    finally:
        replica.engine.dispose()
