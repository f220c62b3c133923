"""Org-scoped reads of the ledger: agreed-volume progress."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bidding.models import Award, BatchItem, ProcurementBatch, Product, VolumeAllocation
from core.actors import Actor, OrgKind
from core.money import quantize
from ledger.models import OrderLine

PCT = Decimal("0.01")


@dataclass(frozen=True)
class Progress:
    """约定采购量完成率 vs 序时进度 for one hospital and award (vbp-rules.md §1.6, §6)."""

    batch_id: int
    item_id: int
    generic_name: str
    hospital_id: int
    award_id: int
    manufacturer_id: int
    agreed_quantity: int  #: minimum units
    accepted_quantity: int  #: minimum units accepted and not returned
    completion_pct: Decimal
    time_elapsed_pct: Decimal
    #: Purchases beyond the agreed volume continue at the winning price (§1.6 S24): never repriced.
    over_volume_quantity: int


def time_elapsed_pct(cycle_start: date, cycle_end: date, on: date) -> Decimal:
    """序时进度 of the current cycle year: days elapsed ÷ days in that year of the cycle, in %."""
    if on < cycle_start:
        return Decimal("0.00")
    year_start = cycle_start
    while True:
        try:
            next_start = year_start.replace(year=year_start.year + 1)
        except ValueError:  # 29 February
            next_start = year_start.replace(year=year_start.year + 1, day=28)
        if on < next_start or next_start > cycle_end:
            break
        year_start = next_start
    year_end = min(next_start, cycle_end + timedelta(days=1))  # the cycle's end date is its last day
    span = (year_end - year_start).days or 1
    return quantize(Decimal(min((on - year_start).days, span)) * 100 / span, PCT)


def agreed_volume_progress(
    session: Session, actor: Actor, *, on: date, batch_id: int | None = None, hospital_id: int | None = None
) -> list[Progress]:
    """Per hospital × award: agreed vs accepted (net of returns) in minimum units. A hospital sees
    its own, a manufacturer its awards', the bureau all."""
    accepted = (
        select(
            OrderLine.award_id.label("award_id"),
            OrderLine.hospital_id.label("hospital_id"),
            func.sum(
                (OrderLine.accepted_quantity - OrderLine.returned_quantity) * Product.units_per_pack
            ).label("units"),
        )
        .join(Product, Product.id == OrderLine.product_id)
        .where(OrderLine.award_id.is_not(None))
        .group_by(OrderLine.award_id, OrderLine.hospital_id)
        .subquery()
    )
    stmt = (
        select(
            VolumeAllocation.batch_id,
            VolumeAllocation.item_id,
            BatchItem.generic_name,
            VolumeAllocation.hospital_id,
            VolumeAllocation.award_id,
            Award.manufacturer_id,
            func.sum(VolumeAllocation.agreed_quantity),
            func.coalesce(func.max(accepted.c.units), 0),
            ProcurementBatch.cycle_start_on,
            ProcurementBatch.cycle_end_on,
        )
        .join(Award, Award.id == VolumeAllocation.award_id)
        .join(BatchItem, BatchItem.id == VolumeAllocation.item_id)
        .join(ProcurementBatch, ProcurementBatch.id == VolumeAllocation.batch_id)
        .outerjoin(
            accepted,
            (accepted.c.award_id == VolumeAllocation.award_id)
            & (accepted.c.hospital_id == VolumeAllocation.hospital_id),
        )
        .group_by(
            VolumeAllocation.batch_id,
            VolumeAllocation.item_id,
            BatchItem.generic_name,
            VolumeAllocation.hospital_id,
            VolumeAllocation.award_id,
            Award.manufacturer_id,
            ProcurementBatch.cycle_start_on,
            ProcurementBatch.cycle_end_on,
        )
        .order_by(VolumeAllocation.batch_id, VolumeAllocation.item_id, VolumeAllocation.hospital_id)
    )
    if batch_id is not None:
        stmt = stmt.where(VolumeAllocation.batch_id == batch_id)
    if hospital_id is not None:
        stmt = stmt.where(VolumeAllocation.hospital_id == hospital_id)
    if actor.org_kind is OrgKind.HOSPITAL:
        stmt = stmt.where(VolumeAllocation.hospital_id == actor.org_id)
    elif actor.org_kind in (OrgKind.MANUFACTURER, OrgKind.DISTRIBUTOR):
        stmt = stmt.where(Award.manufacturer_id == actor.org_id)
    rows = []
    for batch, item, name, hospital, award, maker, agreed, units, start, end in session.execute(stmt):
        agreed, units = int(agreed), int(units)
        rows.append(
            Progress(
                batch_id=batch,
                item_id=item,
                generic_name=name,
                hospital_id=hospital,
                award_id=award,
                manufacturer_id=maker,
                agreed_quantity=agreed,
                accepted_quantity=units,
                completion_pct=quantize(Decimal(units) * 100 / agreed, PCT) if agreed else Decimal("0.00"),
                time_elapsed_pct=time_elapsed_pct(start, end, on),
                over_volume_quantity=max(0, units - agreed),
            )
        )
    return rows
