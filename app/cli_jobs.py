"""`flask jobs …`: start background jobs and follow them with a progress bar (the same units
done / total the web page shows). Without a broker the job runs here; with one, workers run it
and the command follows its record in the database."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import click
from flask.cli import AppGroup

from app.background import dispatch, enqueue_statements, queued
from app.cli_reports import _as_of, _month
from app.db import get_db, unit_of_work
from core import clock
from core.actors import Actor
from core.background import JOB_STATES, BackgroundJob, BackgroundJobStatus, get_job, move

jobs_cli = AppGroup("jobs", help="Background jobs (后台任务): start, follow, retry.")

ENDED = (BackgroundJobStatus.SUCCEEDED, BackgroundJobStatus.FAILED)


def _load(job_id: int) -> BackgroundJob:
    with get_db().sessionmaker() as session:
        return get_job(session, Actor.system(), job_id)


def follow_job_until_done(job_id: int, *, poll_seconds: float = 0.5) -> BackgroundJob:
    """A progress bar over the job's units until it ends."""
    job = _load(job_id)
    with click.progressbar(length=max(job.progress_total, 1), label=f"后台任务 #{job_id}") as bar:
        shown = 0
        while True:
            job = _load(job_id)
            if job.progress_total:
                bar.length = job.progress_total
            bar.update(job.progress_done - shown)
            shown = job.progress_done
            if job.status in ENDED:
                break
            time.sleep(poll_seconds)
    return job


def _report(job: BackgroundJob) -> None:
    click.echo(
        f"#{job.id} {job.kind}: {JOB_STATES.label(job.status)} ({job.status.value}) "
        f"{job.progress_done}/{job.progress_total}, 第{job.attempts}次 {job.result or job.error or ''}"
    )
    if job.status is BackgroundJobStatus.FAILED:
        raise SystemExit(1)


@jobs_cli.command("statements")
@click.option("--period", required=True, help="YYYY-MM: the month the orders were placed")
@click.option("--hospital-id", type=int)
@click.option("--as-of", help="judge deadlines at this moment (ISO; default now)")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option(
    "--follow/--no-follow", "follow", default=True, help="with workers: follow the job until it ends"
)
def start_statements(
    period: str, hospital_id: int | None, as_of: str | None, out_dir: Path | None, follow: bool
) -> None:
    """The month's statements and PDFs as a background job (on the workers if a broker is set)."""
    month: date = _month(period)
    if queued():
        job = enqueue_statements(
            Actor.system(),
            month,
            as_of=_as_of(as_of),
            now=clock.now(),
            hospital_id=hospital_id,
            out_dir=out_dir,
        )
        click.echo(f"已提交后台任务 #{job.id} (queued for the workers)")
        _report(follow_job_until_done(job.id) if follow else job)
        return
    with click.progressbar(length=1, label="对账单与PDF (statements and PDFs)") as bar:

        def tick(done: int, total: int) -> None:
            bar.length = total
            bar.update(1)

        job = enqueue_statements(
            Actor.system(),
            month,
            as_of=_as_of(as_of),
            now=clock.now(),
            hospital_id=hospital_id,
            out_dir=out_dir,
            progress=tick,
        )
    _report(job)


@jobs_cli.command("show")
@click.argument("job_id", type=int)
@click.option("--follow", "follow_job", is_flag=True, help="a progress bar until the job ends")
def show(job_id: int, follow_job: bool) -> None:
    """A job's status and progress."""
    _report(follow_job_until_done(job_id) if follow_job else _load(job_id))


@jobs_cli.command("retry")
@click.argument("job_id", type=int)
def retry(job_id: int) -> None:
    """Start a failed job again (failed → queued): units already done stay done."""
    with unit_of_work(get_db().sessionmaker()) as session:
        job = get_job(session, Actor.system(), job_id, for_update=True)
        move(session, Actor.system(), job, BackgroundJobStatus.QUEUED, now=clock.now(), finished_at=None)
    dispatch(job_id)
    _report(follow_job_until_done(job_id) if queued() else _load(job_id))
