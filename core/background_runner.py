"""Running a background job (core/background.py), the same way on a queue worker and in process.

`start` plans the job into batches of units (one task-queue message each); `run_batch` carries out
a batch, one transaction per unit, the unit's claim row first: a second delivery of the same unit
waits on the claim's unique key and then skips it. The unit that completes the count finishes the
job in its own transaction. No Flask here: the shell passes the transaction factory (its unit of
work) and the registry of job kinds.
"""

from __future__ import annotations

import logging
import os
import time
import traceback
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import clock
from core.actors import Actor
from core.background import (
    BackgroundJob,
    BackgroundJobStatus,
    BackgroundJobUnit,
    move,
    unit_done,
    unit_results,
)
from core.errors import DomainError
from core.integrity import ConstraintViolated

log = logging.getLogger(__name__)

Transaction = Callable[[], AbstractContextManager[Session]]
Progress = Callable[[int, int], None]
#: Test hook: each unit waits this long inside its transaction, so a test can kill a worker
#: while a job is surely half done (VBP_JOB_UNIT_DELAY_MS; 0 in any real deployment).
UNIT_DELAY_MS = int(os.environ.get("VBP_JOB_UNIT_DELAY_MS", "0"))


class JobKind(Protocol):
    """What a kind of job provides: its units, how to do one, and the summary of all."""

    name: str

    def plan(self, session: Session, params: dict[str, Any]) -> list[list[str]]:
        """Batches of unit keys, in order; each batch is one message (its units run in order)."""
        ...

    def run_unit(self, session: Session, params: dict[str, Any], unit_key: str) -> dict[str, Any]:
        """Do one unit's effects in `session` (the caller commits them with the unit's row)."""
        ...

    def summarize(self, params: dict[str, Any], results: list[dict[str, Any]]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Runner:
    transaction: Transaction
    kinds: Mapping[str, JobKind]

    def _lock(self, session: Session, job_id: int) -> BackgroundJob:
        # Row lock on PostgreSQL; SQLite's writer lock (BEGIN IMMEDIATE) serialises anyway.
        return session.scalars(
            select(BackgroundJob).where(BackgroundJob.id == job_id).with_for_update()
        ).one()

    def start(self, job_id: int, *, again: bool = False) -> list[list[str]]:
        """Take the job up (queued → running) and plan it: the batches still to do. `again`: the
        start message came back because its worker was lost; a running job is then retaken and
        planned anew (units done stay done). Anything else plans nothing."""
        system, now = Actor.system(), clock.now()
        with self.transaction() as session:
            job = self._lock(session, job_id)
            if job.status is BackgroundJobStatus.RUNNING and again:
                move(session, system, job, BackgroundJobStatus.QUEUED, now=now, error="worker lost")
            if job.status is not BackgroundJobStatus.QUEUED:
                return []
            move(
                session,
                system,
                job,
                BackgroundJobStatus.RUNNING,
                now=now,
                attempts=job.attempts + 1,
                started_at=job.started_at or now,
                error=None,
            )
            kind = self.kinds[job.kind]
            batches = kind.plan(session, job.params)
            job.progress_total = sum(len(b) for b in batches)
            done = set(
                session.scalars(select(BackgroundJobUnit.unit_key).where(BackgroundJobUnit.job_id == job_id))
            )
            job.progress_done = len(done)
            if job.progress_done >= job.progress_total:
                self._finish(session, job, now)
                return []
            return [b for b in ([k for k in batch if k not in done] for batch in batches) if b]

    def retake(self, job_id: int) -> None:
        """A message delivered again after its worker was lost: running → queued → running,
        one more attempt, audited (the units done stay done)."""
        system, now = Actor.system(), clock.now()
        with self.transaction() as session:
            job = self._lock(session, job_id)
            if job.status is not BackgroundJobStatus.RUNNING:
                return
            move(session, system, job, BackgroundJobStatus.QUEUED, now=now, error="worker lost")
            move(
                session,
                system,
                job,
                BackgroundJobStatus.RUNNING,
                now=now,
                attempts=job.attempts + 1,
                error=None,
            )

    def run_batch(self, job_id: int, unit_keys: list[str], progress: Progress | None = None) -> None:
        """Carry out the units not yet done, each committed with its claim row."""
        for key in unit_keys:
            try:
                self._run_unit(job_id, key, progress)
            except Exception as exc:
                log.exception("background job %s unit %s failed", job_id, key)
                self.fail(job_id, exc)
                raise

    def _run_unit(self, job_id: int, key: str, progress: Progress | None) -> None:
        try:
            with self.transaction() as session:
                job = session.get_one(BackgroundJob, job_id)
                if job.status is not BackgroundJobStatus.RUNNING or unit_done(session, job_id, key):
                    return
                # The claim first: a concurrent delivery of this unit waits here, then fails on
                # the unique key once this one commits, before doing any of the work.
                unit = BackgroundJobUnit(job_id=job_id, unit_key=key, result=None, done_at=clock.now())
                session.add(unit)
                session.flush()
                if UNIT_DELAY_MS:
                    time.sleep(UNIT_DELAY_MS / 1000)
                unit.result = self.kinds[job.kind].run_unit(session, job.params, key)
                done, total = self._count(session, job_id)
                if done >= total:
                    self._finish(session, self._lock(session, job_id), clock.now())
        except ConstraintViolated as conflict:
            if conflict.constraint is not None and "one_row_per_unit" not in conflict.constraint:
                raise
            log.info("background job %s unit %s already done by another delivery", job_id, key)
            return
        if progress:
            progress(done, total)

    def _count(self, session: Session, job_id: int) -> tuple[int, int]:
        table = BackgroundJob.__table__
        done, total = session.execute(
            update(table)
            .where(table.c.id == job_id)
            .values(progress_done=table.c.progress_done + 1)
            .returning(table.c.progress_done, table.c.progress_total)
        ).one()
        return int(done), int(total)

    def _finish(self, session: Session, job: BackgroundJob, now: datetime) -> None:
        session.refresh(job)
        result = self.kinds[job.kind].summarize(job.params, unit_results(session, job.id))
        move(
            session,
            Actor.system(),
            job,
            BackgroundJobStatus.SUCCEEDED,
            now=now,
            result=result,
            finished_at=now,
        )

    def fail(self, job_id: int, exc: BaseException) -> None:
        with self.transaction() as session:
            job = self._lock(session, job_id)
            if job.status is BackgroundJobStatus.RUNNING:
                error = "".join(traceback.format_exception_only(exc)).strip()[:2000]
                # A refusal on purpose (a bad cell of an upload) keeps its field-level errors, as
                # the synchronous answer would have them; anything else is its message only.
                result = (
                    {"code": exc.code, "message": exc.message, "errors": exc.fields}
                    if isinstance(exc, DomainError)
                    else job.result
                )
                move(
                    session,
                    Actor.system(),
                    job,
                    BackgroundJobStatus.FAILED,
                    now=clock.now(),
                    error=error,
                    result=result,
                    finished_at=clock.now(),
                )

    def run_in_process(self, job_id: int, progress: Progress | None = None) -> None:
        """The whole job here and now (no broker: the embedded default, and the CLI's --wait)."""
        for batch in self.start(job_id):
            self.run_batch(job_id, batch, progress)
