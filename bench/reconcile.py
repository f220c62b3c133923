"""Benchmark: three-flow reconciliation of a province's order lines against one plain SQL
aggregate over the same tables, measured in the same run on the same data.

    python -m bench.reconcile                                  # 1,000,000 lines, PostgreSQL
    python -m bench.reconcile --order-lines 20000 --database-url sqlite:////tmp/recon.sqlite3

The data comes from the synthetic-province generator (bench/generate.py: orders, shipments,
receipts, returns, invoices, settlements, payments, with every discrepancy kind). Then, each
timed twice and the faster run kept (the first warms the cache for both):
  * baseline  — one SELECT summing every flow per order line (one GROUP BY per flow, joined on
                order_line_id) with no classification;
  * summarize — the reconciliation: the same aggregates, a status per line by the precedence
                rules, totals per status;
  * run       — the stored province job: findings and totals written in one transaction.
Prints the figures and the ratios, and writes a JSON result.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.cli import alembic_config  # noqa: E402
from app.config import normalize_database_url  # noqa: E402
from bench import generate  # noqa: E402
from bench.common import RESULTS, Result, Row, Target, fresh_database, report  # noqa: E402
from core.actors import Actor  # noqa: E402
from ledger import reconcile  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/vbp_bench_reconcile"
AS_OF = datetime(2027, 1, 5, 2, 0, tzinfo=UTC)

#: The baseline: every flow summed per order line, joined, summed again. Same tables, same
#: GROUP BYs as the reconciliation, without the status rules.
PLAIN_AGGREGATE = """
SELECT count(*), sum(ol.amount_fen), sum(s.q), sum(r.a), sum(r.rj), sum(rt.q), sum(i.q), sum(i.f), sum(p.f)
FROM order_lines ol
LEFT JOIN (SELECT order_line_id, sum(quantity) AS q FROM shipment_lines GROUP BY order_line_id) s
  ON s.order_line_id = ol.id
LEFT JOIN (SELECT order_line_id, sum(accepted_quantity) AS a, sum(rejected_quantity) AS rj
           FROM receipt_lines GROUP BY order_line_id) r ON r.order_line_id = ol.id
LEFT JOIN (SELECT order_line_id, sum(quantity) AS q FROM return_lines GROUP BY order_line_id) rt
  ON rt.order_line_id = ol.id
LEFT JOIN (SELECT order_line_id, sum(quantity) AS q, sum(amount_fen) AS f
           FROM invoice_lines GROUP BY order_line_id) i ON i.order_line_id = ol.id
LEFT JOIN (SELECT sl.order_line_id, sum(sl.amount_fen) AS f FROM settlement_lines sl
           JOIN payments p ON p.application_id = sl.application_id
           WHERE sl.status = 'confirmed' GROUP BY sl.order_line_id) p ON p.order_line_id = ol.id
"""


def _best_of_two(fn: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(2):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return min(times), result


def prepare(url: str, *, order_lines: int, seed: int = 1, progress: bool = True) -> float:
    """A fresh database holding a generated province of order_lines lines; seconds taken."""
    fresh_database(url)
    command.upgrade(alembic_config(url), "head")
    engine = create_engine(url)
    t = time.perf_counter()
    with Session(engine) as session, session.begin():
        generate.generate(
            session,
            scale=generate.Scale.custom(order_lines=order_lines),
            seed=seed,
            as_of=AS_OF,
            progress=generate.stderr_progress if progress else None,
        )
    seconds = time.perf_counter() - t
    if engine.dialect.name == "postgresql":
        # The generated history is in the past: give its months their partitions, as the monthly
        # `flask partitions maintain` would have, instead of leaving it all in DEFAULT. Nothing
        # is archived (the benchmark reads every month).
        from core import partitions

        with Session(engine) as session, session.begin():
            partitions.maintain(
                session,
                today=AS_OF.date(),
                retention={policy.table: None for policy in partitions.POLICIES},
            )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    return seconds


def run(url: str, *, order_lines: int = 1_000_000, seed: int = 1, reuse: bool = False) -> Result:
    """Generate (unless reuse) and time the baseline, the summary and the stored run."""
    generate_seconds = None if reuse else prepare(url, order_lines=order_lines, seed=seed)
    engine = create_engine(url)
    system, where = Actor.system(), reconcile.Slice()

    def baseline(jit: bool) -> Callable[[], Any]:
        def aggregate() -> Any:
            with engine.connect() as conn:
                if not jit and engine.dialect.name == "postgresql":
                    conn.execute(text("SET LOCAL jit = off"))
                return conn.execute(text(PLAIN_AGGREGATE)).one()

        return aggregate

    def summarize() -> Any:
        with Session(engine) as session:
            return reconcile.summarize(session, system, where, as_of=AS_OF)

    def stored_run() -> Any:
        with Session(engine) as session, session.begin():
            run = reconcile.run_reconciliation(session, system, where, as_of=AS_OF, now=AS_OF)
            return run.line_count, run.finding_count, run.orphan_count

    # The baseline at its fastest: the reconciliation turns PostgreSQL's JIT off for its own
    # transactions (ledger/reconcile/facts.py without_jit), so the plain aggregate is timed both
    # with and without it, and the faster counts.
    base_s, base_row = min(_best_of_two(baseline(True)), _best_of_two(baseline(False)), key=lambda t: t[0])
    summary_s, summary = _best_of_two(summarize)
    run_s, (lines, findings, orphans) = _best_of_two(stored_run)
    engine.dispose()
    assert lines == base_row[0] == sum(x.lines for x in summary), "every line is classified exactly once"
    plain = "plain SQL aggregate"
    return Result(
        "reconcile",
        [
            Row(
                "reconcile",
                f"reconciliation summary, {lines:,} order lines",
                summary_s,
                "s",
                base_s,
                plain,
                Target("ratio", "<=", 1.5, "≤ 1.5× baseline"),
            ),
            Row(
                "reconcile",
                f"stored reconciliation run ({findings:,} findings)",
                run_s,
                "s",
                base_s,
                plain,
                Target("ratio", "<=", 2.5, "≤ 2.5× baseline"),
            ),
        ],
        {
            "order_lines": lines,
            "generate_seconds": round(generate_seconds, 1) if generate_seconds else None,
            "findings": findings,
            "orphans": orphans,
            "by_status": {x.status.value: x.lines for x in summary},
        },
        url,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=DEFAULT_URL, help="dropped and recreated (unless --reuse)")
    parser.add_argument("--order-lines", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reuse", action="store_true", help="keep the generated data of an earlier run")
    parser.add_argument("--out", type=Path, default=RESULTS / "reconcile.json")
    args = parser.parse_args()
    url = normalize_database_url(args.database_url)
    result = run(url, order_lines=args.order_lines, seed=args.seed, reuse=args.reuse)
    report([result], args.out, database_url=url)


if __name__ == "__main__":
    main()
