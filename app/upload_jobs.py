"""Uploads above VBP_UPLOAD_JOB_ROWS data rows go to the background workers.

The request reads the file only up to the threshold: what is cheap to check (type, size, the
workbook's parts, the header) is refused at once with the same 4xx as ever; a file that is
small enough is handed to the view already read (the view answers as it always has); a larger
one is stored with a new job (core/background.py BackgroundJobInput) and answered 202 with the
job and its Location. An Idempotency-Key names the same job again (409 if with another file).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

from flask import current_app, g, jsonify, request, url_for

from app.auth import current_actor
from app.background import dispatch
from app.db import get_db, unit_of_work
from core import clock
from core.actors import Actor
from core.background import BackgroundJob, BackgroundJobStatus, create_job, store_input
from core.errors import Conflict, DomainError, ValidationFailed
from core.spreadsheets import Column, RowLimitExceeded, Table, read_table

F = TypeVar("F", bound=Callable[..., Any])
Params = Callable[[Actor, str, str], dict[str, Any]]
_TABLE = "vbp_uploaded_table"


def screened_table() -> Table | None:
    """The table the size check already read for this request (once)."""
    return cast(Table | None, g.pop(_TABLE, None))


def _screen(columns: Sequence[Column], threshold: int) -> Table | tuple[str, bytes]:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationFailed(
            fields={"file": ["请上传 xlsx 或 csv 文件 (upload an xlsx or csv file as 'file')"]}
        )
    limits = current_app.config["VBP"].spreadsheet_limits()
    data = upload.read(limits.max_bytes + 1)
    if threshold >= limits.max_rows:
        return read_table(data, filename=upload.filename, columns=columns, limits=limits)
    try:
        short = dataclasses.replace(limits, max_rows=threshold)
        return read_table(data, filename=upload.filename, columns=columns, limits=short)
    except RowLimitExceeded:
        return upload.filename, data


def above_threshold_as_job(columns: Sequence[Column], kind: str, params: Params) -> Callable[[F], F]:
    """Outside the view's Idempotency-Key handling (app/idempotency.py), whose transaction would
    hold the new job uncommitted while it runs; the job's own key does that part here."""

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            request.get_data(cache=True)  # the body as the idempotency fingerprint reads it
            screened = _screen(columns, current_app.config["VBP"].upload_job_rows)
            if isinstance(screened, Table):
                g.setdefault(_TABLE, screened)
                return view(*args, **kwargs)
            filename, data = screened
            job = start_upload_job(current_actor(), kind, filename, data, params)
            body = jsonify(_job_schema().dump(job))
            body.status_code = 202
            body.headers["Location"] = url_for("background_jobs.get_background_job", job_id=job.id)
            return body

        return cast(F, wrapper)

    return decorator


def _job_schema() -> Any:
    from app.api.background_jobs import BackgroundJobSchema

    return BackgroundJobSchema()


def start_upload_job(actor: Actor, kind: str, filename: str, data: bytes, params: Params) -> BackgroundJob:
    """Record the job with the file's bytes, then start it (a worker, or here with no broker). A
    refusal of the file fails the job with its errors: the answer is still 202, the job says why."""
    digest = hashlib.sha256(data).hexdigest()
    header = request.headers.get("Idempotency-Key", "").strip()
    key = f"upload:{kind}:{actor.user_id}:{header}"[:200] if header else None
    with unit_of_work() as session:
        job, created = create_job(
            session,
            actor,
            kind=kind,
            params=params(actor, filename, digest),
            idempotency_key=key,
            now=clock.now(),
        )
        if not created and job.params.get("sha256") != digest:
            raise Conflict(
                "同一幂等键用于了不同的请求 (Idempotency-Key reused for a different request)",
                code="idempotency_key_reused",
                fields={"Idempotency-Key": ["已用于另一请求 (used for another request)"]},
            )
        if created:
            stored = store_input(session, job, "file", data)
            job.params = {**job.params, "input_id": stored.id}
        job_id, queued = job.id, job.status is BackgroundJobStatus.QUEUED
    if queued:  # new, or its start message was lost: (re)sent; a job taken up plans nothing
        # Run in process and refused: the job is failed with the errors (its result); still 202.
        with contextlib.suppress(DomainError):
            dispatch(job_id)
    with get_db().sessionmaker() as session:
        return session.get_one(BackgroundJob, job_id)
