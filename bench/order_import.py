"""Benchmark: import N order lines from a spreadsheet through the upload endpoint.

    python -m bench.order_import                        # 100,000 lines, CSV and xlsx, SQLite
    python -m bench.order_import --database-url postgresql://postgres@127.0.0.1/vbp_bench --format csv

The whole path is timed: parse the file, validate every row (marshmallow), check listings and
distribution authorizations, write the order lines (bulk), commit, answer. Prints lines per second
and writes a JSON result.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alembic import command
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from app.cli import alembic_config  # noqa: E402
from app.config import Config, normalize_database_url  # noqa: E402
from app.db import get_db  # noqa: E402
from bench.common import RESULTS, Result, Row, fresh_database, report  # noqa: E402
from bidding.models import Category, DosageFormGroup, Product  # noqa: E402
from core import accounts, tokens  # noqa: E402
from core.actors import OrgKind, Role  # noqa: E402
from core.organizations import HospitalLevel, Organization, User  # noqa: E402
from core.uscc import make_uscc  # noqa: E402
from ledger.models import DistributionAuthorization, Listing, ListingMode, ListingStatus, OrderLine  # noqa: E402

T0 = datetime(2026, 5, 10, 2, 0, tzinfo=UTC)


def seed(app: object, listings: int) -> tuple[str, list[int], int]:
    """A hospital with a token, a distributor authorized for everything, N price-linked listings."""
    db = get_db(app)  # type: ignore[arg-type]
    with db.sessionmaker() as session, session.begin():

        def org(kind: OrgKind, n: int) -> Organization:
            o = Organization(
                kind=kind,
                name=f"{kind.value}{n}",
                uscc=make_uscc(f"9151{n:04d}MA6B{n:05d}"[:17]),
                region_code="510104",
                active=True,
                created_at=T0,
                hospital_level=HospitalLevel.TERTIARY if kind is OrgKind.HOSPITAL else None,
                is_public=True if kind is OrgKind.HOSPITAL else None,
            )
            session.add(o)
            session.flush()
            return o

        hospital, distributor, maker = (
            org(OrgKind.HOSPITAL, 1),
            org(OrgKind.DISTRIBUTOR, 2),
            org(OrgKind.MANUFACTURER, 3),
        )
        user = User(
            organization=hospital,
            username="bench",
            display_name="bench",
            role=Role.OPERATOR,
            password_hash=accounts.hash_password("Bench-password-1"),
            active=True,
            created_at=T0,
        )
        session.add(user)
        session.add(
            DistributionAuthorization(
                manufacturer_id=maker.id,
                distributor_id=distributor.id,
                product_id=None,
                product_key=0,
                region_code="510100",
                active=True,
                created_at=T0,
            )
        )
        ids = []
        for n in range(listings):
            product = Product(
                category=Category.DRUG,
                code=f"BI{n:06d}",
                generic_name=f"药品{n}",
                dosage_form="片剂",
                dosage_form_group=DosageFormGroup.ORAL_SOLID,
                strength_value="10",
                strength_unit="mg",
                spec_text="10mg×28片",
                min_unit="片",
                units_per_pack=28,
                mah_id=maker.id,
                consistency_evaluated=True,
                active=True,
                created_at=T0,
            )
            listing = Listing(
                mode=ListingMode.PRICE_LINKED,
                status=ListingStatus.LISTED,
                product=product,
                manufacturer_id=maker.id,
                region_code="510100",
                pack_price_fen=random.randint(100, 90_000),
                price_flagged=False,
                created_at=T0,
                updated_at=T0,
            )
            session.add(listing)
            session.flush()
            ids.append(listing.id)
        session.flush()
        _, token = tokens.issue_token(
            session, accounts.actor_for_user(user), name="bench", ttl=timedelta(days=1), now=datetime.now(UTC)
        )
        return token, ids, distributor.id


def make_file(fmt: str, lines: int, listing_ids: list[int], distributor_id: int, rng: random.Random) -> bytes:
    header = ["挂网ID", "数量", "配送企业ID"]
    rows = [[rng.choice(listing_ids), rng.randint(1, 500), distributor_id] for _ in range(lines)]
    if fmt == "csv":
        return ("\n".join([",".join(header)] + [",".join(map(str, r)) for r in rows]) + "\n").encode()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("订单")
    sheet.append(header)
    for r in rows:
        sheet.append(r)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def bare_read(fmt: str, data: bytes) -> tuple[float, int]:
    """The baseline: read every row of the file with the same library and nothing else."""
    start = time.perf_counter()
    if fmt == "csv":
        rows = sum(1 for _ in csv.reader(io.StringIO(data.decode("utf-8-sig")))) - 1
    else:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        rows = sum(1 for _ in workbook.worksheets[0].iter_rows(values_only=True)) - 1
        workbook.close()
    return time.perf_counter() - start, rows


def import_once(url: str, fmt: str, lines: int, tmp: str, rng: random.Random) -> dict[str, object]:
    """Upload the file into an empty database at url; the figures of one format."""
    fresh_database(url)
    command.upgrade(alembic_config(url), "head")
    app = create_app(
        Config(
            env="development",
            database_url=url,
            secret_key="b" * 40,
            instance_path=tmp,
            max_content_length=256 * 1024 * 1024,
        )
    )
    token, listing_ids, distributor_id = seed(app, 500)
    data = make_file(fmt, lines, listing_ids, distributor_id, rng)
    read_s, read_rows = bare_read(fmt, data)
    assert read_rows == lines, (read_rows, lines)
    client = app.test_client()
    started = time.perf_counter()
    response = client.post(
        "/api/v1/orders/upload",
        headers={"Authorization": f"Bearer {token}"},
        data={"file": (io.BytesIO(data), f"orders.{fmt}")},
    )
    seconds = time.perf_counter() - started
    # Above VBP_UPLOAD_JOB_ROWS the upload is a background job (202); with no broker, as here,
    # it ran in this process before the answer, so the time covers the whole import either way.
    path = {201: "request", 202: "background job, in process"}.get(response.status_code)
    job = response.get_json() if response.status_code == 202 else None
    if path is None or (job is not None and job["status"] != "succeeded"):
        raise SystemExit(f"upload failed: {response.status_code} {response.get_data(as_text=True)[:500]}")
    db = get_db(app)
    with db.sessionmaker() as session:
        stored = session.scalar(select(func.count()).select_from(OrderLine))
    db.engine.dispose()
    assert stored == lines, (stored, lines)
    return {
        "format": fmt,
        "path": path,
        "lines": lines,
        "bytes": len(data),
        "seconds": seconds,
        "lines_per_second": round(lines / seconds),
        "bare_read_seconds": read_s,
        "bare_read_lines_per_second": round(lines / read_s),
    }


def run(
    url: str | None = None,
    *,
    formats: tuple[str, ...] = ("xlsx",),
    lines: int = 100_000,
    seed: int = 20261123,
) -> Result:
    """Import N lines per format (each into an empty database: url, or a temporary SQLite file)."""
    rng = random.Random(seed)
    rows, runs = [], []
    for fmt in formats:
        with tempfile.TemporaryDirectory() as tmp:
            figures = import_once(url or f"sqlite:///{tmp}/bench.sqlite3", fmt, lines, tmp, rng)
        runs.append({k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()})
        rows.append(
            Row(
                "order_import",
                f"order import, {lines:,} lines of {fmt} through POST /orders/upload",
                lines / float(figures["seconds"]),  # type: ignore[arg-type]
                "lines/s",
                lines / float(figures["bare_read_seconds"]),  # type: ignore[arg-type]
                f"bare {'csv module' if fmt == 'csv' else 'openpyxl'} read",
            )
        )
    return Result("order_import", rows, {"runs": runs}, url)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", help="dropped and recreated per format (default: temporary SQLite files)"
    )
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--format", choices=("csv", "xlsx", "both"), default="both")
    parser.add_argument("--seed", type=int, default=20261123)
    parser.add_argument("--out", type=Path, default=RESULTS / "order_import.json")
    args = parser.parse_args()
    formats = ("csv", "xlsx") if args.format == "both" else (args.format,)
    url = normalize_database_url(args.database_url) if args.database_url else None
    result = run(url, formats=formats, lines=args.lines, seed=args.seed)
    report([result], args.out, database_url=url or "sqlite://")


if __name__ == "__main__":
    main()
