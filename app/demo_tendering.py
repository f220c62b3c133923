"""Demo step: one provincial batch of several varieties, demand, sealed bids, opening, allocation.

The batch's timeline is laid in the past so the cycle can run now; each phase is driven with the
simulated time it would happen at. Found by name on a second run and left as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bidding import batches, bids, catalogue, demand, opening, publicity
from bidding.models import BatchStatus, Category, DosageFormGroup, ProcurementBatch, Product, RatioKind, Scope
from bidding.sealing import BidSealer
from core import clock
from core.accounts import actor_for_user
from core.organizations import Organization, User

BATCH_NAME = "示范省第一批药品集中带量采购"


@dataclass(frozen=True)
class Variety:
    name: str
    group: DosageFormGroup
    form: str
    unit: str
    strength_unit: str
    rep: str
    ceiling: str
    #: (manufacturer key, strength, units per pack, pack price)
    bids: tuple[tuple[str, str, int, str], ...]


VARIETIES = (
    Variety(
        "阿托伐他汀钙片",
        DosageFormGroup.ORAL_SOLID,
        "片剂",
        "片",
        "mg",
        "10",
        "0.8000",
        (
            ("mfr1", "10", 28, "5.60"),
            ("mfr2", "20", 14, "4.48"),
            ("mfr3", "10", 7, "2.45"),
            ("mfr4", "10", 28, "14.56"),
        ),
    ),
    Variety(
        "苯磺酸氨氯地平片",
        DosageFormGroup.ORAL_SOLID,
        "片剂",
        "片",
        "mg",
        "5",
        "0.4000",
        (("mfr1", "5", 28, "1.96"), ("mfr2", "5", 28, "2.52"), ("mfr3", "5", 14, "1.68")),
    ),
    Variety(
        "注射用头孢曲松钠",
        DosageFormGroup.INJECTION_SMALL,
        "注射剂",
        "支",
        "g",
        "1",
        "3.5000",
        (("mfr2", "1", 10, "12.80"), ("mfr3", "1", 10, "19.90"), ("mfr4", "1", 10, "24.50")),
    ),
    Variety(
        "盐酸二甲双胍缓释片",
        DosageFormGroup.ORAL_SOLID,
        "片剂",
        "片",
        "g",
        "0.5",
        "0.6000",
        (("mfr1", "0.5", 30, "4.50"), ("mfr4", "0.5", 30, "6.30")),
    ),
)


def run_tendering(
    session: Session,
    *,
    orgs: dict[str, Organization],
    users: dict[str, User],
    sealer: BidSealer,
    now: datetime,
    echo: Callable[[str], None],
) -> ProcurementBatch:
    """Create, collect, bid, open, publish and start executing the demo batch (once)."""
    existing = session.scalars(select(ProcurementBatch).where(ProcurementBatch.name == BATCH_NAME)).first()
    if existing is not None:
        echo(f"采购批次已存在 (batch exists): {BATCH_NAME} [{existing.status.value}]")
        return existing
    bureau = actor_for_user(users["bureau-op"])
    t0 = now - timedelta(days=60)
    timeline = {
        "demand_opens_at": t0,
        "demand_closes_at": t0 + timedelta(days=5),
        "bid_opens_at": t0 + timedelta(days=6),
        "bid_closes_at": t0 + timedelta(days=8),
        "opening_at": t0 + timedelta(days=8, hours=1),
        "cycle_start_on": clock.business_date(t0 + timedelta(days=15)),
        "cycle_end_on": clock.business_date(t0 + timedelta(days=15 + 365)),
    }
    batch = batches.create_batch(
        session,
        bureau,
        name=BATCH_NAME,
        category=Category.DRUG,
        scope=Scope.PROVINCIAL,
        rule_version="batch_10",
        rule_overrides={"shared_backup_regions": True},
        timeline=timeline,
        now=t0 - timedelta(days=1),
    )
    items, products = {}, {}
    for v in VARIETIES:
        strengths = sorted({s for _, s, _, _ in v.bids} | {v.rep}, key=Decimal)
        items[v.name] = batches.add_item(
            session,
            bureau,
            batch.id,
            data={
                "generic_name": v.name,
                "dosage_form_group": v.group,
                "rep_strength_value": v.rep,
                "rep_strength_unit": v.strength_unit,
                "ratio_kind": RatioKind.CONTENT,
                "allowed_strengths": strengths,
                "ceiling_e4": int(Decimal(v.ceiling) * 10_000),
                "volume_ratio_override": None,
            },
            now=t0 - timedelta(days=1),
        )
        for maker, strength, units, _ in v.bids:
            code = f"DEMO-{len(products) + 1:04d}"
            product = session.scalars(select(Product).where(Product.code == code)).first()
            products[(v.name, maker)] = product or catalogue.create_product(
                session,
                bureau,
                data={
                    "category": Category.DRUG,
                    "code": code,
                    "generic_name": v.name,
                    "dosage_form": v.form,
                    "dosage_form_group": v.group,
                    "strength_value": strength,
                    "strength_unit": v.strength_unit,
                    "fill_volume_ml": None,
                    "spec_text": f"{strength}{v.strength_unit}×{units}{v.unit}",
                    "min_unit": v.unit,
                    "units_per_pack": units,
                    "mah_uscc": orgs[maker].uscc,
                    "originator": maker == "mfr4",
                    "reference_listed": maker == "mfr4",
                    "consistency_evaluated": maker != "mfr4",
                    "registration_no": None,
                },
                now=t0 - timedelta(days=1),
            )
    session.refresh(batch)
    batches.move(session, bureau, batch, BatchStatus.DEMAND_COLLECTION, now=t0 + timedelta(hours=1))
    for n, key in enumerate(k for k in orgs if k.startswith("hosp")):
        hospital = actor_for_user(users[f"{key}-op"])
        lines = [
            demand.DemandLine(item_id=item.id, quantity=(n + 2) * 36_500 + i * 1_000)
            for i, item in enumerate(items.values())
        ]
        demand.report_demand(session, hospital, batch.id, lines=lines, now=t0 + timedelta(days=2))
    batches.move(session, bureau, batch, BatchStatus.BIDDING, now=t0 + timedelta(days=6))
    receipts = 0
    for v in VARIETIES:
        for maker, _, _, price in v.bids:
            bids.submit_bid(
                session,
                actor_for_user(users[f"{maker}-op"]),
                batch.id,
                item_id=items[v.name].id,
                product_id=products[(v.name, maker)].id,
                pack_price_fen=int(Decimal(price) * 100),
                accepts_revival=True,
                province="510000",
                sealer=sealer,
                now=t0 + timedelta(days=7),
            )
            receipts += 1
    summary = opening.open_bids(session, bureau, batch.id, sealer=sealer, now=timeline["opening_at"])
    # The results are proposed for the default publicity period (公示) and become final when it
    # ends with no objection (the scheduler's job, run here at the period's end).
    proposed_at = timeline["opening_at"] + timedelta(hours=1)
    opening.publish_results(session, bureau, batch.id, now=proposed_at)
    ends = proposed_at + timedelta(days=publicity.DEFAULT_PUBLICITY_DAYS)
    publicity.finalize_due(session, ends)
    batches.move(session, bureau, batch, BatchStatus.EXECUTING, now=ends + timedelta(hours=1))
    echo(
        f"采购批次 {BATCH_NAME}: {summary.items} 个品种, {receipts} 份投标, {summary.winners} 家中选, "
        f"{summary.allocations} 条约定量分配 (items, bids, winners, allocations)"
    )
    return batch


def write_results(
    session: Session, batch: ProcurementBatch, out_dir: Path, echo: Callable[[str], None]
) -> None:
    """Results and allocations of the demo batch as xlsx (what the bureau publishes)."""
    from bidding.models import Award, VolumeAllocation
    from core.money import e4_to_decimal, fen_to_decimal
    from core.spreadsheets import Sheet, write_xlsx

    awards = session.scalars(
        select(Award).where(Award.batch_id == batch.id).order_by(Award.item_id, Award.rank)
    ).all()
    allocations = session.scalars(
        select(VolumeAllocation).where(VolumeAllocation.batch_id == batch.id).order_by(VolumeAllocation.id)
    ).all()
    names = {i.id: i.generic_name for i in batch.items}
    hospitals = dict(
        session.execute(
            select(Organization.id, Organization.name).where(
                Organization.id.in_({a.hospital_id for a in allocations})
            )
        ).all()
    )
    data = write_xlsx(
        [
            Sheet(
                "中选结果",
                ["品种", "排名", "中选企业", "中选途径", "单位可比价", "包装价格"],
                [
                    [
                        names[a.item_id],
                        a.rank,
                        a.manufacturer.name,
                        a.route,
                        e4_to_decimal(a.comparable_e4),
                        fen_to_decimal(a.pack_price_fen),
                    ]
                    for a in awards
                ],
            ),
            Sheet(
                "约定采购量",
                ["品种", "医疗机构ID", "医疗机构名称", "地区", "中选企业", "报量", "约定采购量"],
                [
                    [
                        names[a.item_id],
                        a.hospital_id,
                        hospitals.get(a.hospital_id, ""),
                        a.region_code,
                        a.award.manufacturer.name,
                        a.base_quantity,
                        a.agreed_quantity,
                    ]
                    for a in allocations
                ],
                totals=[
                    "合计",
                    "",
                    "",
                    "",
                    "",
                    sum(a.base_quantity for a in allocations),
                    sum(a.agreed_quantity for a in allocations),
                ],
            ),
        ]
    )
    path = out_dir / "batch-results.xlsx"
    path.write_bytes(data)
    echo(f"中选结果与约定采购量 (results and allocations): {path}")
