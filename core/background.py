"""Background jobs: the durable record of a long job (the province's statements, a report) that
workers of a task queue, or the requesting process itself, carry out unit by unit.

The database, not the broker, holds a job's truth. A job is split into units (one hospital's
statements, one hospital's PDFs …); each unit's effects commit in the same transaction as its
row in `background_job_units`, whose (job, unit) key is unique. A worker killed mid-unit leaves
neither; the redelivered message runs the unit again, and a unit already committed is skipped,
so however often a message is delivered, every unit takes effect exactly once.

Status moves through ONE table (JOB_STATES): queued → running → succeeded | failed;
running → queued when a worker was lost and the job is taken up again; failed → queued on a
manual retry. Every move is audited.
"""

from __future__ import annotations

import enum
import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Integer,
    LargeBinary,
    Select,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit
from core.actors import Actor
from core.db import Base, BigId, IdPK, str_enum
from core.errors import NotFound
from core.glossary import terms_of
from core.states import Machine


class BackgroundJobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


_S = BackgroundJobStatus
JOB_STATES: Machine[BackgroundJobStatus] = Machine(
    "后台任务 (background job)",
    {
        _S.QUEUED: frozenset({_S.RUNNING}),
        _S.RUNNING: frozenset({_S.SUCCEEDED, _S.FAILED, _S.QUEUED}),
        _S.SUCCEEDED: frozenset(),
        _S.FAILED: frozenset({_S.QUEUED}),
    },
    labels=terms_of(BackgroundJobStatus),  #: core/glossary.py
)


class BackgroundJob(Base):
    __tablename__ = "background_jobs"

    id: Mapped[IdPK]
    #: What the job does: a key of the shell's registry (app/background.py), e.g. "statements".
    kind: Mapped[str] = mapped_column(String(60), index=True)
    #: Everything a unit needs (period, fixed `now`, output folder …): a retry sees the same.
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[BackgroundJobStatus] = mapped_column(
        str_enum(BackgroundJobStatus, "background_job_status")
    )
    #: Units committed / units planned (0 until a worker planned the job).
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    #: How many times a worker took the job up (1 + retries after a lost worker or a failure).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    #: The requesting organization: it and the bureau may follow the job (None: the platform).
    requested_org_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    #: A retried request or a second scheduler tick names the same key and gets the same job.
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class BackgroundJobUnit(Base):
    """One committed unit of a job: written with the unit's effects, in their transaction."""

    __tablename__ = "background_job_units"
    __table_args__ = (UniqueConstraint("job_id", "unit_key", name="one_row_per_unit"),)

    id: Mapped[IdPK]
    job_id: Mapped[int] = mapped_column(BigId, ForeignKey("background_jobs.id"))
    unit_key: Mapped[str] = mapped_column(String(120))
    #: What the unit did (counts), summed into the job's result at the end.
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    done_at: Mapped[datetime]


class BackgroundJobInput(Base):
    """A file a job works on (an upload above the size the request handles itself), kept in the
    database so any worker, on any machine, reads the same bytes; dropped when the job succeeds."""

    __tablename__ = "background_job_inputs"
    __table_args__ = (UniqueConstraint("job_id", "name", name="one_input_per_name"),)

    id: Mapped[IdPK]
    job_id: Mapped[int] = mapped_column(BigId, ForeignKey("background_jobs.id"))
    name: Mapped[str] = mapped_column(String(255))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    #: Hex digest of `content`: a retried request with the same key must send the same file.
    sha256: Mapped[str] = mapped_column(String(64))


def store_input(session: Session, job: BackgroundJob, name: str, content: bytes) -> BackgroundJobInput:
    row = BackgroundJobInput(
        job_id=job.id, name=name, content=content, sha256=hashlib.sha256(content).hexdigest()
    )
    session.add(row)
    session.flush()
    return row


def job_input(session: Session, input_id: int) -> BackgroundJobInput:
    found = session.get(BackgroundJobInput, input_id)
    if found is None:
        raise NotFound("后台任务的输入文件不存在 (the job's input file is gone)")
    return found


def drop_input(session: Session, found: BackgroundJobInput) -> None:
    session.delete(found)
    session.flush()


def jobs_visible_to(actor: Actor) -> Select[tuple[BackgroundJob]]:
    """The requester's organization and the bureau; anyone else sees nothing."""
    stmt = select(BackgroundJob)
    if actor.is_bureau:
        return stmt
    return stmt.where(BackgroundJob.requested_org_id == actor.org_id)


def get_job(session: Session, actor: Actor, job_id: int, *, for_update: bool = False) -> BackgroundJob:
    stmt = jobs_visible_to(actor).where(BackgroundJob.id == job_id)
    job = session.scalars(stmt.with_for_update() if for_update else stmt).first()
    if job is None:
        raise NotFound("后台任务不存在 (background job not found)")
    return job


def create_job(
    session: Session,
    actor: Actor,
    *,
    kind: str,
    params: dict[str, Any],
    idempotency_key: str | None,
    now: datetime,
) -> tuple[BackgroundJob, bool]:
    """A queued job, or the one already made under `idempotency_key` (then `False`)."""
    if idempotency_key is not None:
        existing = session.scalars(
            select(BackgroundJob).where(BackgroundJob.idempotency_key == idempotency_key)
        ).first()
        if existing is not None:
            return existing, False
    job = BackgroundJob(
        kind=kind,
        params=params,
        status=BackgroundJobStatus.QUEUED,
        progress_done=0,
        progress_total=0,
        attempts=0,
        requested_by=actor.user_id,
        requested_org_id=actor.org_id,
        idempotency_key=idempotency_key,
        created_at=now,
    )
    session.add(job)
    session.flush()
    audit.record(
        session,
        actor,
        "background_job.enqueue",
        subject_type="background_job",
        subject_id=job.id,
        subject_org_id=actor.org_id,
        after={"kind": kind, "params": params, "status": job.status},
        now=now,
    )
    return job, True


def move(
    session: Session,
    actor: Actor,
    job: BackgroundJob,
    target: BackgroundJobStatus,
    *,
    now: datetime,
    **values: Any,
) -> BackgroundJob:
    """Move the job through JOB_STATES (409 if illegal), set `values`, audit the change."""
    before = job.status
    JOB_STATES.move(job, target)
    for name, value in values.items():
        setattr(job, name, value)
    session.flush()
    audit.record(
        session,
        actor,
        f"background_job.{target.value}",
        subject_type="background_job",
        subject_id=job.id,
        subject_org_id=job.requested_org_id,
        before={"status": before},
        after={"status": target, "attempts": job.attempts, **({"error": job.error} if job.error else {})},
        now=now,
    )
    return job


def unit_done(session: Session, job_id: int, unit_key: str) -> bool:
    found = session.scalar(
        select(BackgroundJobUnit.id).where(
            BackgroundJobUnit.job_id == job_id, BackgroundJobUnit.unit_key == unit_key
        )
    )
    return found is not None


def unit_results(session: Session, job_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(BackgroundJobUnit.result)
        .where(BackgroundJobUnit.job_id == job_id)
        .order_by(BackgroundJobUnit.unit_key)
    )
    return [r or {} for r in rows]
