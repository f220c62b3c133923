"""The benchmark suite: every benchmark in one run, one table, one JSON result.

    python -m bench.suite --scale small                                  # SQLite, temporary files
    python -m bench.suite --scale province \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/vbp_bench_reconcile

Every figure is printed with its baseline measured in the same run, the ratio, the target and
pass/fail; bench/results/suite-<scale>-<database>.json keeps them with the machine facts (CPU
count, platform, Python, database and server version, time, git commit).

Databases: on PostgreSQL the URL names the province database (reconciliation, indicators and
warnings, generated once per run and kept, so ``python -m bench.reconcile --reuse`` can use it
later); API intake, bid opening and order import each drop and recreate a sibling database on the same
server (<name>_intake, <name>_opening, <name>_import). On PostgreSQL only, the concurrent
audited writers (<name>_audit) and the month-end statements on 1 and 2 Celery workers
(<name>_workers; RabbitMQ at VBP_BROKER_URL, default amqp://guest:guest@127.0.0.1:5672//) run
too: SQLite serializes every writer, so neither means anything there. On SQLite (the default for small) the
URL names the province file and the others go to a temporary directory. ``--reuse`` keeps the
province database of an earlier run instead of generating it.

``--update-readme`` rewrites the block between ``<!-- bench:start -->`` and ``<!-- bench:end -->``
in README.md from the newest suite result of each scale (this run's and the other's, if any),
and nothing else in the file.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.config import normalize_database_url  # noqa: E402
from bench import (  # noqa: E402
    api_intake,
    audit_lanes,
    bid_opening,
    indicators,
    order_import,
    reconcile,
    statement_pdf,
    statements_workers,
)
from bench import trace_codes as trace_bench  # noqa: E402
from bench import warnings as warning_bench  # noqa: E402
from bench.common import (  # noqa: E402
    RESULTS,
    Result,
    Row,
    describe,
    format_figure,
    format_ratio,
    fresh_database,
    machine_facts,
    table,
    verdict,
    write_json,
)

README = ROOT / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/vbp_bench_reconcile"


@dataclass(frozen=True)
class SuiteScale:
    """The sizes of one suite run. The fixed-size benchmarks keep the sizes their targets name."""

    name: str
    order_lines: int  #: the generated province (reconciliation, indicators)
    intake_orders: int
    opening_items: int
    opening_bids: int
    opening_hospitals: int
    opening_demand: int  #: items each hospital reports
    import_lines: int
    statement_lines: int
    trace_codes: int = 100_000  #: codes attached to and matched on one shipment line
    #: Month-end statements with PDFs on 1 and on 2 Celery workers (PostgreSQL and RabbitMQ only).
    workers_hospitals: int = 200
    #: Concurrent audited writers, one chain against the lanes (PostgreSQL only).
    audit_threads: int = 8
    audit_transactions: int = 300


SCALES = {
    "small": SuiteScale("small", 50_000, 300, 500, 20, 2_000, 100, 100_000, 10_000),
    "province": SuiteScale(
        "province", 1_000_000, 2_000, 500, 20, 10_000, 100, 100_000, 10_000, workers_hospitals=2_000
    ),
    #: For the suite's own test: every benchmark runs, nothing takes long.
    "tiny": SuiteScale(
        "tiny", 2_000, 10, 4, 3, 20, 2, 200, 60, trace_codes=200, workers_hospitals=4, audit_transactions=10
    ),
}


def _sibling(url: str, suffix: str, tmp: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"sqlite:///{tmp}/{suffix}.sqlite3"
    return parsed.set(database=f"{parsed.database}_{suffix}").render_as_string(hide_password=False)


def run_suite(
    scale: SuiteScale, url: str, *, reuse: bool = False, log: Callable[[str], None] = print
) -> tuple[dict[str, Any], list[Result]]:
    """Run every benchmark; the machine facts and the results in the order run."""
    if not reuse:
        fresh_database(url)  # the province database exists before the facts are read from it
    facts = machine_facts(url)
    log(f"benchmark suite, scale {scale.name}: {describe(facts)}")
    steps: list[tuple[str, Callable[[str], Result]]] = [
        ("reconcile", lambda tmp: reconcile.run(url, order_lines=scale.order_lines, reuse=reuse)),
        ("indicators", lambda tmp: indicators.run(url, reuse=True)),
        ("warnings", lambda tmp: warning_bench.run(url, reuse=True)),
        (
            "api_intake",
            lambda tmp: api_intake.run(_sibling(url, "intake", tmp), orders=scale.intake_orders),
        ),
        (
            "bid_opening",
            lambda tmp: bid_opening.run(
                _sibling(url, "opening", tmp),
                items=scale.opening_items,
                bids=scale.opening_bids,
                hospitals=scale.opening_hospitals,
                demand_per_hospital=scale.opening_demand,
            ),
        ),
        (
            "order_import",
            lambda tmp: order_import.run(_sibling(url, "import", tmp), lines=scale.import_lines),
        ),
        ("statement_pdf", lambda tmp: statement_pdf.run(scale.statement_lines)),
        (
            "trace_codes",
            lambda tmp: trace_bench.run(_sibling(url, "trace", tmp), codes=scale.trace_codes),
        ),
    ]
    if make_url(url).get_backend_name() == "postgresql":
        # Several writers at once: meaningless on SQLite, which serializes every writer.
        steps += [
            (
                "audit_lanes",
                lambda tmp: audit_lanes.run(
                    _sibling(url, "audit", tmp),
                    threads=scale.audit_threads,
                    transactions=scale.audit_transactions,
                ),
            ),
            (
                "statements_workers",
                lambda tmp: statements_workers.run(
                    _sibling(url, "workers", tmp), hospitals=scale.workers_hospitals
                ),
            ),
        ]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, step in steps:
            started = time.perf_counter()
            log(f"  {name} …")
            result = step(tmp)
            result.details["wall_seconds"] = round(time.perf_counter() - started, 1)
            results.append(result)
    return facts, results


def result_path(scale: str, database: str) -> Path:
    return RESULTS / f"suite-{scale}-{database}.json"


def command_line(argv: list[str]) -> str:
    shown = [a for a in argv if a != "--update-readme"]
    return " ".join(["python -m bench.suite", *shown])


# --- README block ------------------------------------------------------------------------------


def _cell(row: dict[str, Any]) -> str:
    figure = format_figure(row["figure"], row["unit"])
    baseline = format_figure(row["baseline"], row["unit"])
    text = f"{figure} vs {baseline} ({format_ratio(row['ratio'])})"
    return text if row["passed"] is None else f"{text} {verdict(row['passed'])}"


def readme_block(payloads: list[dict[str, Any]]) -> str:
    """The table of the newest result per scale, with the commands and machines that made them.
    A figure's line is its benchmark and position; a cell names its sizes when they differ from
    the line's."""
    out = []
    for p in payloads:
        m = p["machine"]
        out.append(
            f"- `{p['command']}`: {m['database']} {m['database_version']}, {m['cpus']} CPUs, "
            f"Python {m['python']}, commit {m['git_commit']}, {m['at']}"
        )
    out.append("")
    columns = [f"{p['scale']}, {p['machine']['database']}" for p in payloads]
    out.append("| figure | baseline (same run) | target | " + " | ".join(columns) + " |")
    out.append("|---|---|---|" + "---|" * len(payloads))
    lines: dict[tuple[str, int], dict[str, Any]] = {}
    for p in payloads:
        for bench in p["benchmarks"].values():
            for n, row in enumerate(bench["rows"]):
                lines.setdefault((row["benchmark"], n), row)
    for (benchmark, n), first in lines.items():
        cells = []
        for p in payloads:
            rows = p["benchmarks"].get(benchmark, {}).get("rows", [])
            row = rows[n] if n < len(rows) else None
            if row is None:
                cells.append("—")
            elif row["name"] != first["name"]:
                cells.append(f"{row['name']}: {_cell(row)}")
            else:
                cells.append(_cell(row))
        baseline = first["baseline_name"].split(" (")[0]
        out.append(f"| {first['name']} | {baseline} | {first['target'] or '—'} | " + " | ".join(cells) + " |")
    out.append("")
    out.append(
        "ratio = figure ÷ baseline (for seconds: times the baseline's time; for rates: share of the "
        "baseline's rate). Sizes per scale: `SCALES` in `bench/suite.py`; every benchmark's details "
        "(counts, peak memory, seconds per step) in the JSON files in `bench/results/`."
    )
    return "\n".join(out)


