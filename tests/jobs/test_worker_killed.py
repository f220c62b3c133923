"""A real Celery worker on RabbitMQ and PostgreSQL, killed (SIGKILL, its whole process group) in the
middle of the province's statement job: a fresh worker takes the job up again, every unit takes
effect once, and the statements and PDFs equal those of an uninterrupted run on a twin database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app.background import KINDS, START_TASK
from app.cli import alembic_config
from app.db import Database, unit_of_work
from app.worker import producer
from core.actors import Actor
from core.audit import AuditEvent
from core.background import BackgroundJob, BackgroundJobStatus, BackgroundJobUnit, create_job
from core.background_runner import Runner
from ledger.models import OrderLine
from reports.statement_job import KIND, statement_params
from tests.conftest import PG_ADMIN_URL, Databases
from tests.jobs.province import AS_OF, NOW, pdf_texts, seed_province, statements_of
from tests.tendering import CRYPTO_SUITE, SEALING_KEY, SM4_SEALING_KEY

ROOT = Path(__file__).resolve().parents[2]
BROKER = os.environ.get("VBP_TEST_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
VERIFY = "https://vbp.example.gov.cn/verify"


def _broker_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=2):
            return True
    except OSError:
        return False


pytestmark = [
    pytest.mark.postgresql_only,
    pytest.mark.skipif(
        not _broker_up(), reason="RabbitMQ is not reachable on 127.0.0.1:5672 (.ci/run starts it)"
    ),
]


@pytest.fixture
def queue() -> Iterator[str]:
    """A queue of this test's own: the SQLite and PostgreSQL runs never take each other's messages."""
    name = f"vbp-test-{uuid.uuid4().hex[:10]}"
    yield name
    with producer(BROKER).connection_for_write() as conn:
        conn.default_channel.queue_delete(name)


def _province(databases: Databases) -> tuple[Database, Database]:
    """The seeded province, and its twin: a copy of the same database (PostgreSQL's template)."""
    url = databases.new()
    command.upgrade(alembic_config(url), "head")
    db = Database(url)
    with unit_of_work(db.sessionmaker()) as session:
        seed_province(session)
    db.engine.dispose()  # a template database must have no connections
    source = make_url(url).database
    twin = f"{source}_twin"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{twin}" TEMPLATE "{source}"'))
    admin.dispose()
    databases.created.append(twin)
    return db, Database(make_url(url).set(database=twin).render_as_string(hide_password=False))


def _job(db: Database, out: Path) -> tuple[int, str]:
    with db.sessionmaker() as session:
        period = seed_period(session)
    params = statement_params(period=period, as_of=AS_OF, now=NOW, out_dir=out, verify_url_base=VERIFY)
    with unit_of_work(db.sessionmaker()) as session:
        job, _ = create_job(session, Actor.system(), kind=KIND, params=params, idempotency_key=None, now=NOW)
    return job.id, params["period"]


def seed_period(session: Session) -> date:
    month = func.date_trunc("month", OrderLine.ordered_on)
    top = session.execute(
        select(month, func.count()).group_by(month).order_by(func.count().desc(), month)
    ).first()
    assert top is not None
    return date(top[0].year, top[0].month, 1)


def _worker(url: str, queue: str, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "VBP_ENV": "development",
        "VBP_BID_SEALING_KEY": SEALING_KEY,
        "VBP_BID_SEALING_KEY_SM4": SM4_SEALING_KEY,
        "VBP_CRYPTO_SUITE": CRYPTO_SUITE,
        "VBP_INSTANCE_PATH": str(log.parent),
        "VBP_BROKER_URL": BROKER,
        "VBP_TASK_QUEUE": queue,
        # Each unit lingers inside its transaction, so the kill surely lands mid-job.
        "VBP_JOB_UNIT_DELAY_MS": "200",
    }
    args = ["-A", "app.worker", "worker", "-Q", queue, "--concurrency", "1", "--loglevel", "INFO"]
    quiet = ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", *args, *quiet],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the kill takes the pool's child too
        )


def _progress(db: Database, job_id: int) -> tuple[BackgroundJobStatus, int, int]:
    with db.sessionmaker() as session:
        job = session.get_one(BackgroundJob, job_id)
        return job.status, job.progress_done, job.progress_total


def _wait(
    db: Database, job_id: int, done: object, log: Path, seconds: float = 180
) -> tuple[BackgroundJobStatus, int, int]:
    # Polls with a generous ceiling, not a timing assertion: workers need a moment to start.
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        state = _progress(db, job_id)
        if done(*state):  # type: ignore[operator]
            return state
        time.sleep(0.1)
    pytest.fail(f"job {job_id} stuck at {_progress(db, job_id)}; worker log:\n{log.read_text()[-4000:]}")


def test_a_worker_killed_mid_job_loses_nothing_and_the_retry_completes_it_once(
    databases: Databases, queue: str, tmp_path: Path
) -> None:
    db, twin = _province(databases)
    url = db.engine.url.render_as_string(hide_password=False)
    job_id, period = _job(db, tmp_path / "killed")
    twin_job, _ = _job(twin, tmp_path / "uninterrupted")
    Runner(transaction=lambda: unit_of_work(twin.sessionmaker()), kinds=KINDS).run_in_process(twin_job)

    log = tmp_path / "worker.log"
    first = _worker(url, queue, log)
    try:
        producer(BROKER).send_task(START_TASK, args=[job_id], queue=queue)
        status, done, total = _wait(db, job_id, lambda s, d, t: d >= 2, log)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
        status, done, total = _progress(db, job_id)
        assert status is BackgroundJobStatus.RUNNING
        assert 0 < done < total, "killed in the middle of the job"
        second = _worker(url, queue, log)
        try:
            _wait(db, job_id, lambda s, d, t: s is not BackgroundJobStatus.RUNNING, log)
        finally:
            os.killpg(second.pid, signal.SIGTERM)
            second.wait(timeout=60)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)

    with db.sessionmaker() as session:
        job = session.get_one(BackgroundJob, job_id)
        units = session.scalars(
            select(BackgroundJobUnit.unit_key).where(BackgroundJobUnit.job_id == job_id)
        ).all()
        moves = session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.subject_type == "background_job", AuditEvent.subject_id == str(job_id))
            .order_by(AuditEvent.seq)
        ).all()
        killed = statements_of(session, seed_period(session))
    with twin.sessionmaker() as session:
        uninterrupted = statements_of(session, seed_period(session))
        twin_result = session.get_one(BackgroundJob, twin_job).result
    assert job.status is BackgroundJobStatus.SUCCEEDED, job.error
    assert len(units) == len(set(units)) == job.progress_done == job.progress_total == total
    assert job.attempts == 2  # taken up again after the worker was lost
    assert "background_job.queued" in moves  # running → queued (worker lost) → running, audited
    assert all(len(versions) == 1 for versions in killed.values())  # one version per pair
    assert killed == uninterrupted
    assert job.result == {**(twin_result or {}), "folder": str(tmp_path / "killed")}
    assert pdf_texts(tmp_path / "killed") == pdf_texts(tmp_path / "uninterrupted")
    assert not list((tmp_path / "killed").glob(".*.part"))  # no half-written PDF left behind
    db.engine.dispose()
    twin.engine.dispose()
    print(f"killed after {done} of {total} units; finished in {job.attempts} attempts, {period}")
