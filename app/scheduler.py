"""The platform's clock: a separate scheduler process (`flask scheduler run`), never inside web
workers, running plain idempotent domain jobs with a fixed `now` (the tick).

Why a database claim: APScheduler 3 does not stop two processes from running one job. Each tick
of each job is claimed by inserting its (job, tick) row into `job_runs` (unique); the loser of the
race skips. The job's effects and its "succeeded" mark commit in one unit of work; a failure rolls
the effects back, records the error in its own transaction, and the next tick runs the job again.
On PostgreSQL the job also holds a transaction-level advisory lock, so even two different ticks
of one job (clocks a minute apart) never run at the same time.
"""

from __future__ import annotations

import logging
import os
import socket
import traceback
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.config import Config
from app.db import Database, get_db, unit_of_work
from core import clock
from core.actors import Actor
from core.integrity import ConstraintViolated
from core.jobs import JobRun, JobStatus

log = logging.getLogger(__name__)


@dataclass
class JobContext:
    """What jobs need from the shell: settings, the sealing key, where documents go."""

    config: Config
    instance_path: Path
    sealer_factory: Callable[[], Any]
    _sealer: Any = field(default=None, init=False)

    @property
    def sealer(self) -> Any:
        if self._sealer is None:
            self._sealer = self.sealer_factory()
        return self._sealer


@dataclass(frozen=True)
class Job:
    name: str
    description: str
    #: APScheduler cron fields, China time.
    cron: dict[str, Any]
    run: Callable[[Session, datetime, JobContext], dict[str, Any]]


def open_batches(session: Session, tick: datetime, ctx: JobContext) -> dict[str, Any]:
    from bidding.opening import open_due_batches

    opened = open_due_batches(session, Actor.system(), sealer=ctx.sealer, now=tick)
    return {"opened_batches": [o.batch_id for o in opened]}


def flag_overdue(session: Session, tick: datetime, ctx: JobContext) -> dict[str, Any]:
    from ledger import reconcile

    options = reconcile.Options(invoice_grace_days=ctx.config.invoice_grace_days)
    overdue = {
        reconcile.Status.SHIPMENT_OVERDUE,
        reconcile.Status.PAYMENT_OVERDUE,
        reconcile.Status.INVOICE_OVERDUE,
    }
    rows = reconcile.summarize(session, Actor.system(), reconcile.Slice(), as_of=tick, options=options)
    return {r.status.value: {"lines": r.lines, "diff_fen": r.diff_fen} for r in rows if r.status in overdue}


def nightly_reconciliation(session: Session, tick: datetime, ctx: JobContext) -> dict[str, Any]:
    from ledger import reconcile

    if ctx.config.broker_url:  # a task queue: a worker stores the run
        from app.background import submit_in
        from app.queue_kinds import RECONCILIATION, reconciliation_params

        params = reconciliation_params({}, as_of=tick, now=tick)
        key = f"nightly:{RECONCILIATION}:{clock.business_date(tick)}"  # one run a night
        job_id = submit_in(session, Actor.system(), RECONCILIATION, params, key=key, config=ctx.config)
        return {"background_job": job_id}
    options = reconcile.Options(invoice_grace_days=ctx.config.invoice_grace_days)
    run = reconcile.run_reconciliation(
        session, Actor.system(), reconcile.Slice(), as_of=tick, now=tick, options=options
    )
    return {
        "run_id": run.id,
        "lines": run.line_count,
        "findings": run.finding_count,
        "orphans": run.orphan_count,
    }


