"""Benchmark: order intake through the HTTP API (a real WSGI server, several client threads)
next to inserting the same orders with the same driver directly, in the same run.

    python -m bench.api_intake                                   # PostgreSQL, 2,000 orders × 5 lines
    python -m bench.api_intake --database-url sqlite:////tmp/intake.sqlite3 --orders 500

The API is served by ``gunicorn wsgi:app`` worker processes, as in production; the client
threads run in this process. The API path does everything a hospital's HIS call does: TLS
aside, HTTP parsing, bearer-token authentication, validation, listing and authorization checks,
price freezing, the audit event, one transaction per order. The baseline writes the same order
and line rows, one transaction per order, with SQLAlchemy Core on the same driver. A second
baseline sends the same orders to a bare Flask route on the same gunicorn that does those same
inserts and nothing else (bench/bare_flask_app.py): API ÷ bare Flask is what our own checks
cost, bare Flask ÷ direct what HTTP and the framework cost. Prints orders/s for all three and
the ratios (target ≥ 50 % of direct inserts), and writes a JSON result.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import create_engine, func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.cli import alembic_config  # noqa: E402
from app.config import Config, normalize_database_url  # noqa: E402
from app.db import get_db  # noqa: E402
from bench.bare_flask_app import first_hospital, insert_order, price_table  # noqa: E402
from bench.common import RESULTS, Result, Row, Target, fresh_database, report  # noqa: E402
from bench.order_import import seed  # noqa: E402
from ledger.models import OrderLine  # noqa: E402

BARE_APP = "bench.bare_flask_app:create_app()"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/vbp_bench_intake"
#: gunicorn's default sync workers, one per core of the 2-core machine. Not gthread: its workers
#: keep keep-alive connections, and the first to wake accepted all four clients' connections and
#: served them alone (82 orders/s with one worker busy, 140 with sync workers sharing the load).
WORKERS = 2


def _bodies(n: int, lines: int, listing_ids: list[int], distributor_id: int) -> list[dict[str, Any]]:
    rng = random.Random(7)
    return [
        {
            "distributor_id": distributor_id,
            "lines": [
                {"listing_id": rng.choice(listing_ids), "quantity": rng.randint(1, 50)} for _ in range(lines)
            ],
        }
        for _ in range(n)
    ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def gunicorn(
    url: str, instance: str, workers: int, *, app: str = "wsgi:app", ready: str = "/api/v1/openapi.json"
) -> Iterator[int]:
    """``gunicorn wsgi:app`` as production runs it (README), configured from the environment:
    worker processes of their own, so the server does not share the clients' interpreter. `app`
    names another WSGI app for a baseline on the same server (bench/bare_flask_app.py)."""
    port = _free_port()
    env = {
        **os.environ,
        "VBP_ENV": "development",
        "DATABASE_URL": url,
        "SECRET_KEY": "b" * 40,
        "VBP_INSTANCE_PATH": instance,
    }
    server = subprocess.Popen(
        [
            sys.executable, "-m", "gunicorn", app,
            "--bind", f"127.0.0.1:{port}",
            "--workers", str(workers),
            "--worker-class", "sync",
            "--log-level", "warning",
        ],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:  # ready once a request is answered (the workers have imported the app)
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", ready)
                conn.getresponse().read()
                conn.close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("gunicorn did not start") from None
                time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def through_api(
    port: int, token: str, bodies: list[dict[str, Any]], threads: int, path: str = "/api/v1/orders"
) -> float:
    chunks = [bodies[i::threads] for i in range(threads)]

    def client(chunk: list[dict[str, Any]]) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        ok = 0
        for body in chunk:
            conn.request(
                "POST",
                path,
                body=json.dumps(body),
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            response = conn.getresponse()
            response.read()
            ok += response.status == 201
        conn.close()
        return ok

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        created = sum(pool.map(client, chunks))
    seconds = time.perf_counter() - start
    if created != len(bodies):
        raise SystemExit(f"only {created} of {len(bodies)} orders were accepted")
    return seconds


def direct(url: str, bodies: list[dict[str, Any]]) -> float:
    """The same rows, one transaction per order, same driver, no HTTP and no checks."""
    engine = create_engine(url)
    with engine.connect() as conn:
        prices, hospital_id = price_table(conn), first_hospital(conn)
    now = datetime.now(UTC)
    start = time.perf_counter()
    for body in bodies:
        with engine.begin() as conn:
            insert_order(conn, hospital_id, body, prices, now)
    seconds = time.perf_counter() - start
    engine.dispose()
    return seconds


def run(
    url: str,
    *,
    orders: int = 2_000,
    lines: int = 5,
    threads: int = 4,
    workers: int = WORKERS,
) -> Result:
    """A fresh database, the orders through the API, the same orders through the bare Flask route,
    then the same rows inserted directly."""
    fresh_database(url)
    command.upgrade(alembic_config(url), "head")
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Config(env="development", database_url=url, secret_key="b" * 40, instance_path=tmp))
        token, listing_ids, distributor_id = seed(app, 200)
        db = get_db(app)
        bodies = _bodies(orders, lines, listing_ids, distributor_id)
        with gunicorn(url, tmp, workers) as port:
            api_s = through_api(port, token, bodies, threads)
        with gunicorn(url, tmp, workers, app=BARE_APP, ready="/ready") as port:
            bare_s = through_api(port, token, bodies, threads, path="/orders")
        direct_s = direct(url, bodies)
        with db.sessionmaker() as session:
            stored = session.scalar(select(func.count()).select_from(OrderLine))
        db.engine.dispose()
    assert stored == 3 * orders * lines, stored
    return Result(
        "api_intake",
        [
            Row(
                "api_intake",
                f"order intake through the HTTP API, {orders:,} orders × {lines} lines, "
                f"{threads} client threads, gunicorn {workers} workers",
                orders / api_s,
                "orders/s",
                orders / direct_s,
                "direct inserts, same driver",
                Target("ratio", ">=", 0.5, "≥ 50 % of baseline"),
            ),
            Row(
                "api_intake",
                f"order intake through the HTTP API beside a bare Flask route, {orders:,} orders",
                orders / api_s,
                "orders/s",
                orders / bare_s,
                "the same inserts behind a bare Flask route, same gunicorn",
            ),
        ],
        {
            "orders": orders,
            "lines_per_order": lines,
            "client_threads": threads,
            "server": f"gunicorn wsgi:app, {workers} sync workers",
            "api_seconds": round(api_s, 2),
            "bare_flask_seconds": round(bare_s, 2),
            "direct_seconds": round(direct_s, 2),
            #: What HTTP, gunicorn and Flask cost by themselves, apart from our checks.
            "bare_flask_vs_direct": round(direct_s / bare_s, 3),
        },
        url,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default=DEFAULT_URL, help="dropped and recreated")
    parser.add_argument("--orders", type=int, default=2_000)
    parser.add_argument("--lines", type=int, default=5, help="lines per order")
    parser.add_argument("--threads", type=int, default=4, help="client threads")
    parser.add_argument("--workers", type=int, default=WORKERS, help="gunicorn worker processes")
    parser.add_argument("--out", type=Path, default=RESULTS / "api_intake.json")
    args = parser.parse_args()
    url = normalize_database_url(args.database_url)
    result = run(
        url,
        orders=args.orders,
        lines=args.lines,
        threads=args.threads,
        workers=args.workers,
    )
    report([result], args.out, database_url=url)


if __name__ == "__main__":
    main()
