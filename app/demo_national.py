"""Demo step: a national batch executed in this province, next to the local one (issue 22).

The national office's results file is written as it would arrive (xlsx, the import's columns) into
the output folder, imported through the same service the bureau's page and API use, this
province's hospitals report demand, and the results are executed and listed. Found by name on a
second run and left as it is."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bidding import batches, catalogue, demand, results_format, results_import
from bidding.models import BatchStatus, Category, DosageFormGroup, ProcurementBatch, Product
from bidding.results_format import Item, ResultsFile, Supply, Winner
from core import clock
from core.accounts import actor_for_user
from core.organizations import Organization, User
from ledger.services import listings

NATIONAL_NAME = "第十一批国家组织药品集中采购（示范省落地）"
#: (generic name, rep strength, unit, ceiling per unit, volume ratio,
#:  winners: (maker, pack size, pack price, {province: role}))
VARIETIES = (
    (
        "瑞舒伐他汀钙片",
        "10",
        "mg",
        "0.9000",
        "0.7",
        (
            ("mfr2", 28, "3.36", {"510000": "primary", "500000": "backup", "530000": "primary"}),
            ("mfr3", 28, "4.20", {"510000": "backup", "500000": "primary"}),
            ("mfr1", 14, "2.38", {"520000": "primary"}),
        ),
    ),
    (
        "恩替卡韦胶囊",
        "0.5",
        "mg",
        "1.2000",
        "0.8",
        (
            ("mfr1", 28, "6.16", {"510000": "primary", "520000": "backup"}),
            ("mfr4", 14, "4.06", {"510000": "backup", "500000": "primary"}),
            ("mfr2", 28, "7.84", {"530000": "primary", "520000": "primary"}),
            ("mfr3", 7, "2.03", {"500000": "backup", "530000": "backup"}),
        ),
    ),
)


def _product(
    session: Session, bureau, orgs, name: str, strength: str, unit: str, maker: str, units: int
) -> Product:  # type: ignore[no-untyped-def]
    code = f"DEMO-N-{name[:2]}-{maker}"
    existing = session.scalars(select(Product).where(Product.code == code)).first()
    return existing or catalogue.create_product(
        session,
        bureau,
        data={
            "category": Category.DRUG,
            "code": code,
            "generic_name": name,
            "dosage_form": "片剂" if name.endswith("片") else "胶囊剂",
            "dosage_form_group": DosageFormGroup.ORAL_SOLID,
            "strength_value": strength,
            "strength_unit": unit,
            "fill_volume_ml": None,
            "spec_text": f"{strength}{unit}×{units}{'片' if name.endswith('片') else '粒'}",
            "min_unit": "片" if name.endswith("片") else "粒",
            "units_per_pack": units,
            "mah_uscc": orgs[maker].uscc,
            "originator": False,
            "reference_listed": False,
            "consistency_evaluated": True,
            "registration_no": None,
        },
        now=clock.now() - timedelta(days=90),
    )


def results_file(
    session: Session, bureau, orgs: dict[str, Organization], *, cycle: tuple[str, str]
) -> ResultsFile:  # type: ignore[no-untyped-def]
    """The national office's results as the platform would receive them."""
    items = []
    for n, (name, strength, unit, ceiling, ratio, winners) in enumerate(VARIETIES, start=1):
        listed = []
        for rank, (maker, units, price, supply) in enumerate(winners, start=1):
            product = _product(session, bureau, orgs, name, strength, unit, maker, units)
            listed.append(
                Winner(
                    {
                        "winner_uscc": orgs[maker].uscc,
                        "winner_name": orgs[maker].name,
                        "product_code": product.code,
                        "winning_pack_price": price,
                        "rank": str(rank),
                    },
                    [Supply(p, role) for p, role in sorted(supply.items())],
                )
            )
        values = {
            "item_no": f"{n:02d}",
            "generic_name": name,
            "dosage_form_group": "oral_solid",
            "rep_strength_value": strength,
            "rep_strength_unit": unit,
            "ratio_kind": "content",
            "allowed_strengths": strength,
            "ceiling": ceiling,
            "volume_ratio": ratio,
        }
        items.append(Item(values, listed))
    head = {
        "batch_name": NATIONAL_NAME,
        "scope": "national",
        "category": "drug",
        "rule_version": "batch_11",
        "reference": "GY-YD2025-1（示范）",
        "issuer": "国家组织药品联合采购办公室",
        "cycle_start_on": cycle[0],
        "cycle_end_on": cycle[1],
    }
    return ResultsFile({k: head[k] for k in results_format.BATCH_FIELDS}, items)


def run_national(
    session: Session,
    *,
    orgs: dict[str, Organization],
    users: dict[str, User],
    province_code: str,
    now: datetime,
    out_dir: Path,
    echo: Callable[[str], None],
) -> ProcurementBatch:
    """Import, collect demand, execute and list the national batch (once)."""
    existing = session.scalars(select(ProcurementBatch).where(ProcurementBatch.name == NATIONAL_NAME)).first()
    if existing is not None:
        echo(f"国家组织批次已存在 (national batch exists): {NATIONAL_NAME} [{existing.status.value}]")
        return existing
    bureau = actor_for_user(users["bureau-op"])
    t0 = now - timedelta(days=50)
    start = clock.business_date(t0 + timedelta(days=20))
    end = start.replace(year=start.year + 2) - timedelta(days=1)
    data = results_format.write(
        results_file(session, bureau, orgs, cycle=(start.isoformat(), end.isoformat())), "xlsx"
    )
    path = out_dir / "national-results.xlsx"
    path.write_bytes(data)
    summary = results_import.import_results(
        session,
        bureau,
        data=data,
        filename=path.name,
        province_code=province_code,
        demand_opens_at=t0,
        demand_closes_at=t0 + timedelta(days=7),
        now=t0 - timedelta(hours=2),
    )
    batch = summary.batch
    batches.move(session, bureau, batch, BatchStatus.DEMAND_COLLECTION, now=t0 - timedelta(hours=1))
    for n, key in enumerate(k for k in orgs if k.startswith("hosp")):
        hospital = actor_for_user(users[f"{key}-op"])
        lines = [
            demand.DemandLine(item_id=item.id, quantity=(n + 3) * 20_011 + i * 777)
            for i, item in enumerate(batch.items)
        ]
        demand.report_demand(session, hospital, batch.id, lines=lines, now=t0 + timedelta(days=2))
    executed = results_import.execute_results(session, bureau, batch.id, now=t0 + timedelta(days=8))
    listings.create_vbp_listings(session, bureau, batch.id, now=t0 + timedelta(days=9))
    batches.move(session, bureau, batch, BatchStatus.EXECUTING, now=t0 + timedelta(days=20))
    echo(
        f"国家组织批次 {NATIONAL_NAME}: {summary.items} 个品种, {summary.winners} 家中选, "
        f"{executed.allocations} 条约定量 (executed from {path})"
    )
    return batch
