"""Reads from a streaming replica (VBP_DATABASE_REPLICA_URL), writes and fresh reads on the primary.

One way to opt in: a view decorated with `@replica_reads` gets the replica's session from
`request_session()` (reports, the reconciliation explorer, exports, the sync feed); a view that
knows only halfway (a list page asked for its export) calls `prefer_replica()`; code outside a
request (CLI reports) uses `get_db().reading()`. Everything else, and every `unit_of_work()`,
stays on the primary, so writes never reach the replica (it is a read-only hot standby anyway).

Read-your-writes without a timer: when a signed-in user's request commits a write, the primary's
WAL position is recorded for that user (core/read_positions.py) before the response leaves. That
user's replica reads then go to the replica only if it has replayed that position; other users
read the replica. An unreachable replica (or a server that is not a standby) is logged and the
read goes to the primary; the replica is tried again after RETRY_AFTER.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, Response, g, has_request_context
from sqlalchemy import create_engine, event
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from core import clock, read_positions

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

#: Response header naming where a replica-eligible request read from (for operators and tests).
HEADER = "X-VBP-Read-From"
#: After a failed attempt the replica is left alone this long (seconds), so that a dead replica
#: does not cost every read a connection timeout.
RETRY_AFTER = 10.0


class Replica:
    """The replica's engine and sessions (read-only transactions) and whether it may serve a read."""

    def __init__(self, url: str, *, pgbouncer: bool = False) -> None:
        # Read-only even if the URL names a writable server by mistake; give up fast if down.
        connect_args: dict[str, Any] = {"connect_timeout": 3}
        if pgbouncer:
            # PgBouncer refuses the `options` startup parameter and pools by transaction: no
            # server-side prepared statements; read-only is asked per transaction instead.
            connect_args["prepare_threshold"] = None
        else:
            connect_args["options"] = "-c default_transaction_read_only=on"
        self.engine = create_engine(
            url, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args=connect_args
        )
        if pgbouncer:

            @event.listens_for(self.engine, "begin")
            def _read_only(connection: Any) -> None:
                connection.exec_driver_sql("SET TRANSACTION READ ONLY")

        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)
        self._down_until = 0.0

    def session_after(self, position: int | None) -> Session | None:
        """A replica session that has replayed at least `position`, or None: read the primary."""
        if time.monotonic() < self._down_until:
            return None
        session = self.sessionmaker()
        try:
            replayed = read_positions.replayed(session)
        except DBAPIError as exc:
            session.close()
            self._down_until = time.monotonic() + RETRY_AFTER
            log.warning("replica unreachable, reading from the primary: %s", exc.orig or exc)
            return None
        if replayed is None:
            session.close()
            self._down_until = time.monotonic() + RETRY_AFTER
            log.warning("VBP_DATABASE_REPLICA_URL is not a standby; reading from the primary")
            return None
        if position is not None and replayed < position:
            session.close()  # behind this user's own write: the primary answers
            return None
        return session


def prefer_replica() -> None:
    """From here on this request's `request_session()` reads may come from the replica."""
    g.vbp_replica_reads = True


def replica_reads(view: F) -> F:
    """Let this view's reads come from the replica (its `request_session()` is the replica's)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        prefer_replica()
        try:
            return view(*args, **kwargs)
        finally:
            g.vbp_replica_reads = False

    return cast(F, wrapper)


def read_session() -> Session:
    """The request's session for replica-eligible reads (the replica's, or the primary's)."""
    from app.db import get_db, primary_session

    if "db_read_session" in g:
        return cast(Session, g.db_read_session)
    replica = get_db().replica
    session = None
    if replica is not None:
        actor = g.get("actor")
        user_id = getattr(actor, "user_id", None)
        position = None if user_id is None else read_positions.position_of(primary_session(), user_id)
        session = replica.session_after(position)
    g.read_from = "primary" if session is None else "replica"
    g.db_read_session = session or primary_session()
    return cast(Session, g.db_read_session)


def install(app: Flask, replica: Replica, primary: sessionmaker[Session]) -> None:
    """Record signed-in users' write positions, send the header, close the replica's session."""

    @event.listens_for(primary, "before_commit")
    def _note_write(session: Session) -> None:
        # Only users' requests: the session touch before authentication has no actor yet.
        if (
            has_request_context()
            and getattr(g.get("actor"), "user_id", None) is not None
            and not session.info.get("vbp_position")
            and read_positions.wrote(session)
        ):
            g.vbp_wrote = True

    @app.after_request
    def _remember(response: Response) -> Response:
        # Before the response leaves: the user's next request must already find the position.
        if g.pop("vbp_wrote", False):
            from app.db import get_db

            try:
                with get_db().sessionmaker() as session:
                    session.info["vbp_position"] = True
                    read_positions.remember(session, g.actor.user_id, now=clock.now())
                    session.commit()
            except DBAPIError:
                # The write itself is committed: answer it; the user's next replica reads may lag.
                log.exception("could not record the write position of user %s", g.actor.user_id)
        if "read_from" in g:
            response.headers[HEADER] = g.read_from
        return response

    @app.teardown_appcontext
    def _close(_exc: BaseException | None) -> None:
        session = g.pop("db_read_session", None)
        if session is not None:
            session.close()
