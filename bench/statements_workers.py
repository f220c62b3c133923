"""Benchmark: the month-end statement job (statements and their PDFs for every hospital ×
distributor) on 1 Celery worker, then on 2, on copies of one generated province (PostgreSQL,
RabbitMQ at VBP_BROKER_URL, default amqp://guest:guest@127.0.0.1:5672//).

    python -m bench.statements_workers                        # 200 hospitals
    python -m bench.statements_workers --hospitals 2000       # the issue's size

(VBP_BENCH_STATEMENT_HOSPITALS sets the default size.)

Prints the seconds on 1 and on 2 workers and the speed-up (target: 2 workers ≥ 1.6 × as fast,
i.e. ≤ 0.625 × the time of 1). Each run gets a fresh copy of the province (PostgreSQL's template),
so both make every statement and PDF; the timing runs from the start message to the job's end,
with the workers already up.
"""

from __future__ import annotations

import argparse
import base64
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.cli import alembic_config  # noqa: E402
from app.config import normalize_database_url  # noqa: E402
from app.db import Database, unit_of_work  # noqa: E402
from bench import generate  # noqa: E402
from bench.common import RESULTS, Result, Row, Target, fresh_database, report  # noqa: E402
from core.actors import Actor  # noqa: E402
from core.background import BackgroundJob, BackgroundJobStatus, create_job  # noqa: E402
from ledger.models import OrderLine, Statement  # noqa: E402
from reports.statement_job import KIND, statement_params  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/vbp_bench_statements"
BROKER = os.environ.get("VBP_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")
AS_OF = datetime(2027, 1, 5, 2, 0, tzinfo=UTC)
#: One worker process each (concurrency 1); no gossip, mingle or heartbeat: nothing to wait for.
CELERY = [sys.executable, "-m", "celery", "-A", "app.worker", "worker", "-c", "1", "--loglevel", "INFO"]
CELERY += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
DEFAULT_HOSPITALS = int(os.environ.get("VBP_BENCH_STATEMENT_HOSPITALS", "200"))


def prepare(url: str, *, hospitals: int, seed: int = 1) -> date:
    """A fresh database with a generated province; the month with the most orders."""
    fresh_database(url)
    command.upgrade(alembic_config(url), "head")
    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        generate.generate(
            session,
            scale=generate.Scale.custom(order_lines=hospitals * 60, hospitals=hospitals),
            seed=seed,
            as_of=AS_OF,
        )
    with Session(engine) as session:
        month = func.date_trunc("month", OrderLine.ordered_on)
        top = session.execute(
            select(month, func.count()).group_by(month).order_by(func.count().desc())
        ).first()
    engine.dispose()
    assert top is not None
    return date(top[0].year, top[0].month, 1)


def _copy(url: str, suffix: str) -> str:
    parsed = make_url(url)
    name = f"{parsed.database}_{suffix}"
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{parsed.database}"'))
    admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


def _drop(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    admin.dispose()


def _workers(url: str, queue: str, n: int, folder: Path) -> list[tuple[subprocess.Popen[bytes], Path]]:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "VBP_ENV": "development",
        "VBP_INSTANCE_PATH": str(folder),
        "VBP_BID_SEALING_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
        "VBP_BID_SEALING_KEY_SM4": base64.urlsafe_b64encode(os.urandom(16)).decode(),
        "VBP_BROKER_URL": BROKER,
        "VBP_TASK_QUEUE": queue,
        "VBP_JOB_UNIT_DELAY_MS": "0",
    }
    started = []
    for i in range(n):
        log = folder / f"worker-{i}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [*CELERY, "-Q", queue, "-n", f"bench{i}-{queue}@%h"],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started.append((process, log))
    deadline = time.monotonic() + 120
    while not all(b" ready." in log.read_bytes() for _, log in started):
        if time.monotonic() > deadline or any(p.poll() is not None for p, _ in started):
            logs = "\n".join(log.read_text()[-1500:] for _, log in started)
            raise RuntimeError(f"workers did not start: {[p.poll() for p, _ in started]}\n{logs}")
        time.sleep(0.1)
    return started


