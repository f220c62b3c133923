"""Long simulation runs by hand: many seeds, every failure kept (shrunk), a summary at the end.

    python -m tests.simulation.explore --seeds 5000 --steps 100 --workers 2
    python -m tests.simulation.explore --seeds 500 --database postgresql

The suite plays a bounded number of seeds and stops a worker at its first failure
(tests/simulation/test_simulation.py); this plays them all, on throw-away databases.
"""

from __future__ import annotations

import argparse
import multiprocessing
import re
import sys
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app.cli import alembic_config
from tests.conftest import PG_ADMIN_URL
from tests.simulation.test_simulation import report, run_seed, world_on


def _database(kind: str, folder: Path) -> str:
    name = f"vbp_sim_{uuid.uuid4().hex[:12]}"
    if kind == "sqlite":
        url = f"sqlite:///{folder / (name + '.sqlite3')}"
    else:
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    command.upgrade(alembic_config(url), "head")
    return url


def _drop(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def explore(url: str, seeds: list[int], steps: int, budget: int) -> tuple[Counter[str], list[str]]:
    """Play every seed; shrink and report every failure."""
    totals: Counter[str] = Counter()
    reports = []
    with world_on(url) as world:
        for seed in seeds:
            events, failure, outcomes = run_seed(world, seed, steps)
            totals.update(outcomes)
            if failure is not None:
                reports.append(report(world, seed, events, failure, budget))
                print(f"seed {seed}: {failure}", file=sys.stderr, flush=True)
    return totals, reports


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=1000)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--shrink", type=int, default=300)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        urls = [_database(args.database, Path(folder)) for _ in range(args.workers)]
        chunks = [
            list(range(args.first_seed + n, args.first_seed + args.seeds, args.workers))
            for n in range(args.workers)
        ]
        try:
            spawn = multiprocessing.get_context("spawn")
            with ProcessPoolExecutor(args.workers, mp_context=spawn) as pool:
                jobs = [
                    pool.submit(explore, url, chunk, args.steps, args.shrink)
                    for url, chunk in zip(urls, chunks, strict=True)
                ]
                results = [job.result() for job in jobs]
        finally:
            for url in urls:
                _drop(url)
    totals: Counter[str] = Counter()
    reports: list[str] = []
    for outcomes, found in results:
        totals.update(outcomes)
        reports += found
    kinds = Counter(re.sub(r"-?\d+", "#", r.splitlines()[0].split(": ", 2)[-1])[:90] for r in reports)
    seconds = time.perf_counter() - started
    print(
        f"{args.seeds} seeds × {args.steps} steps on {args.database} in {seconds:.0f} s: "
        f"{totals['ok']} events applied, {totals['refused']} refused, {totals['skipped']} skipped; "
        f"{len(reports)} failing seeds"
    )
    for kind, n in kinds.most_common():
        print(f"  {n:5d} × {kind}")
    for found in reports:
        print("\n" + found)
    return 1 if reports else 0


if __name__ == "__main__":
    sys.exit(main())