def monthly_documents(session: Session, tick: datetime, ctx: JobContext) -> dict[str, Any]:
    """Last month's statements (new versions only where data changed), their PDFs, and the
    month's indicator reports (PDF and xlsx, by month, region and hospital)."""
    from ledger import reconcile, statements
    from reports.statements import write_pdfs

    period = clock.previous_month(clock.business_date(tick))
    if ctx.config.broker_url:  # a task queue: the workers do the month's documents
        from app.report_jobs import submit_monthly_documents

        return submit_monthly_documents(session, tick, period, ctx.config, ctx.instance_path)
    options = reconcile.Options(invoice_grace_days=ctx.config.invoice_grace_days)
    result = statements.generate(
        session, Actor.system(), period=period, as_of=tick, now=tick, options=options
    )
    base = ctx.config.statement_verify_url_base()
    out = ctx.instance_path / "statements" / f"{period:%Y-%m}"
    written = write_pdfs(session, Actor.system(), period, out, verify_url_base=base)
    from app.cli_reports import write_indicator_report
    from reports.indicators import GroupBy

    report_dir = ctx.instance_path / "reports"
    for group_by in (GroupBy.MONTH, GroupBy.REGION, GroupBy.HOSPITAL):
        for fmt in ("pdf", "xlsx"):
            path = report_dir / f"indicators-{period:%Y-%m}-{group_by.value}.{fmt}"
            write_indicator_report(session, period, period, path, group_by=group_by, fmt=fmt, now=tick)
    from reports.supervision_report import write_supervision_report

    supervision = write_supervision_report(session, period, report_dir)
    return {
        "period": f"{period:%Y-%m}",
        "new_versions": len(result.created),
        "unchanged": result.unchanged,
        "pdfs": len(written),
        "folder": str(out),
        "indicator_reports": str(report_dir),
        "supervision_report": [p.name for p in supervision],
    }


def settlement_reminders(session: Session, tick: datetime, ctx: JobContext) -> dict[str, Any]:
    from ledger.money_rules import SettlementCalendar
    from ledger.services.settlement_deadlines import filing_reminders

    calendar = SettlementCalendar.from_terms(ctx.config.payment_terms())
    reminders = filing_reminders(session, now=tick, calendar=calendar)
    return {
        "reminders": [
            {
                "enterprise_id": r.enterprise_id,
                "hospital_id": r.hospital_id,
                "period": f"{r.period_month:%Y-%m}",
                "deadline": r.deadline.isoformat(),
                "lines": r.lines,
                "amount_fen": r.amount_fen,
            }
            for r in reminders
        ]
    }


def confirmation_window(session: Session, tick: datetime, ctx: JobContext) -> dict[str, Any]:
    """The hospital's 5-working-day confirmation window (vbp-rules.md §4.3 step 3): reminders,
    escalation of the overdue ones to the bureau, and — where the province deems silence
    consent (VBP_DEEM_CONFIRMED) — the deemed confirmations."""
    from ledger.money_rules import SettlementCalendar
    from ledger.services.settlement_deadlines import check_confirmation_window

    found = check_confirmation_window(
        session,
        Actor.system(),
        now=tick,
        calendar=SettlementCalendar.from_terms(ctx.config.payment_terms()),
        deem_confirmed=ctx.config.deem_confirmed,
    )
    return {
        "reminders": [
            {"application_id": a, "hospital_id": h, "confirm_by": d.isoformat()}
            for a, h, d in found.reminders
        ],
        "escalated": found.escalated,
        "deemed_confirmed": found.deemed,
    }


def verify_ledger(session: Session, tick: datetime, ctx: JobContext) -> dict[str, Any]:
    """Nightly invariant check; a broken ledger fails the job, so it shows in the history."""
    from ledger.invariants import check_ledger

    report = check_ledger(session)
    if not report.ok:
        raise RuntimeError("; ".join(report.problems()))
    return {"entries": report.journal.entries, "postings": report.journal.postings}


def forget_login_records(session: Session, tick: datetime, ctx: JobContext) -> dict[str, Any]:
    """Delete browser-session records ended long ago and login-throttle counters gone quiet."""
    from datetime import timedelta

    from core import login_throttle, sessions

    ended = sessions.forget_ended_sessions(session, now=tick, keep=timedelta(days=SESSION_RECORDS_KEPT_DAYS))
    quiet = login_throttle.forget_quiet_clients(session, now=tick, policy=ctx.config.login_policy())
    return {"sessions_deleted": ended, "throttle_counters_deleted": quiet}


#: Ended sessions stay this long (who was logged in when, for an investigation), then go.
SESSION_RECORDS_KEPT_DAYS = 90


def supervision_warnings(session: Session, tick: datetime, ctx: JobContext) -> dict[str, Any]:
    """The daily warnings (预警): idempotent within a day, so a re-run creates nothing new."""
    from ledger.supervision.warnings import compute_warnings

    if ctx.config.broker_url:  # a task queue: the workers run the rules, one unit each
        from app.background import submit_in
        from app.queue_kinds import WARNINGS

        key = f"daily:{WARNINGS}:{clock.business_date(tick)}"
        job_id = submit_in(
            session, Actor.system(), WARNINGS, {"now": tick.isoformat()}, key=key, config=ctx.config
        )
        return {"background_job": job_id}
    return compute_warnings(session, now=tick, settings=ctx.config.supervision).as_dict()


