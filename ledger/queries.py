"""Org-scoped reads of the ledger: agreed-volume progress."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bidding.models import Award, BatchItem, ProcurementBatch, VolumeAllocation
from core.actors import Actor
from ledger.figures import CycleYear, completed_units, cycle_year, printed_rate, time_elapsed_pct
from ledger.scoping import party_scope

__all__ = ["Progress", "agreed_volume_progress", "time_elapsed_pct"]


@dataclass(frozen=True)
class Progress:
    """约定采购量完成率 vs 序时进度 for one hospital and award in the cycle year containing the day
    judged (vbp-rules.md §1.6, §6)."""

    batch_id: int
    item_id: int
    generic_name: str
    hospital_id: int
    award_id: int
    manufacturer_id: int
    year_start: date
    year_end: date  #: the cycle year's last day
    agreed_quantity: int  #: minimum units
    accepted_quantity: int  #: completed units: accepted net of returns in the cycle year, up to the day
    #: Percent, printed by ledger.figures.rates: 2 places, more when the comparison with the time
    #: elapsed needs them.
    completion_pct: Decimal
    time_elapsed_pct: Decimal
    #: Completion at or ahead of 序时进度, compared exactly.
    on_track: bool
    #: Purchases beyond the agreed volume continue at the winning price (§1.6 S24): never repriced.
    over_volume_quantity: int


def agreed_volume_progress(
    session: Session, actor: Actor, *, on: date, batch_id: int | None = None, hospital_id: int | None = None
) -> list[Progress]:
    """Per hospital × award: agreed vs completed units (ledger.figures.completed_units) in the cycle
    year containing `on`, as of `on`. A hospital sees its own, a manufacturer its awards', the
    bureau all."""
    va = VolumeAllocation
    stmt = (
        select(
            va.batch_id,
            va.item_id,
            BatchItem.generic_name,
            va.hospital_id,
            va.award_id,
            Award.manufacturer_id,
            func.sum(va.agreed_quantity),
        )
        .join(Award, Award.id == va.award_id)
        .join(BatchItem, BatchItem.id == va.item_id)
        .group_by(
            va.batch_id,
            va.item_id,
            BatchItem.generic_name,
            va.hospital_id,
            va.award_id,
            Award.manufacturer_id,
        )
        .order_by(va.batch_id, va.item_id, va.hospital_id, va.award_id)
    )
    if batch_id is not None:
        stmt = stmt.where(va.batch_id == batch_id)
    if hospital_id is not None:
        stmt = stmt.where(va.hospital_id == hospital_id)
    allocations = session.execute(
        party_scope(stmt, actor, hospital=va.hospital_id, manufacturer=Award.manufacturer_id)
    ).all()
    batches = {
        b.id: b
        for b in session.scalars(
            select(ProcurementBatch).where(ProcurementBatch.id.in_({row[0] for row in allocations}))
        )
    }
    done: dict[tuple[int, int], int] = {}
    judged: dict[int, tuple[CycleYear, Decimal]] = {}
    for batch in batches.values():
        year = cycle_year(batch.cycle_start_on, batch.cycle_end_on, on)
        judged[batch.id] = (year, time_elapsed_pct(batch.cycle_start_on, batch.cycle_end_on, on))
        done |= completed_units(session, actor, batch_id=batch.id, year=year, on=on, hospital_id=hospital_id)
    rows = []
    for batch_key, item, name, hospital, award, maker, agreed in allocations:
        year, elapsed = judged[batch_key]
        agreed, units = int(agreed), done.get((hospital, award), 0)
        completion = Decimal(units) / agreed if agreed else Decimal(0)
        rows.append(
            Progress(
                batch_id=batch_key,
                item_id=item,
                generic_name=name,
                hospital_id=hospital,
                award_id=award,
                manufacturer_id=maker,
                year_start=year.first_day,
                year_end=year.last_day,
                agreed_quantity=agreed,
                accepted_quantity=units,
                completion_pct=printed_rate(completion, elapsed / 100).scaleb(2),
                time_elapsed_pct=elapsed,
                on_track=completion >= elapsed / 100 if agreed else True,  # nothing agreed: not behind
                over_volume_quantity=max(0, units - agreed),
            )
        )
    return rows
