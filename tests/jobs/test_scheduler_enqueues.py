"""With a broker, the scheduler's month-end enqueues the statements and the reports as background
jobs (one per month, however many ticks), sent only once its transaction committed; the reports
job, run by the same runner a worker uses, writes every report."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.background import KINDS
from app.config import Config
from app.db import Database, unit_of_work
from app.report_jobs import KIND as REPORTS
from app.scheduler import JOBS, JobContext, run_job
from app.worker import producer
from core.background import BackgroundJob, BackgroundJobStatus
from core.background_runner import Runner
from core.jobs import JobStatus
from reports.statement_job import KIND as STATEMENTS
from tests.jobs.test_worker_killed import BROKER, _broker_up
from tests.tendering import SEALER

pytestmark = pytest.mark.skipif(not _broker_up(), reason="RabbitMQ is not reachable on 127.0.0.1:5672")

TICK = datetime(2031, 3, 1, 3, 0, tzinfo=UTC)


@pytest.fixture
def queue() -> Iterator[str]:
    name = f"vbp-test-{uuid.uuid4().hex[:10]}"
    yield name
    with producer(BROKER).connection_for_write() as conn:
        conn.default_channel.queue_delete(name)


def _waiting(queue: str) -> int:
    with producer(BROKER).connection_for_write() as conn:
        return int(conn.default_channel.queue_declare(queue, passive=True).message_count)


def test_the_month_end_tick_enqueues_one_statement_job_and_one_report_job(
    db: Database, session: Session, queue: str, tmp_path: Path
) -> None:
    config = Config(env="testing", broker_url=BROKER, task_queue=queue)
    ctx = JobContext(config=config, instance_path=tmp_path, sealer_factory=lambda: SEALER)
    first = run_job(db, JOBS["monthly_documents"], TICK, ctx)
    again = run_job(db, JOBS["monthly_documents"], TICK + timedelta(minutes=1), ctx)
    assert first is not None
    assert again is not None
    assert (first.status, again.status) == (JobStatus.SUCCEEDED, JobStatus.SUCCEEDED), first.error
    assert first.result == again.result
    assert first.result["period"] == "2031-02"
    jobs = session.scalars(select(BackgroundJob).order_by(BackgroundJob.id)).all()
    assert [j.kind for j in jobs if j.id in first.result["background_jobs"].values()] == [STATEMENTS, REPORTS]
    # One job each; the second tick sent their start messages again (both still queued: no
    # worker here), which a worker would answer by planning nothing.
    assert _waiting(queue) == 4

    reports_id = first.result["background_jobs"][REPORTS]
    Runner(transaction=lambda: unit_of_work(db.sessionmaker()), kinds=KINDS).run_in_process(reports_id)
    session.expire_all()
    done = session.get_one(BackgroundJob, reports_id)
    assert done.status is BackgroundJobStatus.SUCCEEDED, done.error
    assert (done.progress_done, done.progress_total) == (7, 7)
    assert "supervision-2031-02.pdf" in done.result["files"]
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == done.result["files"]


@pytest.mark.parametrize(
    ("job", "kind"), [("nightly_reconciliation", "reconciliation_run"), ("supervision_warnings", "warnings")]
)
def test_nightly_jobs_are_enqueued_once_a_day_and_a_worker_completes_them(
    db: Database, session: Session, queue: str, tmp_path: Path, job: str, kind: str
) -> None:
    from app.queue_kinds import config_kinds

    config = Config(env="testing", broker_url=BROKER, task_queue=queue)
    ctx = JobContext(config=config, instance_path=tmp_path, sealer_factory=lambda: SEALER)
    first = run_job(db, JOBS[job], TICK, ctx)
    later = run_job(db, JOBS[job], TICK + timedelta(hours=1), ctx)  # a second tick the same day
    assert first is not None
    assert later is not None
    assert first.status is JobStatus.SUCCEEDED, first.error
    job_id = first.result["background_job"]
    assert later.result["background_job"] == job_id
    assert [j.kind for j in session.scalars(select(BackgroundJob).where(BackgroundJob.id == job_id))] == [
        kind
    ]
    assert _waiting(queue) >= 1  # sent to the workers, not run by the scheduler
    Runner(transaction=lambda: unit_of_work(db.sessionmaker()), kinds=config_kinds(config)).run_in_process(
        job_id
    )
    session.expire_all()
    done = session.get_one(BackgroundJob, job_id)
    assert done.status is BackgroundJobStatus.SUCCEEDED, done.error
    assert done.progress_done == done.progress_total > 0
