"""Races that happen for certain, on PostgreSQL with real connections.

Two requests started together on a barrier usually do not overlap: one commits before the other
has read anything. `Rendezvous` holds every racing transaction open at its commit until each
other racer is either also about to commit, blocked on a lock (pg_stat_activity), or finished.
So both read before either commits, unless the code under test serializes them with a lock, in
which case the blocked one is let through as soon as the lock holder commits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, text
from sqlalchemy.orm import Session

from app import create_app
from app.cli import alembic_config
from app.config import Config
from app.db import get_db
from tests.conftest import Databases
from tests.tendering import CRYPTO_SUITE

#: How long a racer waits at its commit for the others before giving up (a hung test fails, it
#: does not hang the suite).
PATIENCE_S = 20.0


def committed_app(databases: Databases, tmp_path: Path, **settings: Any) -> Flask:
    """An app on a database of its own, where every request really commits."""
    url = databases.new()
    command.upgrade(alembic_config(url), "head")
    app = create_app(
        Config(
            env="testing",
            database_url=url,
            secret_key="k" * 40,
            instance_path=str(tmp_path),
            **{"crypto_suite": CRYPTO_SUITE, **settings},
        )
    )
    db = get_db(app)
    db.engine.dispose()
    db.engine = create_engine(url, pool_size=8, max_overflow=0, pool_timeout=60)
    db.sessionmaker.configure(bind=db.engine)
    return app


class Rendezvous:
    """Hold the racers' transactions open at their commit (see the module docstring)."""

    def __init__(self, app: Flask, parties: int, when: Callable[[Session], bool]) -> None:
        self.db, self.parties, self.when = get_db(app), parties, when
        self.arrived = 0
        self.left = 0
        self.lock = threading.Lock()
        self.mine = threading.local()
        self.monitor = create_engine(self.db.engine.url, pool_size=1, max_overflow=0)

    def _blocked(self) -> int:
        with self.monitor.connect() as conn:
            return int(
                conn.execute(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                ).scalar_one()
            )

    def _before_commit(self, session: Session) -> None:
        if getattr(self.mine, "arrived", False) or not self.when(session):
            return
        self.mine.arrived = True
        with self.lock:
            self.arrived += 1
        deadline = time.monotonic() + PATIENCE_S
        while time.monotonic() < deadline:
            with self.lock:
                settled = self.arrived + self.left
            if settled >= self.parties or settled + self._blocked() >= self.parties:
                return
            time.sleep(0.01)
        raise AssertionError("racers never met at their commit")

    def leave(self) -> None:
        """A racer finished (answered) without arriving at a commit: nobody waits for it."""
        if not getattr(self.mine, "arrived", False):
            with self.lock:
                self.left += 1
        self.mine.arrived = False

    @contextmanager
    def installed(self) -> Iterator[Rendezvous]:
        event.listen(self.db.sessionmaker, "before_commit", self._before_commit)
        try:
            yield self
        finally:
            event.remove(self.db.sessionmaker, "before_commit", self._before_commit)
            self.monitor.dispose()


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any


def race(
    app: Flask,
    requests: list[Callable[[FlaskClient], Any]],
    *,
    when: Callable[[Session], bool] = lambda _s: True,
) -> list[Answer]:
    """Send the requests at once, each from its own thread and connection, overlapping for
    certain; an exception escaping a request (a 500 under testing) is answered as 500."""
    rendezvous = Rendezvous(app, len(requests), when)
    barrier = threading.Barrier(len(requests))

    def one(request: Callable[[FlaskClient], Any]) -> Answer:
        client = app.test_client()
        barrier.wait()
        try:
            response = request(client)
            return Answer(response.status_code, response.get_json(silent=True))
        except Exception as exc:  # the unexpected error a 500 hides in production
            return Answer(500, repr(exc))
        finally:
            rendezvous.leave()

    with rendezvous.installed(), ThreadPoolExecutor(len(requests)) as pool:
        return list(pool.map(one, requests))


def in_session(session: Session, *classes: type) -> bool:
    """The session holds (new or loaded) objects of one of the classes: the write under test."""
    return any(isinstance(obj, classes) for obj in [*session.new, *session.identity_map.values()])
