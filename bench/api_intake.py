"""Benchmark: order intake through the HTTP API (a real WSGI server, several client threads)
next to inserting the same orders with the same driver directly, in the same run.

    python -m bench.api_intake                                   # PostgreSQL, 2,000 orders × 5 lines
    python -m bench.api_intake --database-url sqlite:////tmp/intake.sqlite3 --orders 500

The API is served by ``gunicorn wsgi:app`` worker processes, as in production; the client
threads run in this process. The API path does everything a hospital's HIS call does: TLS
aside, HTTP parsing, bearer-token authentication, validation, listing and authorization checks,
price freezing, the audit event, one transaction per order. The baseline writes the same order
and line rows, one transaction per order, with SQLAlchemy Core on the same driver. Prints
orders/s for both and the ratio (target ≥ 50 %), and writes a JSON result.
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import create_engine, func, insert, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.cli import alembic_config  # noqa: E402
from app.config import Config, normalize_database_url  # noqa: E402
from app.db import get_db  # noqa: E402
from bench.common import RESULTS, Result, Row, Target, fresh_database, report  # noqa: E402
from bench.order_import import seed  # noqa: E402
from core.db import Base  # noqa: E402
from ledger.models import Listing, OrderLine  # noqa: E402

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
def gunicorn(url: str, instance: str, workers: int) -> Iterator[int]:
    """``gunicorn wsgi:app`` as production runs it (README), configured from the environment:
    worker processes of their own, so the server does not share the clients' interpreter."""
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
            sys.executable, "-m", "gunicorn", "wsgi:app",
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
                conn.request("GET", "/api/v1/openapi.json")
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


def through_api(port: int, token: str, bodies: list[dict[str, Any]], threads: int) -> float:
    chunks = [bodies[i::threads] for i in range(threads)]

    def client(chunk: list[dict[str, Any]]) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        ok = 0
        for body in chunk:
            conn.request(
                "POST",
                "/api/v1/orders",
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


def direct(
    url: str, hospital_id: int, bodies: list[dict[str, Any]], prices: dict[int, tuple[int, int, int]]
) -> float:
    """The same rows, one transaction per order, same driver, no HTTP and no checks."""
    engine = create_engine(url)
    orders, lines = Base.metadata.tables["orders"], Base.metadata.tables["order_lines"]
    now = datetime.now(UTC)
    start = time.perf_counter()
    for body in bodies:
        with engine.begin() as conn:
            order_id = conn.execute(
                insert(orders).returning(orders.c.id),
                {
                    "hospital_id": hospital_id,
                    "distributor_id": body["distributor_id"],
                    "region_code": "510104",
                    "status": "submitted",
                    "urgency": "normal",
                    "deadline_at": now + timedelta(hours=24),
                    "submitted_at": now,
                },
            ).scalar_one()
            conn.execute(
                insert(lines),
                [
                    {
                        "order_id": order_id,
                        "hospital_id": hospital_id,
                        "manufacturer_id": prices[x["listing_id"]][1],
                        "distributor_id": body["distributor_id"],
                        "region_code": "510104",
                        "listing_id": x["listing_id"],
                        "product_id": prices[x["listing_id"]][2],
                        "mode": "price_linked",
                        "quantity": x["quantity"],
                        "pack_price_fen": prices[x["listing_id"]][0],
                        "amount_fen": x["quantity"] * prices[x["listing_id"]][0],
                        "shipped_quantity": 0,
                        "accepted_quantity": 0,
                        "rejected_quantity": 0,
                        "returned_quantity": 0,
                        "cancelled_quantity": 0,
                        "status": "open",
                        "ordered_on": now.date(),
                    }
                    for x in body["lines"]
                ],
            )
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
    """A fresh database, the orders through the API, then the same rows inserted directly."""
    fresh_database(url)
    command.upgrade(alembic_config(url), "head")
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Config(env="development", database_url=url, secret_key="b" * 40, instance_path=tmp))
        token, listing_ids, distributor_id = seed(app, 200)
        db = get_db(app)
        with db.sessionmaker() as session:
            prices = {
                lid: (price, maker, product)
                for lid, price, maker, product in session.execute(
                    select(Listing.id, Listing.pack_price_fen, Listing.manufacturer_id, Listing.product_id)
                )
            }
            hospital_id = session.scalar(
                text("SELECT id FROM organizations WHERE kind = 'hospital' ORDER BY id LIMIT 1")
            )
        bodies = _bodies(orders, lines, listing_ids, distributor_id)
        with gunicorn(url, tmp, workers) as port:
            api_s = through_api(port, token, bodies, threads)
        direct_s = direct(url, hospital_id, bodies, prices)
        with db.sessionmaker() as session:
            stored = session.scalar(select(func.count()).select_from(OrderLine))
        db.engine.dispose()
    assert stored == 2 * orders * lines, stored
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
            )
        ],
        {
            "orders": orders,
            "lines_per_order": lines,
            "client_threads": threads,
            "server": f"gunicorn wsgi:app, {workers} sync workers",
            "api_seconds": round(api_s, 2),
            "direct_seconds": round(direct_s, 2),
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
