"""`flask reconcile` and `flask report …`: the reconciliation and the documents, from the shell
(the scheduler and the demo call the same functions). Long runs show progress bars."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy.orm import Session

from app.config import Config
from app.db import get_db, unit_of_work
from core import clock
from core.actors import Actor
from core.money import fen_to_str
from ledger import reconcile, statements
from ledger.reconcile import Options, Slice
from reports import indicators
from reports.report_pdf import render_report
from reports.statements import write_pdfs


def _config() -> Config:
    config: Config = current_app.config["VBP"]
    return config


def _options() -> Options:
    return _config().reconcile_options()  # type: ignore[no-any-return]


def _month(text: str) -> date:
    try:
        year, month = (int(x) for x in text.split("-"))
        return date(year, month, 1)
    except ValueError as exc:
        raise click.BadParameter("须为 YYYY-MM (a month, e.g. 2026-05)") from exc


def _as_of(text: str | None) -> datetime:
    if not text:
        return clock.now()
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=clock.zone())
    return value


def verify_base() -> str:
    """The configured verification address (VBP_PUBLIC_URL; never one taken from a request)."""
    return _config().statement_verify_url_base()


@click.command("reconcile")
@with_appcontext
@click.option("--region", "region_prefix", help="region code prefix: 51 (province), 5101 (city) …")
@click.option("--hospital-id", type=int)
@click.option("--enterprise-id", type=int, help="seller: distributor or manufacturer")
@click.option("--from", "ordered_from", type=click.DateTime(["%Y-%m-%d"]), help="orders placed on or after")
@click.option("--before", "ordered_before", type=click.DateTime(["%Y-%m-%d"]), help="orders placed before")
@click.option("--as-of", help="judge deadlines at this moment (ISO; default now, China time if no zone)")
@click.option("--store/--no-store", default=False, help="store the run (findings and totals) for the bureau")
def reconcile_command(
    region_prefix: str | None,
    hospital_id: int | None,
    enterprise_id: int | None,
    ordered_from: datetime | None,
    ordered_before: datetime | None,
    as_of: str | None,
    store: bool,
) -> None:
    """Three-flow reconciliation of a slice (default: the whole province)."""
    where = Slice(
        hospital_id=hospital_id,
        enterprise_id=enterprise_id,
        region_prefix=region_prefix,
        ordered_from=ordered_from.date() if ordered_from else None,
        ordered_before=ordered_before.date() if ordered_before else None,
    )
    moment, system = _as_of(as_of), Actor.system()
    # Storing a run writes (the primary); a summary only reads (the replica, if there is one).
    with unit_of_work(get_db().sessionmaker()) if store else get_db().reading() as session:
        if store:
            with click.progressbar(length=2, label="对账中 (reconciling)") as bar:
                run = reconcile.run_reconciliation(
                    session,
                    system,
                    where,
                    as_of=moment,
                    now=clock.now(),
                    options=_options(),
                    progress=lambda _step: bar.update(1),
                )
            click.echo(
                f"对账运行 #{run.id}：{run.line_count} 行，异常/未结 {run.finding_count} 行，"
                f"孤立记录 {run.orphan_count} 条"
            )
        summary = reconcile.summarize(session, system, where, as_of=moment, options=_options())
        orphans = reconcile.orphans(session, system, where)
    click.echo(f"{'状态':<14}{'行数':>10}{'订单金额(元)':>20}{'差异数量':>12}{'差异金额(元)':>20}")
    for row in summary:
        click.echo(
            f"{row.label:<14}{row.lines:>10}{fen_to_str(row.order_amount_fen):>20}"
            f"{row.diff_qty:>12}{fen_to_str(row.diff_fen):>20}"
        )
    click.echo(f"合计 {sum(r.lines for r in summary)} 行；孤立记录 {len(orphans)} 条 (orphans)")


report_cli = AppGroup("report", help="Statements (对账单) and indicator reports.")


@report_cli.command("statements")
@click.option("--period", required=True, help="YYYY-MM: the month the orders were placed")
@click.option("--hospital-id", type=int)
@click.option("--as-of", help="judge deadlines at this moment (ISO; default now)")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None)
def report_statements(period: str, hospital_id: int | None, as_of: str | None, out_dir: Path | None) -> None:
    """Generate the month's statements (new versions only where data changed) and their PDFs."""
    month = _month(period)
    with (
        unit_of_work(get_db().sessionmaker()) as session,
        click.progressbar(length=1, label="对账单 (statements)") as bar,
    ):

        def tick(done: int, total: int) -> None:
            bar.length = total
            bar.update(1)

        result = statements.generate(
            session,
            Actor.system(),
            period=month,
            as_of=_as_of(as_of),
            now=clock.now(),
            hospital_id=hospital_id,
            options=_options(),
            progress=tick,
        )
    click.echo(f"新版本 {len(result.created)} 份，未变化 {result.unchanged} 份 (new versions, unchanged)")
    target = out_dir or Path(current_app.instance_path) / "statements" / period
    with (
        unit_of_work(get_db().sessionmaker()) as session,
        click.progressbar(length=1, label="生成PDF (rendering PDFs)") as bar,
    ):

        def tick_pdf(done: int, total: int) -> None:
            bar.length = total
            bar.update(1)

        written = write_pdfs(
            session,
            Actor.system(),
            month,
            target,
            verify_url_base=verify_base(),
            hospital_id=hospital_id,
            progress=tick_pdf,
        )
    click.echo(f"PDF {len(written)} 份 → {target}")


