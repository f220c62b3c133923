"""Retained savings (结余留用) per hospital and cycle year, from stored data (vbp-rules.md §4.4, E9)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bidding.models import Award, BatchItem, Product, VolumeAllocation
from core.actors import Actor, OrgKind
from core.errors import NotFound, ValidationFailed
from core.money import quantize
from ledger.models import OrderLine
from ledger.money_rules import RetainedSavings, SavingsFormula, retained_savings


@dataclass(frozen=True)
class HospitalSavings:
    hospital_id: int
    batch_id: int
    year_start: date
    year_end: date
    result: RetainedSavings
    items: int


def hospital_retained_savings(
    session: Session,
    actor: Actor,
    *,
    hospital_id: int,
    batch_id: int,
    year_start: date,
    year_end: date,
    formula: SavingsFormula,
) -> HospitalSavings:
    """Budget: agreed units × pre-VBP unit price; actual: units accepted (net of returns) in the
    cycle year × the price paid, for the batch's varieties (winners and non-winners of the same
    generic name); completion over all the hospital's agreed volume of the batch."""
    if not actor.is_bureau and not (actor.org_kind is OrgKind.HOSPITAL and actor.org_id == hospital_id):
        raise NotFound("医疗机构不存在 (hospital not found)")
    items = session.scalars(select(BatchItem).where(BatchItem.batch_id == batch_id)).all()
    if not items:
        raise NotFound("采购批次不存在 (batch not found)")
    missing = [i.generic_name for i in items if i.pre_vbp_unit_price_e4 is None]
    if missing:
        raise ValidationFailed(
            fields={"batch_id": [f"品种缺少集采前价格 (no pre-VBP price): {', '.join(missing)}"]}
        )
    agreed_by_item = dict(
        session.execute(
            select(VolumeAllocation.item_id, func.sum(VolumeAllocation.agreed_quantity))
            .where(VolumeAllocation.batch_id == batch_id, VolumeAllocation.hospital_id == hospital_id)
            .group_by(VolumeAllocation.item_id)
        ).all()
    )
    names = {i.generic_name: i for i in items}
    purchased_rows = session.execute(
        select(
            Product.generic_name,
            OrderLine.award_id,
            Award.batch_id,
            (OrderLine.accepted_quantity - OrderLine.returned_quantity) * Product.units_per_pack,
            OrderLine.pack_price_fen,
            Product.units_per_pack,
        )
        .join(Product, Product.id == OrderLine.product_id)
        .outerjoin(Award, Award.id == OrderLine.award_id)
        .where(
            OrderLine.hospital_id == hospital_id,
            OrderLine.ordered_on >= year_start,
            OrderLine.ordered_on <= year_end,
            Product.generic_name.in_(names),
        )
    ).all()
    purchased: list[tuple[int, int]] = []
    winner_units = 0
    for _, award_id, award_batch, units, pack_price_fen, per_pack in purchased_rows:
        if units <= 0:
            continue
        unit_e4 = int(quantize(Decimal(pack_price_fen) * 100 / per_pack, Decimal(1)))
        purchased.append((int(units), unit_e4))
        if award_id is not None and award_batch == batch_id:
            winner_units += int(units)
    agreed = sum(int(q) for q in agreed_by_item.values())
    budget_price = {i.id: i.pre_vbp_unit_price_e4 or 0 for i in items}
    # The budget is per item (agreed × that item's pre-VBP price); fold it into one weighted price.
    budget_e4 = sum(int(agreed_by_item.get(i.id, 0)) * budget_price[i.id] for i in items)
    completion = quantize(Decimal(winner_units) * 100 / agreed, Decimal("0.01")) if agreed else Decimal(0)
    result = retained_savings(
        agreed_quantity=1,
        pre_vbp_unit_price_e4=budget_e4,
        purchased=purchased,
        completion_pct=completion,
        formula=formula,
    )
    return HospitalSavings(hospital_id, batch_id, year_start, year_end, result, len(items))
