"""Agreements (采购协议) as a read model: one per allocation (hospital × award) and cycle year of
its batch. Agreements are signed for a cycle and renewed each cycle year (vbp-rules.md §1.8); a
renewal batch (bidding/renewal.py) continues them the day after its expiring batch's cycle ends.

Lives in `ledger` rather than `bidding` because the cycle year is worked out in one place only,
ledger/figures/cycle.py, and the layers run one way (bidding may not import ledger).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, aliased

from bidding.batches import get_batch
from bidding.models import Award, BatchItem, ProcurementBatch, VolumeAllocation
from bidding.queries import PUBLIC_STATES
from bidding.renewal import RENEWABLE
from core.actors import Actor, OrgKind
from ledger.figures.cycle import ONE_DAY, CycleYear, cycle_years


@dataclass(frozen=True)
class Agreement:
    """One hospital's agreement with one winner for one cycle year of a batch."""

    batch_id: int
    allocation_id: int
    item_id: int
    hospital_id: int
    region_code: str
    award_id: int
    manufacturer_id: int
    product_id: int
    #: 1 for the cycle's first year.
    cycle_year: int
    first_day: date
    last_day: date
    #: Agreed annual quantity in minimum units (the allocation's; §1.6, renewed yearly §1.8).
    agreed_quantity: int
    unit_price_e4: int
    pack_price_fen: int


def allocations_in_agreements(actor: Actor) -> Select[tuple[VolumeAllocation, Award, ProcurementBatch]]:
    """Allocations of published batches the actor is party to: a hospital its own, a manufacturer
    those of its awards, the bureau all (as bidding/queries.allocations_visible_to, over batches;
    an agreement exists only once the results are published)."""
    stmt = (
        select(VolumeAllocation, Award, ProcurementBatch)
        .join(Award, Award.id == VolumeAllocation.award_id)
        .join(ProcurementBatch, ProcurementBatch.id == VolumeAllocation.batch_id)
        .where(ProcurementBatch.status.in_(PUBLIC_STATES))
    )
    if actor.is_bureau:
        return stmt
    if actor.org_kind is OrgKind.HOSPITAL:
        return stmt.where(VolumeAllocation.hospital_id == actor.org_id)
    if actor.org_kind is OrgKind.MANUFACTURER:
        return stmt.where(Award.manufacturer_id == actor.org_id)
    return stmt.where(False)


def agreements_visible_to(
    session: Session, actor: Actor, *, batch_id: int | None = None, year: int | None = None
) -> list[Agreement]:
    """The actor's agreements, per cycle year; `year`: those running during that calendar year."""
    stmt = allocations_in_agreements(actor)
    if batch_id is not None:
        stmt = stmt.where(VolumeAllocation.batch_id == batch_id)
    if year is not None:
        stmt = stmt.where(
            ProcurementBatch.cycle_start_on <= date(year, 12, 31),
            ProcurementBatch.cycle_end_on >= date(year, 1, 1),
        )
    stmt = stmt.order_by(ProcurementBatch.cycle_start_on, VolumeAllocation.batch_id, VolumeAllocation.id)
    found = []
    years: dict[int, list[CycleYear]] = {}
    for allocation, award, batch in session.execute(stmt):
        if batch.id not in years:
            years[batch.id] = cycle_years(batch.cycle_start_on, batch.cycle_end_on)
        for n, period in enumerate(years[batch.id], start=1):
            if year is not None and not (period.first_day.year <= year <= period.last_day.year):
                continue
            found.append(
                Agreement(
                    batch_id=batch.id,
                    allocation_id=allocation.id,
                    item_id=allocation.item_id,
                    hospital_id=allocation.hospital_id,
                    region_code=allocation.region_code,
                    award_id=award.id,
                    manufacturer_id=award.manufacturer_id,
                    product_id=award.product_id,
                    cycle_year=n,
                    first_day=period.first_day,
                    last_day=period.last_day,
                    agreed_quantity=allocation.agreed_quantity,
                    unit_price_e4=award.unit_price_e4,
                    pack_price_fen=award.pack_price_fen,
                )
            )
    return found


def agreement_periods(session: Session, batch_id: int) -> list[CycleYear]:
    """The agreement periods of a batch: its cycle years, in order."""
    batch = session.get_one(ProcurementBatch, batch_id)
    return cycle_years(batch.cycle_start_on, batch.cycle_end_on)