def void_unshipped_lines(session: Session, tick: datetime, ctx: JobContext) -> dict[str, Any]:
    """作废: lines with packs left to ship `void_after_days` after ordering (supervision §1)."""
    from core.actors import Actor
    from ledger.supervision.supply import void_unshipped_lines as void

    days = ctx.config.supervision.void_after_days
    return void(session, Actor.system(), now=tick, days=days).as_dict()


def finalize_publicity(session: Session, tick: datetime, ctx: JobContext) -> dict[str, Any]:
    """公示期满: results whose period ended with no open objection become final (published)."""
    from bidding.publicity import finalize_due

    return {"finalized_batches": finalize_due(session, tick)}


def audit_daily_root(session: Session, tick: datetime, ctx: JobContext) -> dict[str, Any]:
    """Yesterday's root over every audit lane head (core/audit_roots.py); idempotent per day."""
    from datetime import timedelta

    from core.audit_roots import compute_root

    root, made = compute_root(session, clock.business_date(tick) - timedelta(days=1), now=tick)
    return {"day": root.day.isoformat(), "root_hash": root.root_hash, "computed": made}


def maintain_partitions(session: Session, tick: datetime, ctx: JobContext) -> dict[str, Any]:
    """Next months' partitions and archiving by retention (PostgreSQL; nothing on SQLite)."""
    from app.cli_partitions import retention_from_env
    from core import partitions

    report = partitions.maintain(session, today=clock.business_date(tick), retention=retention_from_env())
    return {"done": report.lines}


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job(
            "open_batches",
            "到开标时间的批次自动开标 (open batches whose opening time has passed)",
            {"minute": "*"},
            open_batches,
        ),
        Job(
            "flag_overdue",
            "每日标记逾期配送与逾期付款 (daily overdue shipments and payments)",
            {"hour": 1, "minute": 0},
            flag_overdue,
        ),
        Job(
            "nightly_reconciliation",
            "每晚全省三流对账快照 (nightly province reconciliation)",
            {"hour": 2, "minute": 0},
            nightly_reconciliation,
        ),
        Job(
            "verify_ledger",
            "每晚账簿不变量检查 (nightly ledger invariants)",
            {"hour": 2, "minute": 30},
            verify_ledger,
        ),
        Job(
            "void_unshipped_lines",
            "下单N日未配送的订单行作废 (void lines not shipped N days after ordering)",
            {"hour": 3, "minute": 15},
            void_unshipped_lines,
        ),
        Job(
            "supervision_warnings",
            "每日监督预警计算 (daily supervision warnings)",
            {"hour": 3, "minute": 30},
            supervision_warnings,
        ),
        Job(
            "monthly_documents",
            "每月对账单与PDF (monthly statements)",
            {"day": 1, "hour": 3, "minute": 0},
            monthly_documents,
        ),
        Job(
            "forget_login_records",
            "清理过期会话记录与登录限速计数 (delete ended sessions and quiet login counters)",
            {"hour": 4, "minute": 0},
            forget_login_records,
        ),
        Job(
            "settlement_reminders",
            "结算申请窗口提醒 (settlement filing reminders)",
            {"hour": 9, "minute": 0},
            settlement_reminders,
        ),
        Job(
            "confirmation_window",
            "医院确认时限提醒与逾期上报 (hospital confirmation window: remind, escalate)",
            {"hour": 9, "minute": 10},
            confirmation_window,
        ),
        Job(
            "finalize_publicity",
            "公示期满且无未答复异议的结果转为正式公布 (make results final after their publicity period)",
            {"minute": "*/5"},
            finalize_publicity,
        ),
        Job(
            "audit_daily_root",
            "每日审计日根：各通道链头的摘要 (daily root over every audit lane head)",
            {"hour": 0, "minute": 20},
            audit_daily_root,
        ),
        Job(
            "maintain_partitions",
            "每月创建后续月份分区并按保留期归档 (monthly partitions ahead, archive by retention)",
            {"day": 1, "hour": 4, "minute": 30},
            maintain_partitions,
        ),
    )
}


def tick_of(moment: datetime) -> datetime:
    """Ticks are whole minutes: two processes firing one cron slot agree on the key."""
    return moment.replace(second=0, microsecond=0)


