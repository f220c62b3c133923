"""The scheduler: jobs are domain functions run with a fixed tick; each (job, tick) runs once;
a failure is recorded and retried on the next tick; and real scheduler processes — two of them
against one PostgreSQL database — open an overdue batch exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from app.cli import alembic_config
from app.config import Config
from app.db import Database
from app.scheduler import JOBS, Job, JobContext, run_job
from bidding.models import BatchStatus, ProcurementBatch
from core.actors import OrgKind
from core.audit import AuditEvent
from core.jobs import JobRun, JobStatus
from core.organizations import Organization
from tests.conftest import Databases
from tests.factories import make_org
from tests.tendering import (
    AT_OPENING,
    CRYPTO_SUITE,
    DURING_DEMAND,
    SEALER,
    SEALING_KEY,
    SM4_SEALING_KEY,
    TIMELINE,
    World,
    make_world,
)

ROOT = Path(__file__).resolve().parent.parent


def _ready_to_open(session: Session) -> World:
    """A batch with demand and two sealed bids, its opening time passed."""
    world = make_world(session)
    hospital = make_org(session, OrgKind.HOSPITAL, region_code="510104")
    world.hospitals.append(hospital)
    world.to(BatchStatus.DEMAND_COLLECTION, DURING_DEMAND)
    world.report(hospital, world.items[0], 1000)
    world.to(BatchStatus.BIDDING, TIMELINE["demand_closes_at"])
    world.bid("A", world.items[0], "0.2000")
    world.bid("B", world.items[0], "0.3000")
    return world


def _ctx(tmp_path: Path) -> JobContext:
    return JobContext(config=Config(env="testing"), instance_path=tmp_path, sealer_factory=lambda: SEALER)


def test_open_batches_job_opens_a_due_batch_once_per_tick(
    db: Database, session: Session, tmp_path: Path
) -> None:
    world = _ready_to_open(session)
    session.commit()
    job, ctx = JOBS["open_batches"], _ctx(tmp_path)
    early = run_job(db, job, AT_OPENING - timedelta(minutes=1), ctx)
    assert early is not None
    assert (early.status, early.result) == (JobStatus.SUCCEEDED, {"opened_batches": []})
    first = run_job(db, job, AT_OPENING, ctx)
    assert first is not None
    assert (first.status, first.result) == (JobStatus.SUCCEEDED, {"opened_batches": [world.batch.id]})
    assert run_job(db, job, AT_OPENING, ctx) is None  # the same tick again: claimed, skipped
    later = run_job(db, job, AT_OPENING + timedelta(minutes=1), ctx)
    assert later is not None
    assert later.result == {"opened_batches": []}  # no longer due
    session.expire_all()
    assert session.get_one(ProcurementBatch, world.batch.id).status is BatchStatus.OPENED
    runs = session.scalars(select(JobRun).where(JobRun.job == "open_batches").order_by(JobRun.tick)).all()
    assert [r.status for r in runs] == [JobStatus.SUCCEEDED] * 3


def test_a_failing_job_leaves_no_effects_is_recorded_and_runs_again_next_tick(
    db: Database, session: Session, tmp_path: Path
) -> None:
    attempts: list[int] = []

    def flaky(s: Session, tick: object, ctx: JobContext) -> dict[str, object]:
        make_org(s, OrgKind.HOSPITAL, region_code="510104", name="任务写入的医院")
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("上游接口超时 (upstream timeout)")
        return {"attempt": len(attempts)}

    job = Job("flaky", "测试任务", {"minute": "*"}, flaky)
    failed = run_job(db, job, AT_OPENING, _ctx(tmp_path))
    assert failed is not None
    assert failed.status is JobStatus.FAILED
    assert "upstream timeout" in (failed.error or "")
    named = select(func.count()).select_from(Organization).where(Organization.name == "任务写入的医院")
    assert session.scalar(named) == 0  # the failed tick's writes were rolled back
    retried = run_job(db, job, AT_OPENING + timedelta(minutes=1), _ctx(tmp_path))
    assert retried is not None
    assert (retried.status, retried.result) == (JobStatus.SUCCEEDED, {"attempt": 2})
    assert session.scalar(named) == 1


def test_every_job_runs_on_an_empty_province(db: Database, session: Session, tmp_path: Path) -> None:
    tick = AT_OPENING.replace(day=1)
    for job in JOBS.values():
        run = run_job(db, job, tick, _ctx(tmp_path))
        assert run is not None
        assert run.status is JobStatus.SUCCEEDED, (job.name, run.error)


def _committed_database(databases: Databases) -> tuple[str, int]:
    url = databases.new()
    command.upgrade(alembic_config(url), "head")
    engine = create_engine(url)
    with Session(engine) as s, s.begin():
        world = _ready_to_open(s)
        batch_id = world.batch.id
    engine.dispose()
    return url, batch_id


def _scheduler(url: str, tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "VBP_ENV": "development",
        "VBP_BID_SEALING_KEY": SEALING_KEY,
        "VBP_BID_SEALING_KEY_SM4": SM4_SEALING_KEY,
        "VBP_CRYPTO_SUITE": CRYPTO_SUITE,
        "VBP_INSTANCE_PATH": str(tmp_path),
        "FLASK_APP": "wsgi.py",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "scheduler", "run", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


@pytest.mark.postgresql_only
def test_two_scheduler_processes_open_an_overdue_batch_exactly_once(
    databases: Databases, tmp_path: Path
) -> None:
    url, batch_id = _committed_database(databases)
    processes = [_scheduler(url, tmp_path, "--once") for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    engine = create_engine(url)
    with Session(engine) as s:
        assert s.get_one(ProcurementBatch, batch_id).status is BatchStatus.OPENED
        openings = s.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "batch.open")
        )
        runs = s.scalars(select(JobRun).where(JobRun.job == "open_batches")).all()
    engine.dispose()
    assert openings == 1
    opened = [b for r in runs if r.result for b in r.result["opened_batches"]]
    assert opened == [batch_id]
    print(f"two scheduler processes: {len(runs)} claimed tick(s), batch opened {openings} time(s)")


def test_the_scheduler_process_starts_and_runs_its_jobs(databases: Databases, tmp_path: Path) -> None:
    url, batch_id = _committed_database(databases)
    process = _scheduler(url, tmp_path, "--run-now")
    engine = create_engine(url)
    try:
        deadline = 600  # polls, not a timing assertion: the process needs a moment to start
        for _ in range(deadline):
            with Session(engine) as s:
                done = s.scalar(
                    select(func.count())
                    .select_from(JobRun)
                    .where(JobRun.job == "open_batches", JobRun.status == JobStatus.SUCCEEDED)
                )
            if done:
                break
            try:
                process.wait(timeout=0.2)
                pytest.fail(f"scheduler exited early: {process.stdout.read() if process.stdout else ''}")
            except subprocess.TimeoutExpired:
                pass
        with Session(engine) as s:
            assert s.get_one(ProcurementBatch, batch_id).status is BatchStatus.OPENED
    finally:
        process.terminate()
        process.communicate(timeout=30)  # also closes the output pipe
        engine.dispose()
