"""`flask supervision ...`: the daily warnings on demand and the monthly supervision report. Other
supervision commands register on `supervision_cli` (import it and add `@supervision_cli.command`)."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from app.db import get_db, unit_of_work
from core import clock
from core.errors import ValidationFailed
from ledger.supervision import dashboard
from ledger.supervision.warnings import RULES, compute_warnings, load_rules
from reports.supervision_report import write_supervision_report

supervision_cli = AppGroup("supervision", help="监督预警与月度监督报告 (supervision warnings and report).")


def _month(text: str) -> date:
    try:
        year, month = (int(x) for x in text.split("-"))
        return date(year, month, 1)
    except ValueError as exc:
        raise click.BadParameter("须为 YYYY-MM (a month, e.g. 2026-05)") from exc


@supervision_cli.command("warnings")
@click.option(
    "--day", type=click.DateTime(["%Y-%m-%d"]), default=None, help="judge as of this day (default today)"
)
@click.option("--rule", "codes", multiple=True, help="only this rule (repeatable); default all daily rules")
def warnings_command(day: datetime | None, codes: tuple[str, ...]) -> None:
    """Run the daily warning rules now (idempotent within a day) and print the summary."""
    load_rules()
    unknown = [c for c in codes if c not in RULES or not RULES[c].daily]
    if unknown:
        raise click.BadParameter(
            f"未知或非每日规则 (unknown or not a daily rule): {', '.join(unknown)}", param_hint="--rule"
        )
    now = clock.now() if day is None else clock.local(day.date(), time(12))
    chosen = list(codes) or [c for c in sorted(RULES) if RULES[c].daily]
    with (
        unit_of_work(get_db().sessionmaker()) as session,
        click.progressbar(length=len(chosen), label="预警规则 (rules)", item_show_func=lambda c: c) as bar,
    ):
        try:
            summary = compute_warnings(
                session,
                now=now,
                settings=current_app.config["VBP"].supervision,
                rules=chosen,
                progress=lambda code: bar.update(1, code),
            )
        except ValidationFailed as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(f"{summary.day:%Y-%m-%d}")
    for code in chosen:
        click.echo(
            f"  {RULES[code].label} [{code}]: 新增 {summary.raised[code]}，"
            f"仍存在 {summary.seen[code]}，已消除 {summary.cleared[code]} (raised, seen, cleared)"
        )
    with get_db().sessionmaker() as session:
        from core.actors import Actor

        counts = dashboard.state_counts(session, Actor.system())
    click.echo(f"未处理预警 (live warnings): {counts}")


@supervision_cli.command("report")
@click.option("--month", required=True, help="YYYY-MM")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None)
def report_command(month: str, out_dir: Path | None) -> None:
    """Write the month's supervision report (PDF and xlsx)."""
    first = _month(month)
    target = out_dir or Path(current_app.instance_path) / "reports"
    with get_db().sessionmaker() as session:
        paths = write_supervision_report(session, first, target)
    for path in paths:
        click.echo(str(path))
