"""What the change stamps (core/change_stamps.py) cost a bulk insert: the same rows inserted with
Core `insert(...)` executemany into a plain table, and into the same table with the stamp columns,
their (xid, seq) index and trigger; prints rows per second and the ratio.

    python -m bench.sync_stamps --url postgresql+psycopg://postgres@127.0.0.1/postgres --rows 200000
    python -m bench.sync_stamps --url sqlite:////tmp/stamps.sqlite3
"""

from __future__ import annotations

import argparse
import time

from sqlalchemy import BigInteger, Column, Integer, MetaData, String, Table, create_engine, insert, text

from core import change_stamps


def _table(metadata: MetaData, name: str, stamped: bool) -> Table:
    columns = [
        Column("id", Integer, primary_key=True),
        Column("order_id", BigInteger),
        Column("quantity", Integer),
        Column("batch_no", String(40)),
    ]
    if stamped:
        columns += [
            Column("sync_xid", BigInteger, server_default="0", nullable=False),
            Column("sync_seq", BigInteger, server_default="0", nullable=False),
        ]
    return Table(name, metadata, *columns)


def run(url: str, rows: int) -> dict[str, float]:
    engine = create_engine(url)
    dialect = engine.dialect.name
    figures: dict[str, float] = {}
    data = [{"order_id": i // 10, "quantity": i % 50 + 1, "batch_no": f"B{i % 997}"} for i in range(rows)]
    for stamped in (False, True):
        metadata = MetaData()
        name = f"bench_stamps_{int(stamped)}"
        table = _table(metadata, name, stamped)
        with engine.begin() as conn:
            table.drop(conn, checkfirst=True)
            table.create(conn)
            if stamped:
                conn.execute(text(f"CREATE INDEX ix_{name}_sync ON {name} (sync_xid, sync_seq)"))
                if dialect == "postgresql":
                    for statement in change_stamps.postgresql_function():
                        conn.execute(text(statement))
                for statement in change_stamps.install(name, dialect):
                    conn.execute(text(statement))
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(insert(table), data)
        figures["stamped" if stamped else "plain"] = rows / (time.perf_counter() - started)
        with engine.begin() as conn:
            table.drop(conn)
    engine.dispose()
    figures["ratio"] = figures["stamped"] / figures["plain"]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    figures = run(args.url, args.rows)
    print(
        f"{args.rows} rows: plain {figures['plain']:,.0f} rows/s, stamped {figures['stamped']:,.0f} rows/s, "
        f"stamped/plain = {figures['ratio']:.2f}"
    )


if __name__ == "__main__":
    main()
