"""Benchmark: concurrent audited writes with one audit chain (lanes=1, what every write waited on
before issue 21) against 16 lanes, on PostgreSQL.

    python -m bench.audit_lanes                      # 8 threads × 300 transactions each
    python -m bench.audit_lanes --threads 4 --transactions 500

K threads, each on its own connection, run small transactions for organizations drawn at random
(a different organization almost every time): one audited write (`core.audit.record`) and the
commit. With one lane every transaction holds the single head row from its audit append until its
commit (the WAL flush included), so the writers queue; with 16, only writers of organizations in
the same lane do. The database is made fresh; the lane count is set with the same call
`flask audit lanes` makes. The figure is writes per second (transactions committed ÷ wall time).
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.cli import alembic_config  # noqa: E402
from app.config import normalize_database_url  # noqa: E402
from bench.common import RESULTS, Result, Row, fresh_database, report  # noqa: E402
from core import audit, clock  # noqa: E402
from core.actors import Actor, OrgKind, Role  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/vbp_bench_audit_lanes"
ORGANIZATIONS = 2_000


def _writes_per_second(url: str, lanes: int, threads: int, transactions: int) -> float:
    engine = create_engine(url, pool_size=threads + 1, max_overflow=0)
    with Session(engine) as session:
        audit.set_lane_count(session, lanes, now=clock.now())
        session.commit()
    start_line = threading.Barrier(threads + 1)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        pick = random.Random(n)  # which organization acts: not a secret
        try:
            with Session(engine) as session:
                session.connection()  # connected before the clock starts
                start_line.wait()
                for i in range(transactions):
                    org = pick.randrange(1, ORGANIZATIONS + 1)
                    actor = Actor(user_id=None, org_id=org, org_kind=OrgKind.HOSPITAL, role=Role.OPERATOR)
                    audit.record(
                        session, actor, "bench.write", subject_type="bench", subject_id=i, now=clock.now()
                    )
                    session.commit()
        except BaseException as exc:  # reported after the run
            errors.append(exc)
            start_line.abort()

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    start_line.wait()
    began = time.perf_counter()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - began
    engine.dispose()
    if errors:
        raise errors[0]
    return threads * transactions / elapsed


def run(url: str = DEFAULT_URL, *, threads: int = 8, transactions: int = 300) -> Result:
    fresh_database(url)
    command.upgrade(alembic_config(url), "head")
    one = _writes_per_second(url, 1, threads, transactions)
    many = _writes_per_second(url, 16, threads, transactions)
    engine = create_engine(url)
    with Session(engine) as session:
        verified = audit.verify_chain(session)
        used = sum(1 for _lane, seq, _h in audit.lane_heads(session) if seq)
    engine.dispose()
    if not verified.ok:
        raise RuntimeError(f"audit chain broken after the benchmark: {verified}")
    row = Row(
        "audit_lanes",
        f"concurrent audited writes, 16 lanes, {threads} threads",
        many,
        "writes/s",
        one,
        "one chain (lanes=1: the single head row)",
    )
    return Result(
        "audit_lanes",
        [row],
        {
            "threads": threads,
            "transactions_per_thread": transactions,
            "writes_per_s_lanes_1": round(one, 1),
            "writes_per_s_lanes_16": round(many, 1),
            "ratio": round(many / one, 2),
            "lanes_used": used,
            "events_verified": verified.checked,
        },
        url,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--transactions", type=int, default=300, help="per thread")
    parser.add_argument("--out", type=Path, default=RESULTS / "audit_lanes.json")
    args = parser.parse_args()
    url = normalize_database_url(args.database_url)
    if not url.startswith("postgresql"):
        parser.error("needs PostgreSQL: SQLite serializes every writer whatever the lanes")
    result = run(url, threads=args.threads, transactions=args.transactions)
    report([result], args.out, database_url=url)


if __name__ == "__main__":
    main()
