"""The month's indicator and supervision reports as a background job (core/background.py): one
unit per file, so workers share them and a lost worker's file is simply written again (the
reports are computed from committed data with the job's fixed `now`)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from app.config import Config
from core.actors import Actor
from reports.indicators import GroupBy

KIND = "monthly_reports"
GROUPS = (GroupBy.MONTH, GroupBy.REGION, GroupBy.HOSPITAL)


def report_params(*, period: date, now: datetime, out_dir: Path) -> dict[str, Any]:
    return {"period": period.isoformat(), "now": now.isoformat(), "out_dir": str(out_dir)}


class MonthlyReportsJob:
    """Indicator reports by month, region and hospital (PDF and xlsx) and the supervision report."""

    name = KIND

    def plan(self, session: Session, params: dict[str, Any]) -> list[list[str]]:
        units = [[f"indicators:{g.value}:{fmt}"] for g in GROUPS for fmt in ("pdf", "xlsx")]
        return [*units, ["supervision"]]

    def run_unit(self, session: Session, params: dict[str, Any], unit_key: str) -> dict[str, Any]:
        period = date.fromisoformat(params["period"])
        out = Path(params["out_dir"])
        if unit_key == "supervision":
            from reports.supervision_report import write_supervision_report

            return {"files": [p.name for p in write_supervision_report(session, period, out)]}
        from app.cli_reports import write_indicator_report

        _, group, fmt = unit_key.split(":")
        path = out / f"indicators-{period:%Y-%m}-{group}.{fmt}"
        now = datetime.fromisoformat(params["now"])
        write_indicator_report(session, period, period, path, group_by=GroupBy(group), fmt=fmt, now=now)
        return {"files": [path.name]}

    def summarize(self, params: dict[str, Any], results: list[dict[str, Any]]) -> dict[str, Any]:
        files = sorted(name for r in results for name in r.get("files", []))
        return {"period": params["period"][:7], "files": files, "folder": params["out_dir"]}


def submit_monthly_documents(
    session: Session, tick: datetime, period: date, config: Config, instance_path: Path
) -> dict[str, Any]:
    """The scheduler's month-end with a task queue: the statements and the reports become
    background jobs for the workers, keyed by month, so a second tick makes no second job."""
    from app.background import submit_in
    from reports.statement_job import KIND as STATEMENTS
    from reports.statement_job import statement_params

    system = Actor.system()
    statement_job = statement_params(
        period=period,
        as_of=tick,
        now=tick,
        out_dir=instance_path / "statements" / f"{period:%Y-%m}",
        verify_url_base=config.statement_verify_url_base(),
        options=config.reconcile_options(),
    )
    reports_job = report_params(period=period, now=tick, out_dir=instance_path / "reports")
    month = f"{period:%Y-%m}"
    jobs = {
        STATEMENTS: submit_in(
            session, system, STATEMENTS, statement_job, key=f"monthly:{STATEMENTS}:{month}", config=config
        ),
        KIND: submit_in(session, system, KIND, reports_job, key=f"monthly:{KIND}:{month}", config=config),
    }
    return {"period": month, "background_jobs": jobs}
