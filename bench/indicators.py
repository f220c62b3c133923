"""Benchmark: the monthly indicator report for the whole province (vbp-rules.md §6).

    python -m bench.indicators --reuse        # on the database bench.reconcile generated
    python -m bench.indicators --order-lines 50000 --database-url sqlite:////tmp/ind.sqlite3

Times the report for the last full month grouped by month, region and hospital, and the PDF and
xlsx of the hospital grouping; prints seconds (target ≤ 30 s at province scale) and writes JSON.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.config import normalize_database_url  # noqa: E402
from bench.common import RESULTS, Result, Row, Target, report  # noqa: E402
from bench.reconcile import AS_OF, DEFAULT_URL, prepare  # noqa: E402
from core.actors import Actor  # noqa: E402
from ledger.models import OrderLine  # noqa: E402
from reports import indicators  # noqa: E402
from reports.report_pdf import render_report  # noqa: E402

#: The baseline: the month's order lines summed per group in one plain query, no indicator rules.
PLAIN_AGGREGATE = {
    "month": "1",
    "region": "substr(region_code, 1, 4)",
    "hospital": "hospital_id",
}


def _plain_aggregate(engine: object, group: str, month: date, before: date) -> float:
    sql = text(
        f"SELECT {group}, count(*), sum(quantity), sum(amount_fen), sum(accepted_quantity) "  # noqa: S608
        "FROM order_lines WHERE ordered_on >= :a AND ordered_on < :b GROUP BY 1"
    )
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        with engine.connect() as conn:  # type: ignore[attr-defined]
            conn.execute(sql, {"a": month, "b": before}).all()
        best = min(best, time.perf_counter() - start)
    return best


def run(url: str, *, order_lines: int = 1_000_000, reuse: bool = False) -> Result:
    """The report for the last full month by month, region and hospital (each against a plain
    aggregate of the same lines), and the PDF and xlsx of the hospital grouping."""
    if not reuse:
        prepare(url, order_lines=order_lines, progress=False)
    engine = create_engine(url)
    with Session(engine) as session:
        last_day = session.scalar(select(func.max(OrderLine.ordered_on))) or AS_OF.date()
        lines = session.scalar(select(func.count()).select_from(OrderLine)) or 0
    # The last full month: the month before the newest order's.
    newest = date(last_day.year, last_day.month, 1)
    month = date(newest.year - (newest.month == 1), (newest.month - 2) % 12 + 1, 1)
    before = indicators.next_month(month)
    rows, report_ = [], None
    for group_by in (indicators.GroupBy.MONTH, indicators.GroupBy.REGION, indicators.GroupBy.HOSPITAL):
        start = time.perf_counter()
        with Session(engine) as session:
            report_ = indicators.compute_indicators(
                session,
                Actor.system(),
                period_from=month,
                period_before=before,
                group_by=group_by,
                as_of=AS_OF.date(),
            )
        seconds = time.perf_counter() - start
        base = _plain_aggregate(engine, PLAIN_AGGREGATE[group_by.value], month, before)
        rows.append(
            Row(
                "indicators",
                f"monthly indicators by {group_by.value}, {lines:,} order lines",
                seconds,
                "s",
                base,
                "plain SQL aggregate",
                Target("figure", "<=", 30, "≤ 30 s"),
            )
        )
    assert report_ is not None
    start = time.perf_counter()
    pdf = render_report(indicators.to_document(report_, generated_at=AS_OF))
    xlsx = indicators.to_xlsx(report_)
    documents_s = time.perf_counter() - start
    engine.dispose()
    return Result(
        "indicators",
        rows,
        {
            "order_lines": lines,
            "month": f"{month:%Y-%m}",
            "hospital_rows": len(report_.rows),
            "hospital_pdf_xlsx_seconds": round(documents_s, 2),
            "pdf_bytes": len(pdf),
            "xlsx_bytes": len(xlsx),
        },
        url,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--order-lines", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="use the data already in the database")
    parser.add_argument("--out", type=Path, default=RESULTS / "indicators.json")
    args = parser.parse_args()
    url = normalize_database_url(args.database_url)
    result = run(url, order_lines=args.order_lines, reuse=args.reuse)
    report([result], args.out, database_url=url)


if __name__ == "__main__":
    main()