def _worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:120]


def run_job(db: Database, job: Job, tick: datetime, ctx: JobContext) -> JobRun | None:
    """Claim (job, tick) and run it; None if another process already claimed it."""
    try:
        with db.sessionmaker() as session, unit_of_work(session):
            claim = JobRun(
                job=job.name,
                tick=tick,
                status=JobStatus.RUNNING,
                started_at=clock.now(),
                worker=_worker(),
            )
            session.add(claim)
            session.flush()
            run_id = claim.id
    except ConstraintViolated as conflict:
        if conflict.table != JobRun.__tablename__:
            raise
        log.info("job %s at %s already claimed by another process", job.name, tick.isoformat())
        return None
    try:
        with db.sessionmaker() as session, unit_of_work(session):
            if db.dialect == "postgresql":
                session.execute(select(func.pg_advisory_xact_lock(zlib.crc32(job.name.encode()))))
            result = job.run(session, tick, ctx)
            session.execute(
                update(JobRun)
                .where(JobRun.id == run_id)
                .values(status=JobStatus.SUCCEEDED, finished_at=clock.now(), result=result)
            )
    except Exception as exc:
        log.exception("job %s at %s failed", job.name, tick.isoformat())
        with db.sessionmaker() as session, unit_of_work(session):
            session.execute(
                update(JobRun)
                .where(JobRun.id == run_id)
                .values(
                    status=JobStatus.FAILED,
                    finished_at=clock.now(),
                    error="".join(traceback.format_exception_only(exc)).strip()[:2000],
                )
            )
    with db.sessionmaker() as session:
        return session.get(JobRun, run_id)


def job_context() -> JobContext:
    from app import bid_sealer

    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def sealer() -> Any:
        with app.app_context():
            return bid_sealer()

    return JobContext(config=app.config["VBP"], instance_path=Path(app.instance_path), sealer_factory=sealer)


scheduler_cli = AppGroup(
    "scheduler", help="The scheduler process (run it once per platform, apart from web workers)."
)


@scheduler_cli.command("list")
def list_jobs() -> None:
    """The jobs and when they run (China time)."""
    for job in JOBS.values():
        click.echo(f"{job.name:<24} {job.cron}  {job.description}")


@scheduler_cli.command("run-job")
@click.argument("name", type=click.Choice(sorted(JOBS)))
@click.option("--tick", help="the job's fixed now (ISO; default: this minute)")
def run_one(name: str, tick: str | None) -> None:
    """Run one job for one tick (what the scheduler does), e.g. to catch up by hand."""
    moment = tick_of(datetime.fromisoformat(tick) if tick else clock.now())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=clock.zone())
    run = run_job(get_db(), JOBS[name], moment, job_context())
    if run is None:
        click.echo(f"{name} {moment.isoformat()}: 已由其他进程执行 (claimed by another process)")
        return
    click.echo(f"{name} {moment.isoformat()}: {run.status.value} {run.result or run.error or ''}")
    if run.status is JobStatus.FAILED:
        raise SystemExit(1)


@scheduler_cli.command("run")
@click.option("--once", is_flag=True, help="run every job once for this minute, then exit")
@click.option("--run-now", is_flag=True, help="also run every job at start-up, then follow the schedule")
def run_scheduler(once: bool, run_now: bool) -> None:
    """Run the platform's jobs on their schedule until stopped (Ctrl-C / SIGTERM)."""
    db, ctx = get_db(), job_context()
    if once:
        moment = tick_of(clock.now())
        for job in JOBS.values():
            run = run_job(db, job, moment, ctx)
            state = "skipped (claimed elsewhere)" if run is None else run.status.value
            click.echo(f"{job.name}: {state}")
        return
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger

    scheduler = BlockingScheduler(timezone=clock.zone())
    for job in JOBS.values():
        extra: dict[str, Any] = {"next_run_time": clock.now()} if run_now else {}
        scheduler.add_job(
            lambda job=job: run_job(db, job, tick_of(clock.now()), ctx),
            CronTrigger(timezone=clock.zone(), **job.cron),
            id=job.name,
            name=job.description,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=300,
            **extra,
        )
    click.echo(f"调度进程已启动 (scheduler started, pid {os.getpid()}): {', '.join(JOBS)}")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        scheduler.shutdown(wait=False)