def newest_results() -> list[dict[str, Any]]:
    """The newest suite result of each scale in bench/results (small, then province)."""
    payloads = []
    for scale in ("small", "province"):
        found = sorted(RESULTS.glob(f"suite-{scale}-*.json"), key=lambda p: p.stat().st_mtime)
        if found:
            payloads.append(json.loads(found[-1].read_text()))
    return payloads


def update_readme(path: Path = README, payloads: list[dict[str, Any]] | None = None) -> None:
    """Rewrite only the marked block, reading the file right before writing it."""
    block = readme_block(newest_results() if payloads is None else payloads)
    text = path.read_text()
    if text.count(START) != 1 or text.count(END) != 1 or text.index(START) > text.index(END):
        raise SystemExit(f"README.md needs exactly one {START} … {END} block")
    before, rest = text.split(START)
    _, after = rest.split(END)
    path.write_text(f"{before}{START}\n{block}\n{END}{after}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument(
        "--database-url",
        help="the province database (default: a temporary SQLite file; PostgreSQL for province)",
    )
    parser.add_argument("--reuse", action="store_true", help="keep the province data of an earlier run")
    parser.add_argument("--update-readme", action="store_true", help="rewrite README.md's benchmark table")
    parser.add_argument(
        "--out", type=Path, help="the JSON result (default: bench/results/suite-<scale>-<db>.json)"
    )
    args_list = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(args_list)
    scale = SCALES[args.scale]
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or (
            DEFAULT_PG if scale.name == "province" else f"sqlite:///{tmp}/province.sqlite3"
        )
        url = normalize_database_url(url)
        if scale.name == "province" and make_url(url).get_backend_name() != "postgresql":
            raise SystemExit("the province scale runs on PostgreSQL (--database-url postgresql+psycopg://…)")
        started = time.perf_counter()
        facts, results = run_suite(scale, url, reuse=args.reuse)
    rows: list[Row] = [r for result in results for r in result.rows]
    payload = {
        "suite": "bench.suite",
        "scale": scale.name,
        "sizes": scale.__dict__,
        "command": command_line(args_list),
        "machine": facts,
        "seconds": round(time.perf_counter() - started, 1),
        "benchmarks": {r.benchmark: r.to_json() for r in results},
    }
    print()
    print(f"scale {scale.name}: {describe(facts)}")
    print(table(rows))
    out = args.out or result_path(scale.name, facts["database"])
    write_json(out, payload)
    print(f"result: {out}")
    if args.update_readme:
        update_readme()
        print(f"updated the benchmark block of {README}")
    return payload


if __name__ == "__main__":
    main()
