"""Benchmark: open a batch of N items × M sealed bids and allocate agreed volumes to H hospitals.

    python -m bench.bid_opening                       # 500 items × 20 bids, 2,000 hospitals, SQLite
    python -m bench.bid_opening --database-url postgresql://postgres@127.0.0.1/vbp_bench_opening
    python -m bench.bid_opening --hospitals 10000 --database-url …   # the province: 1,000,000 allocations

The data is written with bulk inserts in one process (the database is dropped and recreated);
the opening then runs in a fresh process so its peak memory (max RSS) is the opening's own.
The baseline, in the same process after the opening: the rows the opening wrote (bid results,
awards, region assignments, item results, volume allocations) deleted and bulk-inserted again
as they are, then rolled back — the cost of the writes alone, foreign keys and indexes included.
Both write through core.db.bulk_insert (COPY on PostgreSQL, streamed; executemany elsewhere),
item results (JSON columns) excepted: the floor inserts those with executemany, the opening
through the ORM. Target: the opening within 1.3× its floor. Prints the figures and writes a
JSON result.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, delete, func, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.cli import alembic_config  # noqa: E402
from app.config import normalize_database_url  # noqa: E402
from bench.common import RESULTS, Result, Row, Target, fresh_database, report  # noqa: E402
from bidding import rules  # noqa: E402
from bidding.models import (  # noqa: E402
    Award,
    BatchItem,
    BatchStatus,
    Bid,
    BidResult,
    BidStatus,
    Category,
    DemandReport,
    DosageFormGroup,
    ItemResult,
    ProcurementBatch,
    Product,
    RatioKind,
    RegionAssignment,
    Scope,
    VolumeAllocation,
)
from bidding.sealing import BidContent, BidSealer  # noqa: E402
from core.actors import Actor, OrgKind  # noqa: E402
from core.db import bulk_insert  # noqa: E402
from core.organizations import HospitalLevel, Organization  # noqa: E402
from core.uscc import make_uscc  # noqa: E402

T0 = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
#: 21 prefecture-level regions of Sichuan (510100 … 513400), the allocation regions.
REGIONS = [
    f"51{n:02d}00" for n in (1, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 32, 33, 34)
]


def _orgs(session: Session, kind: OrgKind, count: int, prefix: str, rng: random.Random) -> list[int]:
    rows = []
    for n in range(count):
        hospital = kind is OrgKind.HOSPITAL
        rows.append(
            {
                "kind": kind,
                "name": f"{prefix}{n:05d}",
                "uscc": make_uscc(f"9151{n:04d}{prefix[:2]}{n:07d}"[:17]),
                "region_code": rng.choice(REGIONS)[:4] + f"{rng.randint(1, 30):02d}",
                "hospital_level": HospitalLevel.SECONDARY if hospital else None,
                "is_public": True if hospital else None,
                "active": True,
                "created_at": T0,
            }
        )
    session.execute(insert(Organization), rows)
    return list(
        session.scalars(select(Organization.id).where(Organization.kind == kind).order_by(Organization.id))
    )


def setup(
    url: str, items: int, bids: int, hospitals: int, demand_per_hospital: int, seed: int, key: str
) -> None:
    """Create the schema and a sealed batch ready to open (bulk inserts, not timed)."""
    fresh_database(url)
    command.upgrade(alembic_config(url), "head")
    engine = create_engine(url)
    rng = random.Random(seed)
    sealer = BidSealer.from_base64(key)
    with Session(engine) as session, session.begin():
        bureau = _orgs(session, OrgKind.BUREAU, 1, "BB", rng)[0]
        makers = _orgs(session, OrgKind.MANUFACTURER, bids, "MA", rng)
        hospital_ids = _orgs(session, OrgKind.HOSPITAL, hospitals, "HH", rng)
        timeline = {
            "demand_opens_at": T0,
            "demand_closes_at": T0 + timedelta(days=5),
            "bid_opens_at": T0 + timedelta(days=6),
            "bid_closes_at": T0 + timedelta(days=8),
            "opening_at": T0 + timedelta(days=8, hours=1),
            "cycle_start_on": date(2026, 3, 1),
            "cycle_end_on": date(2027, 2, 28),
        }
        batch = ProcurementBatch(
            name="基准批次",
            category=Category.DRUG,
            scope=Scope.PROVINCIAL,
            status=BatchStatus.SEALED,
            rule_version="batch_11",
            rules=rules.preset("batch_11").to_dict(),
            created_by_org_id=bureau,
            created_at=T0,
            **timeline,
        )
        session.add(batch)
        session.flush()
        session.execute(
            insert(BatchItem),
            [
                {
                    "batch_id": batch.id,
                    "generic_name": f"品种{i:04d}",
                    "dosage_form_group": DosageFormGroup.ORAL_SOLID,
                    "rep_strength_value": "10",
                    "rep_strength_unit": "mg",
                    "ratio_kind": RatioKind.CONTENT,
                    "allowed_strengths": ["5", "10", "20"],
                    "ceiling_e4": 20_000,
                    "volume_ratio_override": None,
                }
                for i in range(items)
            ],
        )
        item_ids = list(
            session.scalars(select(BatchItem.id).where(BatchItem.batch_id == batch.id).order_by(BatchItem.id))
        )
        session.execute(
            insert(Product),
            [
                {
                    "category": Category.DRUG,
                    "code": f"BM{i:04d}{m:03d}",
                    "generic_name": f"品种{i:04d}",
                    "dosage_form": "片剂",
                    "dosage_form_group": DosageFormGroup.ORAL_SOLID,
                    "strength_value": rng.choice(["5", "10", "10", "20"]),
                    "strength_unit": "mg",
                    "spec_text": "x",
                    "min_unit": "片",
                    "units_per_pack": rng.choice([7, 14, 28, 30, 100]),
                    "mah_id": maker,
                    "originator": False,
                    "reference_listed": m == 0,
                    "consistency_evaluated": True,
                    "active": True,
                    "created_at": T0,
                }
                for i in range(items)
                for m, maker in enumerate(makers)
            ],
        )
        products = session.execute(
            select(Product.id, Product.generic_name, Product.mah_id, Product.units_per_pack)
        ).all()
        by_item = {item_ids[int(name[2:])]: [] for name in {p.generic_name for p in products}}
        for p in products:
            by_item[item_ids[int(p.generic_name[2:])]].append(p)
        bid_rows = []
        for item_id, offers in by_item.items():
            for p in offers:
                price_fen = max(1, int(rng.uniform(0.05, 1.9) * p.units_per_pack * 100))
                content = BidContent(
                    secrets.token_hex(16),
                    batch.id,
                    item_id,
                    p.mah_id,
                    p.id,
                    price_fen,
                    True,
                    T0 + timedelta(days=7),
                )
                sealed = sealer.seal(content)
                bid_rows.append(
                    {
                        "public_id": content.public_id,
                        "batch_id": batch.id,
                        "item_id": item_id,
                        "manufacturer_id": p.mah_id,
                        "product_id": p.id,
                        "status": BidStatus.ACTIVE,
                        "accepts_revival": True,
                        "suite": sealed.suite,
                        "sealing_key_id": sealed.key_id,
                        "sealed": sealed.blob,
                        "digest": sealed.digest,
                        "submitted_at": content.submitted_at,
                    }
                )
        session.execute(insert(Bid), bid_rows)
        regions = {h: r for h, r in session.execute(select(Organization.id, Organization.region_code))}
        demand_rows = []
        for h in hospital_ids:
            for item_id in rng.sample(item_ids, min(demand_per_hospital, len(item_ids))):
                demand_rows.append(
                    {
                        "batch_id": batch.id,
                        "item_id": item_id,
                        "hospital_id": h,
                        "region_code": regions[h][:4] + "00",
                        "brand_product_id": None,
                        "brand_key": 0,
                        "quantity": rng.randint(100, 50_000),
                        "reported_at": T0,
                    }
                )
        bulk_insert(session, DemandReport.__table__, demand_rows)  # COPY on PostgreSQL: 1,000,000 rows
    with engine.connect() as conn:  # statistics, as a live database has them (not left to autovacuum)
        conn.execute(text("ANALYZE"))
        conn.commit()
    engine.dispose()


#: What the opening writes, parents first; the baseline writes the same rows again.
WRITTEN = (BidResult, Award, RegionAssignment, ItemResult, VolumeAllocation)


def _checkpoint(session: Session) -> None:
    """PostgreSQL: flush dirty pages before a timed write (on its own connection), so neither the
    opening nor its floor pays for a checkpoint the other's writes brought on."""
    engine = session.get_bind()
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("CHECKPOINT"))