def tiling_problems(old: ProcurementBatch, new: ProcurementBatch) -> list[str]:
    """What breaks "old's agreement periods, then new's, day after day": [] when they tile."""
    problems = []
    if new.renews_batch_id != old.id:
        problems.append(f"batch {new.id} does not renew batch {old.id}")
    periods = [
        *cycle_years(old.cycle_start_on, old.cycle_end_on),
        *cycle_years(new.cycle_start_on, new.cycle_end_on),
    ]
    for earlier, later in itertools.pairwise(periods):
        if later.first_day > earlier.last_day + ONE_DAY:
            problems.append(f"gap: {earlier.last_day} → {later.first_day}")
        elif later.first_day <= earlier.last_day:
            problems.append(f"overlap: {later.first_day} ≤ {earlier.last_day}")
    return problems


@dataclass(frozen=True)
class VolumeShortfall:
    """A region where the renewal's agreed volume of a variety is below the previous year's."""

    generic_name: str
    region_code: str
    previous: int
    renewed: int

    def __str__(self) -> str:
        return (
            f"{self.generic_name} {self.region_code}: 续标约定量 {self.renewed} 低于上一年度 {self.previous} "
            f"(renewed agreed volume below the previous year's)"
        )


def renewal_volume_shortfalls(session: Session, actor: Actor, renewal_batch_id: int) -> list[VolumeShortfall]:
    """Regions where a variety's renewed agreed volume is below the expiring batch's yearly one: in
    principle it is not (vbp-rules.md §1.6, "≥ the previous year's"); reported, never blocked."""
    new = get_batch(session, actor, renewal_batch_id)
    if new.renews_batch_id is None or new.opened_at is None:
        return []  # volumes are allocated at the opening

    def volumes(batch_id: int) -> dict[tuple[str, str, str], int]:
        rows = session.execute(
            select(
                BatchItem.generic_name,
                BatchItem.dosage_form_group,
                VolumeAllocation.region_code,
                func.sum(VolumeAllocation.agreed_quantity),
            )
            .join(BatchItem, BatchItem.id == VolumeAllocation.item_id)
            .where(VolumeAllocation.batch_id == batch_id)
            .group_by(BatchItem.generic_name, BatchItem.dosage_form_group, VolumeAllocation.region_code)
        )
        found: dict[tuple[str, str, str], int] = defaultdict(int)
        for name, group, region, total in rows:
            found[(name, str(group), region)] += int(total or 0)
        return found

    before, after = volumes(new.renews_batch_id), volumes(new.id)
    return [
        VolumeShortfall(name, region, previous, after.get((name, group, region), 0))
        for (name, group, region), previous in sorted(before.items())
        if after.get((name, group, region), 0) < previous
    ]


# --- expiry flags (the to-do list of ledger/deadlines.py) -----------------------------------------


@dataclass(frozen=True)
class Expiring:
    """Agreements of one batch whose cycle year ends on `last_day` (within the notice period)."""

    batch: ProcurementBatch
    cycle_year: int
    last_day: date
    agreements: int


def expiring_agreements(session: Session, actor: Actor, *, today: date, notice_days: int) -> list[Expiring]:
    """The actor's agreements (as a hospital or manufacturer) whose cycle year ends within
    `notice_days` from `today`, grouped by batch and cycle year (renewed yearly, §1.8)."""
    horizon = today + timedelta(days=notice_days)
    counts: dict[tuple[int, int], int] = defaultdict(int)
    batches: dict[int, ProcurementBatch] = {}
    ends: dict[tuple[int, int], date] = {}
    stmt = allocations_in_agreements(actor).where(
        ProcurementBatch.cycle_end_on >= today, ProcurementBatch.cycle_start_on <= horizon
    )
    for _allocation, _award, batch in session.execute(stmt):
        batches[batch.id] = batch
        for n, period in enumerate(cycle_years(batch.cycle_start_on, batch.cycle_end_on), start=1):
            if today <= period.last_day <= horizon:
                counts[(batch.id, n)] += 1
                ends[(batch.id, n)] = period.last_day
    return [
        Expiring(batches[batch_id], n, ends[(batch_id, n)], count)
        for (batch_id, n), count in sorted(counts.items(), key=lambda kv: (ends[kv[0]], kv[0]))
    ]


def batches_to_renew(session: Session, *, today: date, notice_days: int) -> list[ProcurementBatch]:
    """Batches whose last cycle year ends within `notice_days` (or has ended) and that have no
    renewal yet: the bureau's "create its renewal" (supervision-and-interop.md §10)."""
    renewal = aliased(ProcurementBatch)
    stmt = (
        select(ProcurementBatch)
        .outerjoin(renewal, renewal.renews_batch_id == ProcurementBatch.id)
        .where(
            ProcurementBatch.status.in_(RENEWABLE),
            ProcurementBatch.cycle_end_on <= today + timedelta(days=notice_days),
            renewal.id.is_(None),
        )
        .order_by(ProcurementBatch.cycle_end_on, ProcurementBatch.id)
    )
    return list(session.scalars(stmt))