def _timed_job(url: str, n_workers: int, period: date, folder: Path) -> tuple[float, dict[str, Any]]:
    """Seconds from the start message to the job's end, on `n_workers` workers already up."""
    from app.background import START_TASK
    from app.worker import producer

    queue = f"vbp-bench-{uuid.uuid4().hex[:8]}"
    db = Database(url)
    params = statement_params(
        period=period, as_of=AS_OF, now=AS_OF, out_dir=folder / "pdf", verify_url_base="https://vbp.example/v"
    )
    with unit_of_work(db.sessionmaker()) as session:
        job, _ = create_job(
            session, Actor.system(), kind=KIND, params=params, idempotency_key=None, now=AS_OF
        )
    workers = _workers(url, queue, n_workers, folder)
    try:
        start = time.perf_counter()
        producer(BROKER).send_task(START_TASK, args=[job.id], queue=queue)
        while True:
            with db.sessionmaker() as session:
                done = session.get_one(BackgroundJob, job.id)
            if done.status in (BackgroundJobStatus.SUCCEEDED, BackgroundJobStatus.FAILED):
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - start
        if done.status is BackgroundJobStatus.FAILED:
            raise RuntimeError(f"job failed: {done.error}")
        with db.sessionmaker() as session:
            statements = session.scalar(select(func.count()).select_from(Statement))
    finally:
        for process, _ in workers:
            process.terminate()
        for process, _ in workers:
            process.wait(timeout=60)
        with producer(BROKER).connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)
        db.engine.dispose()
    return seconds, {**(done.result or {}), "units": done.progress_total, "statements": statements}


def run(url: str = DEFAULT_URL, *, hospitals: int = DEFAULT_HOSPITALS, seed: int = 1) -> Result:
    """Generate the province, then time the statement job on 1 worker and on 2."""
    period = prepare(url, hospitals=hospitals, seed=seed)
    timings: dict[int, tuple[float, dict[str, Any]]] = {}
    for n in (1, 2):
        copy = _copy(url, f"w{n}")
        try:
            with tempfile.TemporaryDirectory(prefix=f"vbp-bench-w{n}-") as tmp:
                timings[n] = _timed_job(copy, n, period, Path(tmp))
        finally:
            _drop(copy)
    (one, first), (two, second) = timings[1], timings[2]
    assert first["pdfs"] == second["pdfs"], "both runs make the same documents"
    return Result(
        "statements_workers",
        [
            Row(
                "statements_workers",
                f"month-end statements with PDFs, {hospitals:,} hospitals "
                f"({first['pdfs']:,} PDFs), 2 workers",
                two,
                "s",
                one,
                "the same job on 1 worker",
                Target("ratio", "<=", 1 / 1.6, "2 workers ≥ 1.6× as fast as 1"),
            )
        ],
        {
            "hospitals": hospitals,
            "period": f"{period:%Y-%m}",
            "units": first["units"],
            "statements": first["statements"],
            "pdfs": first["pdfs"],
            "seconds_1_worker": round(one, 2),
            "seconds_2_workers": round(two, 2),
            "speed_up": round(one / two, 2),
            "cpus": os.cpu_count(),
        },
        url,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=DEFAULT_URL, help="dropped and recreated")
    parser.add_argument("--hospitals", type=int, default=DEFAULT_HOSPITALS)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS / "statements_workers.json")
    args = parser.parse_args()
    url = normalize_database_url(args.database_url)
    result = run(url, hospitals=args.hospitals, seed=args.seed)
    report([result], args.out, database_url=url)
    print(f"speed-up on 2 workers: {result.details['speed_up']}×")


if __name__ == "__main__":
    main()
