"""The demo's last step: reconcile the province, generate the statements of every month with
orders, and write their PDFs and the monthly indicator report to the output folder."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select

from app.cli_reports import write_indicator_report
from app.db import Database, unit_of_work
from core.actors import Actor
from core.money import fen_to_str
from ledger import reconcile, statements
from ledger.models import OrderLine
from ledger.reconcile import Slice
from reports.indicators import GroupBy
from reports.statements import write_pdfs


def order_months(session: object) -> list[date]:
    days = session.scalars(select(OrderLine.ordered_on).distinct())  # type: ignore[attr-defined]
    return sorted({day.replace(day=1) for day in days})


def run_documents(
    db: Database, *, out_dir: Path, now: datetime, echo: Callable[[str], None], verify_url_base: str
) -> list[Path]:
    system = Actor.system()
    with unit_of_work(db.sessionmaker()) as session:
        run = reconcile.run_reconciliation(session, system, Slice(), as_of=now, now=now)
        echo(
            f"三流合一对账 (reconciliation run #{run.id}): {run.line_count} 行, "
            f"异常/未结 {run.finding_count} 行, 孤立记录 {run.orphan_count} 条"
        )
        for row in reconcile.summarize(session, system, Slice(), as_of=now):
            echo(f"  {row.label:<12} {row.lines:>5} 行  差异 {fen_to_str(row.diff_fen):>14} 元")
        months = order_months(session)
        for month in months:
            result = statements.generate(session, system, period=month, as_of=now, now=now)
            echo(f"对账单 {month:%Y-%m}: 新版本 {len(result.created)} 份, 未变化 {result.unchanged} 份")
    written: list[Path] = []
    with unit_of_work(db.sessionmaker()) as session:
        for month in months:
            written += write_pdfs(
                session,
                system,
                month,
                out_dir / "statements" / f"{month:%Y-%m}",
                verify_url_base=verify_url_base,
            )
    echo(f"对账单PDF (statement PDFs): {len(written)} 份 → {out_dir / 'statements'}")
    with db.sessionmaker() as session:
        for month in months[-1:]:
            for group_by, fmt in (
                (GroupBy.MONTH, "pdf"),
                (GroupBy.HOSPITAL, "pdf"),
                (GroupBy.HOSPITAL, "xlsx"),
            ):
                path = out_dir / "reports" / f"indicators-{month:%Y-%m}-{group_by.value}.{fmt}"
                written.append(
                    write_indicator_report(session, month, month, path, group_by=group_by, fmt=fmt, now=now)
                )
    echo(f"月度指标报告 (monthly indicator report): → {out_dir / 'reports'}")
    return written
