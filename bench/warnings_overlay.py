"""A VBP layer over the generated province, for the warnings benchmark only.

The generated province (bench/generate.py) trades price-linked listings only: no batch, no award,
no agreed volume, so the rules that judge winners (delivery rate per award × region, agreed-volume
lag, non-winner share) would find nothing and time nothing. Inside the benchmark's own transaction
(rolled back afterwards, so the shared database stays as generated) this makes the first product of
each generic name the winner of an executing batch: its listings and order lines become
volume-based, and each hospital's agreed volume is twice what it bought of the winner, so the
lag rule has real subjects and the other products of the generic are non-winners.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, insert, literal, select, update
from sqlalchemy.orm import Session

from bidding.models import Award, BatchItem, ProcurementBatch, VolumeAllocation
from bidding.rules import preset
from core.organizations import Organization
from ledger.models import Listing, OrderLine


def add_vbp_layer(session: Session, as_of: datetime) -> dict[str, int]:
    """Winners, volume-based lines and agreed volumes over the generated data; counts made."""
    from bidding.models import Product

    owner = session.scalar(select(func.min(Organization.id))) or 1
    start = as_of - timedelta(days=320)
    batch = ProcurementBatch(
        name="基准测试批次 (benchmark batch)",
        category="drug",
        scope="provincial",
        status="executing",
        rule_version="batch_11",
        rules=preset("batch_11").to_dict(),
        demand_opens_at=start,
        demand_closes_at=start + timedelta(days=5),
        bid_opens_at=start + timedelta(days=6),
        bid_closes_at=start + timedelta(days=7),
        opening_at=start + timedelta(days=8),
        cycle_start_on=date(as_of.year - 1, 3, 1),
        cycle_end_on=date(as_of.year + 1, 2, 28),
        opened_at=start + timedelta(days=8),
        published_at=start + timedelta(days=9),
        created_by_org_id=owner,
        created_at=start,
    )
    session.add(batch)
    session.flush()
    winners: dict[str, Product] = {}
    for product in session.scalars(select(Product).where(Product.category == "drug").order_by(Product.id)):
        winners.setdefault(product.generic_name, product)
    awards: dict[int, Award] = {}
    for generic, product in winners.items():
        item = BatchItem(
            batch_id=batch.id,
            generic_name=generic,
            dosage_form_group=product.dosage_form_group,
            rep_strength_value=product.strength_value,
            rep_strength_unit=product.strength_unit,
            ratio_kind="content",
            allowed_strengths=[product.strength_value],
            ceiling_e4=10**9,
        )
        session.add(item)
        session.flush()
        price = session.scalar(
            select(func.min(Listing.pack_price_fen)).where(Listing.product_id == product.id)
        )
        unit_e4 = (price or 0) * 100 // product.units_per_pack
        award = Award(
            batch_id=batch.id,
            item_id=item.id,
            bid_id=None,
            manufacturer_id=product.mah_id,
            product_id=product.id,
            rank=1,
            route="lowest",
            comparable_e4=unit_e4,
            unit_price_e4=unit_e4,
            pack_price_fen=price or 0,
            picks_regions=True,
        )
        session.add(award)
        session.flush()
        awards[product.id] = award
    per_pack = {p.id: p.units_per_pack for p in winners.values()}
    lines = 0
    for product_id, award in awards.items():
        session.execute(
            update(Listing)
            .where(Listing.product_id == product_id)
            .values(mode="volume_based", award_id=award.id, supply_role="primary")
        )
        lines += session.execute(
            update(OrderLine)
            .where(OrderLine.product_id == product_id)
            .values(mode="volume_based", award_id=award.id)
        ).rowcount
        units = func.sum(OrderLine.quantity) * literal(2 * per_pack[product_id])
        session.execute(
            insert(VolumeAllocation).from_select(
                [
                    "batch_id",
                    "item_id",
                    "hospital_id",
                    "region_code",
                    "award_id",
                    "base_quantity",
                    "agreed_quantity",
                    "brand_specific",
                ],
                select(
                    literal(batch.id),
                    literal(award.item_id),
                    OrderLine.hospital_id,
                    func.min(OrderLine.region_code),
                    literal(award.id),
                    units,
                    units,
                    literal(False),
                )
                .where(OrderLine.award_id == award.id)
                .group_by(OrderLine.hospital_id),
            )
        )
    session.flush()
    allocations = session.scalar(
        select(func.count()).select_from(VolumeAllocation).where(VolumeAllocation.batch_id == batch.id)
    )
    return {"awards": len(awards), "volume_based_lines": lines, "allocations": int(allocations or 0)}
