"""Idempotency-Key for retried writes: the first answer is stored with the write and replayed.

The decorated view runs inside one unit of work that also holds the key's record, so a write and
its stored answer commit together or not at all. Two concurrent requests with the same key: the
second one's INSERT waits on the unique index (PostgreSQL) or the write lock (SQLite) until the
first commits, then fails (the unit of work answers a conflict on the key's table), and the
stored answer is replayed; nothing is created twice.

The store keeps keyed digests and an encrypted answer only (core/idempotency.py): a stored
answer may be a sealed bid's receipt.
"""

from __future__ import annotations

import base64
import functools
import hmac
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Response, current_app, request
from sqlalchemy import select

from app.auth import current_actor
from app.db import get_db, request_session, unit_of_work
from core import clock
from core.crypto_suites import SM, STANDARD
from core.errors import Conflict, ValidationFailed
from core.idempotency import IdempotencyRecord, ReplayKeys, ReplayUnreadable
from core.integrity import ConstraintViolated

F = TypeVar("F", bound=Callable[..., Any])
HEADER = "Idempotency-Key"
REPLAY_HEADER = "Idempotent-Replayed"


def replay_keys() -> ReplayKeys:
    """The app's idempotency keys, derived from SECRET_KEY and the bid-sealing keys (never stored),
    for every suite whose sealing key is configured; new records use the platform's suite."""
    keys = current_app.extensions.get("vbp.replay_keys")
    if keys is None:
        config = current_app.config["VBP"]
        sealing = {STANDARD: config.bid_sealing_key, SM: config.bid_sealing_key_sm4}
        keys = ReplayKeys(
            config.secret_key.encode(),
            {name: base64.urlsafe_b64decode(key) for name, key in sealing.items() if key},
            suite=config.crypto_suite,
        )
        current_app.extensions["vbp.replay_keys"] = keys
    return keys


def _bound_to(record: IdempotencyRecord) -> str:
    return f"{record.user_id}\n{record.key}\n{record.method}\n{record.path}"


def _replay(record: IdempotencyRecord) -> Response:
    # Under the record's own suite (found by its key's digest, so that suite's keys are here):
    # the retry may come after a switch of suites.
    keys = replay_keys()
    request_hash = keys.fingerprint(request.method, request.path, request.get_data(cache=True), record.suite)
    if not hmac.compare_digest(record.request_hash, request_hash):
        raise Conflict(
            "同一幂等键用于了不同的请求 (Idempotency-Key reused for a different request)",
            code="idempotency_key_reused",
            fields={HEADER: ["已用于另一请求 (used for another request)"]},
        )
    try:
        body = keys.open_answer(record.response_body, bound_to=_bound_to(record), suite=record.suite)
    except ReplayUnreadable as exc:
        raise Conflict(
            "无法重放该幂等键的应答，请使用新的幂等键 (the stored answer cannot be replayed; use a new key)",
            code="idempotency_record_unreadable",
            fields={HEADER: ["请使用新的幂等键 (use a new key)"]},
        ) from exc
    response = Response(body, status=record.status_code, mimetype="application/json")
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
            actor, keys = current_actor(), replay_keys()
            request_hash = keys.fingerprint(request.method, request.path, request.get_data(cache=True))
            stored_key = keys.key_digest(actor.user_id or 0, key)
            session = request_session()
            stored = session.scalars(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.user_id == actor.user_id,
                    IdempotencyRecord.key.in_(keys.key_digests(actor.user_id or 0, key)),
                )
            ).first()
            if stored is not None:
                return _replay(stored)
            try:
                with unit_of_work(session):
                    record = IdempotencyRecord(
                        user_id=actor.user_id,
                        key=stored_key,
                        method=request.method,
                        path=request.path[:300],
                        request_hash=request_hash,
                        status_code=0,
                        response_body="",
                        created_at=clock.now(),
                        suite=keys.suite.name,
                    )
                    session.add(record)
                    session.flush()  # claim the key first: a concurrent twin waits here
                    response = cast(Response, view(*args, **kwargs))
                    if response.status_code >= 400:
                        # Failed writes are not remembered: the caller may fix the request and retry.
                        raise _Failed(response)
                    record.status_code = response.status_code
                    record.response_body = keys.seal_answer(
                        response.get_data(as_text=True), bound_to=_bound_to(record)
                    )
            except _Failed as failed:
                return failed.response
            except ConstraintViolated as conflict:
                if conflict.table != IdempotencyRecord.__tablename__:
                    raise  # another key of the write itself: the caller's 409
                with get_db().sessionmaker() as fresh:
                    twin = fresh.scalars(
                        select(IdempotencyRecord).where(
                            IdempotencyRecord.user_id == actor.user_id,
                            IdempotencyRecord.key == stored_key,
                        )
                    ).one()
                    return _replay(twin)
            return response

        return cast(F, wrapper)

    return decorator


class _Failed(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response
