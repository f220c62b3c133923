"""Idempotency-Key for retried writes: the first answer is stored with the write and replayed.

The decorated view runs inside one unit of work that also holds the key's record, so a write and
its stored answer commit together or not at all. Two concurrent requests with the same key: the
second one's INSERT waits on the unique index (PostgreSQL) or the write lock (SQLite) until the
first commits, then fails (the unit of work answers a conflict on the key's table), and the
stored answer is replayed; nothing is created twice.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Response, request
from sqlalchemy import select

from app.auth import current_actor
from app.db import get_db, request_session, unit_of_work
from core import clock
from core.errors import Conflict, ValidationFailed
from core.idempotency import IdempotencyRecord
from core.integrity import ConstraintViolated

F = TypeVar("F", bound=Callable[..., Any])
HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"


def _request_hash() -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode() + b" " + request.path.encode() + b"\n")
    digest.update(request.get_data(cache=True))
    return digest.hexdigest()


def _replay(record: IdempotencyRecord, request_hash: str) -> Response:
    if record.request_hash != request_hash:
        raise Conflict(
            "同一幂等键用于了不同的请求 (Idempotency-Key reused for a different request)",
            code="idempotency_key_reused",
            fields={HEADER: ["已用于另一请求 (used for another request)"]},
        )
    response = Response(record.response_body, status=record.status_code, mimetype="application/json")
    response.headers[REPLAY_HEADER] = "true"
    return response


def idempotent(required: bool = False) -> Callable[[F], F]:
    """Honour the Idempotency-Key header on a write view (required=True: refuse requests without it)."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            key = request.headers.get(HEADER, "").strip()
            if not key:
                if required:
                    raise ValidationFailed(fields={HEADER: ["必填请求头 (required header)"]})
                return view(*args, **kwargs)
            if len(key) > 100:
                raise ValidationFailed(fields={HEADER: ["最长100个字符 (at most 100 characters)"]})
            actor, request_hash = current_actor(), _request_hash()
            session = request_session()
            stored = session.scalars(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.user_id == actor.user_id, IdempotencyRecord.key == key
                )
            ).first()
            if stored is not None:
                return _replay(stored, request_hash)
            try:
                with unit_of_work(session):
                    record = IdempotencyRecord(
                        user_id=actor.user_id,
                        key=key,
                        method=request.method,
                        path=request.path[:300],
                        request_hash=request_hash,
                        status_code=0,
                        response_body="",
                        created_at=clock.now(),
                    )
                    session.add(record)
                    session.flush()  # claim the key first: a concurrent twin waits here
                    response = cast(Response, view(*args, **kwargs))
                    if response.status_code >= 400:
                        # Failed writes are not remembered: the caller may fix the request and retry.
                        raise _Failed(response)
                    record.status_code = response.status_code
                    record.response_body = response.get_data(as_text=True)
            except _Failed as failed:
                return failed.response
            except ConstraintViolated as conflict:
                if conflict.table != IdempotencyRecord.__tablename__:
                    raise  # another key of the write itself: the caller's 409
                with get_db().sessionmaker() as fresh:
                    twin = fresh.scalars(
                        select(IdempotencyRecord).where(
                            IdempotencyRecord.user_id == actor.user_id, IdempotencyRecord.key == key
                        )
                    ).one()
                    return _replay(twin, request_hash)
            return response

        return cast(F, wrapper)

    return decorator


class _Failed(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response
