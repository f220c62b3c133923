"""Benchmark: the daily supervision warnings (issue 18) on the province-scale data set.

    python -m bench.warnings --reuse        # on the database bench.reconcile generated
    python -m bench.warnings --order-lines 50000 --database-url sqlite:////tmp/warn.sqlite3

Times `compute_warnings` as the daily job runs it — the use-monitoring rules (non-winner share,
agreed-volume lag, unconfirmed receipts, implausibly fast logistics), then every registered daily
rule — against a plain SQL aggregate over the same rows (order lines of the rules' window grouped
per hospital × product). Each run is rolled back, so the database stays as generated.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.config import normalize_database_url  # noqa: E402
from bench.common import RESULTS, Result, Row, Target, report  # noqa: E402
from bench.reconcile import AS_OF, DEFAULT_URL, prepare  # noqa: E402
from bench.warnings_overlay import add_vbp_layer  # noqa: E402
from ledger.models import OrderLine  # noqa: E402
from ledger.supervision.settings import DEFAULTS  # noqa: E402
from ledger.supervision.warnings import RULES, compute_warnings, load_rules  # noqa: E402

USE_RULES = ["non_winner_share", "volume_lag", "receipt_unconfirmed", "implausibly_fast"]
#: A daily job, run at night: a generous bound that still catches a rule gone quadratic.
TARGET = Target("figure", "<=", 120, "≤ 120 s")


def _plain_aggregate(engine: object) -> float:
    """The window's order lines summed per hospital × product in one query (best of two)."""
    first = (AS_OF - timedelta(days=DEFAULTS.window_days)).date()
    sql = text(
        "SELECT hospital_id, product_id, count(*), sum(quantity), sum(accepted_quantity), "
        "sum(shipped_quantity) FROM order_lines WHERE ordered_on >= :a GROUP BY hospital_id, product_id"
    )
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        with engine.connect() as conn:  # type: ignore[attr-defined]
            conn.execute(sql, {"a": first}).all()
        best = min(best, time.perf_counter() - start)
    return best


def _timed(
    engine: object, rules: list[str]
) -> tuple[float, dict[str, int], dict[str, float], dict[str, int], float]:
    """compute_warnings over `rules` as of AS_OF, rolled back: seconds of the first run (every
    subject new: raised and audited), warnings found per rule, seconds per rule, the VBP layer's
    counts, and seconds of a second run the same day (every subject seen again: nothing new)."""
    per_rule: dict[str, float] = {}
    marks = [time.perf_counter()]

    def tick(code: str) -> None:
        marks.append(time.perf_counter())
        per_rule[code] = round(marks[-1] - marks[-2], 3)

    with Session(engine) as session:  # type: ignore[call-overload]
        layer = add_vbp_layer(session, AS_OF)  # rolled back with the run, not timed
        start = time.perf_counter()
        summary = compute_warnings(session, now=AS_OF, settings=DEFAULTS, rules=rules, progress=tick)
        seconds = time.perf_counter() - start
        start = time.perf_counter()
        compute_warnings(session, now=AS_OF, settings=DEFAULTS, rules=rules)
        again = time.perf_counter() - start
        session.rollback()
    return seconds, dict(summary.seen), per_rule, layer, again


def run(url: str, *, order_lines: int = 1_000_000, reuse: bool = False) -> Result:
    if not reuse:
        prepare(url, order_lines=order_lines, progress=False)
    engine = create_engine(url)
    with Session(engine) as session:
        lines = session.scalar(select(func.count()).select_from(OrderLine)) or 0
    load_rules()
    every = sorted(c for c, spec in RULES.items() if spec.daily)
    use = [c for c in USE_RULES if c in RULES]
    base = _plain_aggregate(engine)
    use_s, use_found, use_per_rule, layer, _ = _timed(engine, use)
    all_s, all_found, all_per_rule, _, all_again = _timed(engine, every)
    engine.dispose()
    rows = [
        Row(
            "warnings",
            f"daily use-monitoring warnings ({len(use)} rules), {lines:,} order lines",
            use_s,
            "s",
            base,
            "plain SQL aggregate (window's order lines per hospital × product)",
            TARGET,
        ),
        Row(
            "warnings",
            f"daily warnings, every registered rule ({len(every)}), {lines:,} order lines",
            all_s,
            "s",
            base,
            "plain SQL aggregate (window's order lines per hospital × product)",
            TARGET,
        ),
        Row(
            "warnings",
            f"the same day again (every subject seen, nothing new), {lines:,} order lines",
            all_again,
            "s",
            base,
            "plain SQL aggregate (window's order lines per hospital × product)",
            TARGET,
        ),
    ]
    return Result(
        "warnings",
        rows,
        {
            "order_lines": lines,
            "vbp_layer": layer,
            "as_of": AS_OF.isoformat(),
            "rules": every,
            "found": all_found,
            "seconds_per_rule": all_per_rule,
            "use_rules_found": use_found,
            "use_rules_seconds": use_per_rule,
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
    parser.add_argument("--out", type=Path, default=RESULTS / "warnings.json")
    args = parser.parse_args()
    url = normalize_database_url(args.database_url)
    result = run(url, order_lines=args.order_lines, reuse=args.reuse)
    report([result], args.out, database_url=url)


if __name__ == "__main__":
    main()