@report_cli.command("indicators")
@click.option("--from", "period_from", required=True, help="first month, YYYY-MM")
@click.option("--to", "period_to", help="last month included, YYYY-MM (default: --from)")
@click.option(
    "--group-by",
    type=click.Choice([g.value for g in indicators.GroupBy]),
    default="province",
    show_default=True,
)
@click.option("--format", "fmt", type=click.Choice(["pdf", "xlsx", "json"]), default="pdf", show_default=True)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="file to write (default: instance/reports/)",
)
def report_indicators(
    period_from: str, period_to: str | None, group_by: str, fmt: str, out: Path | None
) -> None:
    """The province's procurement indicators for a range of months (vbp-rules.md §6)."""
    first, last = _month(period_from), _month(period_to or period_from)
    target = (
        out
        or Path(current_app.instance_path)
        / "reports"
        / f"indicators-{first:%Y%m}-{last:%Y%m}-{group_by}.{fmt}"
    )
    with get_db().reading() as session:
        path = write_indicator_report(
            session, first, last, target, group_by=indicators.GroupBy(group_by), fmt=fmt, now=clock.now()
        )
    click.echo(f"指标报告 (indicator report) → {path}")


def write_indicator_report(
    session: Session,
    first: date,
    last: date,
    path: Path,
    *,
    group_by: indicators.GroupBy,
    fmt: str,
    now: datetime,
) -> Path:
    report = indicators.compute_indicators(
        session,
        Actor.system(),
        period_from=first,
        period_before=indicators.next_month(last),
        group_by=group_by,
        as_of=clock.business_date(now),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "pdf":
        trend = indicators.monthly_trend(session, Actor.system(), report)
        path.write_bytes(render_report(indicators.to_document(report, generated_at=now, trend=trend)))
    elif fmt == "xlsx":
        path.write_bytes(indicators.to_xlsx(report))
    else:
        path.write_text(json.dumps(indicators.to_json(report), ensure_ascii=False, indent=2) + "\n")
    return path


@report_cli.command("fund-savings")
@click.option("--month", required=True, help="YYYY-MM: the month purchases were received")
@click.option("--hospital-id", type=int)
@click.option("--format", "fmt", type=click.Choice(["xlsx", "json"]), default="xlsx", show_default=True)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="file to write (default: instance/reports/)",
)
def report_fund_savings(month: str, hospital_id: int | None, fmt: str, out: Path | None) -> None:
    """基金节约: non-VBP purchases below their payment standard (可作为结余留用/激励依据)."""
    from ledger.supervision.fund_savings import fund_savings
    from reports import fund_savings as output

    first = _month(month)
    target = out or Path(current_app.instance_path) / "reports" / f"fund-savings-{first:%Y%m}.{fmt}"
    with get_db().reading() as session:
        report = fund_savings(
            session, Actor.system(), month=first, hospital_id=hospital_id, settings=_config().supervision
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "xlsx":
        target.write_bytes(output.to_xlsx(report))
    else:
        target.write_text(json.dumps(output.to_json(report), ensure_ascii=False, indent=2) + "\n")
    click.echo(
        f"基金节约 (fund savings) {first:%Y-%m}: {report.total_lines} 行, "
        f"{fen_to_str(report.total_savings_fen)} 元 → {target}"
    )
