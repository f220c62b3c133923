"""Benchmark: the monthly indicator report for the whole province (vbp-rules.md §6).

    python -m bench.indicators --reuse        # on the database bench.reconcile generated
    python -m bench.indicators --order-lines 50000 --database-url sqlite:////tmp/ind.sqlite3

Times the report for the last full month grouped by month, region and hospital, and the PDF and
xlsx of the hospital grouping; prints seconds (target ≤ 30 s at province scale) and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.cli import alembic_config  # noqa: E402
from app.config import normalize_database_url  # noqa: E402
from bench import generate  # noqa: E402
from bench.reconcile import AS_OF, DEFAULT_URL, _fresh_database  # noqa: E402
from core.actors import Actor  # noqa: E402
from ledger.models import OrderLine  # noqa: E402
from reports import indicators  # noqa: E402
from reports.report_pdf import render_report  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--order-lines", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="use the data already in the database")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "indicators.json")
    args = parser.parse_args()
    url = normalize_database_url(args.database_url)
    engine = create_engine(url)
    if not args.reuse:
        _fresh_database(url)
        command.upgrade(alembic_config(url), "head")
        with Session(engine) as session, session.begin():
            generate.generate(
                session, scale=generate.Scale.custom(order_lines=args.order_lines), seed=1, as_of=AS_OF
            )
    with Session(engine) as session:
        last_day = session.scalar(select(func.max(OrderLine.ordered_on))) or AS_OF.date()
        lines = session.scalar(select(func.count()).select_from(OrderLine)) or 0
    # The last full month: the month before the newest order's.
    newest = date(last_day.year, last_day.month, 1)
    month = date(newest.year - (newest.month == 1), (newest.month - 2) % 12 + 1, 1)
    figures: dict[str, float] = {}
    report = None
    for group_by in (indicators.GroupBy.MONTH, indicators.GroupBy.REGION, indicators.GroupBy.HOSPITAL):
        start = time.perf_counter()
        with Session(engine) as session:
            report = indicators.compute_indicators(
                session,
                Actor.system(),
                period_from=month,
                period_before=indicators.next_month(month),
                group_by=group_by,
                as_of=AS_OF.date(),
            )
        figures[f"{group_by.value}_seconds"] = round(time.perf_counter() - start, 2)
    assert report is not None
    start = time.perf_counter()
    pdf = render_report(indicators.to_document(report, generated_at=AS_OF))
    xlsx = indicators.to_xlsx(report)
    figures["hospital_pdf_xlsx_seconds"] = round(time.perf_counter() - start, 2)
    with engine.connect() as conn:
        version = conn.execute(
            text("SELECT sqlite_version()" if engine.dialect.name == "sqlite" else "SHOW server_version")
        ).scalar()
    engine.dispose()
    result = {
        "benchmark": "indicators",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": f"{engine.dialect.name} {version}",
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "order_lines": lines,
        "month": f"{month:%Y-%m}",
        "hospital_rows": len(report.rows),
        "pdf_bytes": len(pdf),
        "xlsx_bytes": len(xlsx),
        **figures,
    }
    print(f"monthly indicator report {month:%Y-%m}, {lines:,} order lines on {result['database']}")
    for name, seconds in figures.items():
        print(f"  {name:<28}{seconds:8.2f} s")
    print(f"  {len(report.rows)} hospital rows (target ≤ 30 s per report)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print(f"  result                      {args.out}")


if __name__ == "__main__":
    main()
