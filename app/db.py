"""Engine and sessionmaker per app, the request session, and the one unit-of-work boundary."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from core.integrity import violation_conflict

if TYPE_CHECKING:
    from app.replica import Replica

EXTENSION = "vbp.db"


class Database:
    """One engine and one sessionmaker for one app (never created at import time)."""

    def __init__(
        self, url: str, *, echo: bool = False, replica_url: str | None = None, pgbouncer: bool = False
    ) -> None:
        options: dict[str, Any] = {"echo": echo}
        if url.startswith("sqlite"):
            options["connect_args"] = {"timeout": 30}
        else:
            options.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
            if pgbouncer:
                # Transaction pooling hands each transaction any server backend: a statement
                # psycopg prepared on one is unknown on the next. None: never prepare.
                options["connect_args"] = {"prepare_threshold": None}
        self.engine: Engine = create_engine(url, **options)
        if self.engine.dialect.name == "sqlite":
            _configure_sqlite(self.engine)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        #: Streaming replica for reads that may lag (app/replica.py); None: all reads on the primary.
        self.replica: Replica | None = None
        if replica_url:
            from app.replica import Replica

            self.replica = Replica(replica_url, pgbouncer=pgbouncer)

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session for reads that may come from the replica (outside requests: CLI reports)."""
        session = self.replica.session_after(None) if self.replica else None
        with session or self.sessionmaker() as session:
            yield session

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name


def _configure_sqlite(engine: Engine) -> None:
    """Foreign keys on, WAL, and SQLAlchemy's recipe for working SAVEPOINTs under pysqlite.

    pysqlite otherwise begins transactions lazily on its own, which breaks SAVEPOINT and the
    per-test isolation that relies on it (SQLAlchemy docs, "Serializable isolation / Savepoints").
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA busy_timeout = 30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # IMMEDIATE: take the write lock up front. A deferred transaction that reads and then
        # writes while another connection writes fails at once with "database is locked" (the
        # busy timeout cannot help a lock upgrade); concurrent requests then wait their turn.
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def init_app(app: Flask, url: str, replica_url: str | None = None, *, pgbouncer: bool = False) -> Database:
    db = Database(url, replica_url=replica_url, pgbouncer=pgbouncer)
    app.extensions[EXTENSION] = db
    if db.replica is not None:
        from app.replica import install

        install(app, db.replica, db.sessionmaker)

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()

    return db


def get_db(app: Flask | None = None) -> Database:
    return (app or current_app).extensions[EXTENSION]


def request_session() -> Session:
    """The session of the current request / CLI command (closed at app-context teardown); in a
    view marked `@replica_reads` (app/replica.py), the session its reads may take from the replica."""
    if g.get("vbp_replica_reads"):
        from app.replica import read_session

        return read_session()
    return primary_session()


def primary_session() -> Session:
    """The request's session on the primary: writes, and reads that must see the latest data."""
    if "db_session" not in g:
        g.db_session = get_db().sessionmaker()
    return g.db_session


@contextmanager
def unit_of_work(session: Session | None = None) -> Iterator[Session]:
    """Commit on success, roll back on any exception: the only place that commits.

    Callers: API views, CLI commands, scheduler jobs. Services only flush. A unique, foreign-key
    or check violation leaves as a `ConstraintViolated` conflict (409) naming the key's fields.
    """
    session = session or primary_session()  # writes never go to the replica
    if session.info.get("uow_active"):
        # Inside an outer unit of work (an idempotent request): the outer boundary commits.
        yield session
        return
    session.info["uow_active"] = True
    try:
        yield session
        session.commit()
    except IntegrityError as exc:
        # A unique key taken by a concurrent write (or a parent removed under it) is a conflict
        # the caller can act on, whichever service wrote: one mapping here (core/integrity.py).
        session.rollback()
        conflict = violation_conflict(exc)
        if conflict is None:
            raise
        raise conflict from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.info.pop("uow_active", None)
