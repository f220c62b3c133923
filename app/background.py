"""Background jobs in the shell: the registry of job kinds, and `enqueue`, which records a job and
hands it to the task queue's workers (VBP_BROKER_URL, app/worker.py) or, with no broker (the
embedded default), runs it here and now, so SQLite needs nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import event
from sqlalchemy.orm import Session

from app import report_jobs
from app.config import Config
from app.db import get_db, unit_of_work
from core import clock
from core.actors import Actor
from core.background import BackgroundJob, BackgroundJobStatus, create_job
from core.background_runner import JobKind, Runner
from reports.statement_job import KIND as STATEMENTS
from reports.statement_job import StatementJob, statement_params

#: Every kind of background job, by the name stored on its record.
KINDS: dict[str, JobKind] = {
    STATEMENTS: StatementJob(),
    report_jobs.KIND: report_jobs.MonthlyReportsJob(),
}

START_TASK = "vbp.start_job"
UNITS_TASK = "vbp.run_units"


def runner(app: Flask | None = None) -> Runner:
    from app.queue_kinds import config_kinds

    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    db = get_db(app)
    kinds = {**KINDS, **config_kinds(app.config["VBP"])}
    return Runner(transaction=lambda: unit_of_work(db.sessionmaker()), kinds=kinds)


def queued(app: Flask | None = None) -> bool:
    """Whether jobs go to workers (a broker is configured) or run in the requesting process."""
    return bool((app or current_app).config["VBP"].broker_url)


def enqueue(
    actor: Actor,
    kind: str,
    params: dict[str, Any],
    *,
    idempotency_key: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    app: Flask | None = None,
) -> BackgroundJob:
    """Record the job (or find the one made under `idempotency_key`) and start it: a message to
    the workers, or, with no broker, the whole job in this process before returning."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    # The request's (or command's) own session: under test, sessions share one connection, and a
    # second session's commit would sit inside the request session's savepoint.
    with unit_of_work() as session:
        job, _created = create_job(
            session, actor, kind=kind, params=params, idempotency_key=idempotency_key, now=clock.now()
        )
    # A job still queued is (re)sent: a start message for a job already taken up plans nothing.
    if job.status is BackgroundJobStatus.QUEUED:
        dispatch(job.id, progress, app=app)
    with get_db(app).sessionmaker() as session:
        return session.get_one(BackgroundJob, job.id)


def dispatch(
    job_id: int, progress: Callable[[int, int], None] | None = None, *, app: Flask | None = None
) -> None:
    """Start a queued job: a message to the workers, or (no broker) the whole job here."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    if queued(app):
        send_start(app.config["VBP"], job_id)
    else:
        runner(app).run_in_process(job_id, progress)


def enqueue_statements(
    actor: Actor,
    period: date,
    *,
    as_of: datetime,
    now: datetime,
    hospital_id: int | None = None,
    out_dir: Path | None = None,
    idempotency_key: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    app: Flask | None = None,
) -> BackgroundJob:
    """The month's statements and PDFs for every hospital × distributor (or one hospital)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    config = app.config["VBP"]
    params = statement_params(
        period=period,
        as_of=as_of,
        now=now,
        out_dir=out_dir or Path(app.instance_path) / "statements" / f"{period:%Y-%m}",
        verify_url_base=config.statement_verify_url_base(),
        options=config.reconcile_options(),
        hospital_id=hospital_id,
    )
    return enqueue(actor, STATEMENTS, params, idempotency_key=idempotency_key, progress=progress, app=app)


def send_start(config: Config, job_id: int) -> None:
    """The start message to the workers' queue."""
    from app.worker import producer

    if not config.broker_url:
        raise RuntimeError("VBP_BROKER_URL is not set: no task queue to send to")
    producer(config.broker_url).send_task(START_TASK, args=[job_id], queue=config.task_queue)


def submit_in(
    session: Session, actor: Actor, kind: str, params: dict[str, Any], *, key: str, config: Config
) -> int:
    """Record a job in the caller's transaction (a scheduler tick) and send its start message
    once that transaction commits: a worker never looks for a job that is not there yet, and a
    tick that rolls back sends nothing. The same key (the next tick, a second scheduler) finds
    the job already made: no second job."""
    job, _created = create_job(session, actor, kind=kind, params=params, idempotency_key=key, now=clock.now())
    # Still queued (new, or its message was lost with a broker that was down): send it (again);
    # a second start message for a job already taken up plans nothing.
    if job.status is BackgroundJobStatus.QUEUED:
        job_id = job.id
        event.listen(session, "after_commit", lambda _s: send_start(config, job_id), once=True)
    return job.id
