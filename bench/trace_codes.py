"""Benchmark: traceability codes (issue 19 item 2) — attach and match 100,000 codes on one line.

    python -m bench.trace_codes                       # 100,000 codes, temporary SQLite file
    python -m bench.trace_codes --codes 300000 --database-url postgresql://127.0.0.1/bench_trace
    VBP_BENCH_TRACE_CODES=300000 python -m bench.trace_codes

Attach: `attach_codes` (parse, count, duplicate check against the live codes, bulk write, audit)
against a plain bulk insert of the same rows (core.db.bulk_insert: COPY on PostgreSQL), rolled
back. Match: `confirm_receipt` with the full scan (parse, set compare, foreign check, one UPDATE,
the stored match) against a plain join of the same rows (the scan bulk-inserted into a scratch
table joined to the line's codes). Figures in codes per second; ratio = share of the baseline's rate.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from alembic import command
from sqlalchemy import Column, MetaData, String, Table, func, select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.cli import alembic_config  # noqa: E402
from app.config import Config, normalize_database_url  # noqa: E402
from app.db import get_db  # noqa: E402
from bench.common import RESULTS, Result, Row, fresh_database, report  # noqa: E402
from bench.order_import import T0, seed  # noqa: E402
from core import accounts  # noqa: E402
from core.actors import Role  # noqa: E402
from core.db import bulk_insert  # noqa: E402
from core.organizations import Organization, User  # noqa: E402
from ledger.services import ordering  # noqa: E402
from ledger.services.ordering import LineRequest, ShipRequest, Urgency  # noqa: E402
from ledger.trace.attach import attach_codes  # noqa: E402
from ledger.trace.formats import CodeKind  # noqa: E402
from ledger.trace.models import TraceCode, TraceCodeState  # noqa: E402

DEFAULT_CODES = int(os.environ.get("VBP_BENCH_TRACE_CODES", "100000"))


def _shipped_line(session: Session, packs: int) -> tuple[int, object, object]:
    hospital_user = session.scalars(select(User).where(User.username == "bench")).one()
    hospital = accounts.actor_for_user(hospital_user)
    distributor_org = session.scalars(select(Organization).where(Organization.name == "distributor2")).one()
    user = User(
        organization=distributor_org,
        username="bench-d",
        display_name="bench-d",
        role=Role.OPERATOR,
        password_hash=accounts.hash_password("Bench-password-1"),
        active=True,
        created_at=T0,
    )
    session.add(user)
    session.flush()
    distributor = accounts.actor_for_user(user)
    return hospital, distributor, distributor_org.id  # type: ignore[return-value]


def run(url: str | None = None, *, codes: int = DEFAULT_CODES) -> Result:
    with tempfile.TemporaryDirectory() as tmp:
        url = url or f"sqlite:///{tmp}/trace.sqlite3"
        fresh_database(url)
        command.upgrade(alembic_config(url), "head")
        app = create_app(Config(env="development", database_url=url, secret_key="b" * 40, instance_path=tmp))
        _token, listing_ids, distributor_id = seed(app, 1)
        db = get_db(app)
        now = T0 + timedelta(days=1)
        numbers = [f"8{i:019d}" for i in range(codes)]
        with db.sessionmaker() as session:
            hospital, distributor, _ = _shipped_line(session, codes)
            order = ordering.place_orders(
                session,
                hospital,  # type: ignore[arg-type]
                distributor_id=distributor_id,
                lines=[LineRequest(listing_ids[0], codes)],
                urgency=Urgency.NORMAL,
                now=now,
            )
            ordering.decide_order(session, distributor, order.id, accept=True, reason=None, now=now)  # type: ignore[arg-type]
            shipment = ordering.ship(
                session,
                distributor,  # type: ignore[arg-type]
                order.id,
                lines=[ShipRequest(order.lines[0].id, codes, "B1", (now + timedelta(days=700)).date())],
                now=now,
            )
            line = shipment.lines[0]
            product_id = order.lines[0].product_id
            session.commit()

            rows = [
                {
                    "code": c,
                    "live_code": c,
                    "kind": CodeKind.DOMESTIC,
                    "shipment_line_id": line.id,
                    "shipment_id": line.shipment_id,
                    "hospital_id": line.hospital_id,
                    "distributor_id": line.distributor_id,
                    "product_id": product_id,
                    "state": TraceCodeState.IN_TRANSIT,
                    "attached_on": now.date(),
                    "attached_at": now,
                    "matched_at": None,
                    "released_at": None,
                }
                for c in numbers
            ]
            started = time.perf_counter()
            bulk_insert(session, TraceCode.__table__, rows)  # type: ignore[arg-type]
            session.flush()
            plain_insert = time.perf_counter() - started
            session.rollback()

            started = time.perf_counter()
            attach_codes(session, distributor, line.id, codes=numbers, now=now)  # type: ignore[arg-type]
            session.commit()
            attach_s = time.perf_counter() - started

            scratch = Table("bench_scan", MetaData(), Column("code", String(38), primary_key=True))
            scratch.create(session.connection())
            started = time.perf_counter()
            bulk_insert(session, scratch, ({"code": c} for c in numbers))
            joined = session.scalar(
                select(func.count())
                .select_from(TraceCode)
                .join(scratch, scratch.c.code == TraceCode.code)
                .where(TraceCode.shipment_line_id == line.id)
            )
            plain_join = time.perf_counter() - started
            session.rollback()
            assert joined == codes, joined

            started = time.perf_counter()
            receipt = ordering.confirm_receipt(
                session,
                hospital,  # type: ignore[arg-type]
                line.id,
                accepted=codes,
                rejected=0,
                reason_code=None,
                now=now,
                scanned_codes=numbers,
            )
            session.commit()
            match_s = time.perf_counter() - started
            assert receipt.trace_match.kept_count == codes  # type: ignore[attr-defined]
        db.engine.dispose()
    rows_out = [
        Row(
            "trace_codes",
            f"attach {codes:,} codes to one shipment line (attach_codes)",
            codes / attach_s,
            "codes/s",
            codes / plain_insert,
            "plain bulk insert of the same rows",
        ),
        Row(
            "trace_codes",
            f"match {codes:,} scanned codes at receipt (confirm_receipt)",
            codes / match_s,
            "codes/s",
            codes / plain_join,
            "plain join of the same rows (scan bulk-inserted, joined)",
        ),
    ]
    details = {
        "codes": codes,
        "attach_seconds": round(attach_s, 3),
        "plain_insert_seconds": round(plain_insert, 3),
        "match_seconds": round(match_s, 3),
        "plain_join_seconds": round(plain_join, 3),
    }
    return Result("trace_codes", rows_out, details, url)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="dropped and recreated (default: a temporary SQLite file)")
    parser.add_argument("--codes", type=int, default=DEFAULT_CODES)
    parser.add_argument("--out", type=Path, default=RESULTS / "trace_codes.json")
    args = parser.parse_args()
    url = normalize_database_url(args.database_url) if args.database_url else None
    result = run(url, codes=args.codes)
    report([result], args.out, database_url=url or "sqlite://")


if __name__ == "__main__":
    main()