def write_floor(session: Session) -> float:
    """Seconds to write the opening's rows again with the bulk writer (in a transaction rolled
    back): delete them, then insert them as they were, ids included."""
    tables = [model.__table__ for model in WRITTEN]
    rows = {t.name: [dict(r) for r in session.execute(select(t).order_by(t.c.id)).mappings()] for t in tables}
    for t in reversed(tables):
        session.execute(delete(t))
    session.flush()
    _checkpoint(session)
    started = time.perf_counter()
    for t in tables:
        if t.name == "item_results":  # JSON columns: not for COPY
            session.execute(insert(t), rows[t.name])
        else:
            bulk_insert(session, t, rows[t.name])
    session.flush()
    session.execute(text("SELECT 1"))
    seconds = time.perf_counter() - started
    session.rollback()
    return seconds


def open_batch(url: str, key: str) -> dict[str, float | int]:
    """Time the opening of the one sealed batch (run in a fresh process), then its write floor."""
    from bidding.opening import open_bids

    engine = create_engine(url)
    maker = sessionmaker(engine)
    with maker() as session:
        batch_id = session.scalar(select(ProcurementBatch.id))
        session.execute(text("SELECT 1"))
        _checkpoint(session)
        started = time.perf_counter()
        summary = open_bids(
            session,
            Actor.system(),
            batch_id,
            sealer=BidSealer.from_base64(key),
            now=T0 + timedelta(days=8, hours=2),
        )
        session.commit()
        seconds = time.perf_counter() - started
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        allocations = session.scalar(select(func.count()).select_from(VolumeAllocation))
        session.commit()
        baseline = write_floor(session)
    engine.dispose()
    return {
        "seconds": round(seconds, 3),
        "write_floor_seconds": round(baseline, 3),
        "peak_rss_mib": round(peak_kib / 1024, 1),
        "bids": summary.bids,
        "winners": summary.winners,
        "allocations": allocations or 0,
    }


def run(
    url: str | None = None,
    *,
    items: int = 500,
    bids: int = 20,
    hospitals: int = 2_000,
    demand_per_hospital: int = 100,
    seed: int = 20261123,
) -> Result:
    """Set up a sealed batch in a fresh database (url, or a temporary SQLite file) and open it."""
    key = BidSealer.generate_key()
    with tempfile.TemporaryDirectory() as tmp:
        url = url or f"sqlite:///{tmp}/bench.sqlite3"
        t = time.perf_counter()
        setup(url, items, bids, hospitals, demand_per_hospital, seed, key)
        setup_seconds = time.perf_counter() - t
        child = subprocess.run(
            [sys.executable, "-m", "bench.bid_opening", "--_open", url],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "VBP_BENCH_KEY": key},
        )
    figures = json.loads(child.stdout.strip().splitlines()[-1])
    return Result(
        "bid_opening",
        [
            Row(
                "bid_opening",
                f"bid opening, {items} items × {bids} bids, {hospitals:,} hospitals "
                f"({figures['allocations']:,} allocations)",
                figures["seconds"],
                "s",
                figures["write_floor_seconds"],
                "bulk writes of the same rows",
                Target("ratio", "<=", 1.3, "≤ 1.3× write floor"),
            )
        ],
        {
            "items": items,
            "bids_per_item": bids,
            "hospitals": hospitals,
            "demand_per_hospital": demand_per_hospital,
            "seed": seed,
            "setup_seconds": round(setup_seconds, 1),
            **figures,
        },
        url if not url.startswith("sqlite") else None,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", help="dropped and recreated (default: a temporary SQLite file)")
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--bids", type=int, default=20, help="bids per item (one per manufacturer)")
    parser.add_argument("--hospitals", type=int, default=2000)
    parser.add_argument("--demand-per-hospital", type=int, default=100, help="items each hospital reports")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--out", type=Path, default=RESULTS / "bid_opening.json")
    parser.add_argument("--_open", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._open:
        print(json.dumps(open_batch(args._open, os.environ["VBP_BENCH_KEY"])))
        return
    url = normalize_database_url(args.database_url) if args.database_url else None
    result = run(
        url,
        items=args.items,
        bids=args.bids,
        hospitals=args.hospitals,
        demand_per_hospital=args.demand_per_hospital,
        seed=args.seed,
    )
    report([result], args.out, database_url=url or "sqlite://")


if __name__ == "__main__":
    main()
