"""Backup activation (备供启用, supervision-and-interop.md §1; vbp-rules.md §1.7).

The bureau switches an item × region from its failing primary winner to a backup winner of the same
item (one with a backup `RegionAssignment` for the region). In one unit of work (a savepoint, so a
failure anywhere writes nothing even inside a caller's transaction):

1. the primary's listing there is suspended (reason 备供启用) through the listing table;
2. the region's remaining agreed volume moves: per hospital, remaining = agreed − completed units
   bought from the primary in the current cycle year (ledger.figures.completed_units, the one
   derivation of agreed-volume progress), onto the backup's allocation (created or increased); the
   primary's allocation keeps what was bought; each move is a `volume_moves` row;
3. the backup's listing becomes the region's primary (created at its winning pack price if missing).

A second activation pointing at the first (`reverses_id`) switches back and returns what the first
moved, less what was bought from the backup meanwhile.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from bidding.batches import require_bureau_writer
from bidding.models import Award, BatchItem, ProcurementBatch, RegionAssignment, VolumeAllocation
from core import audit, clock
from core.actors import Actor, OrgKind
from core.errors import InvalidState, NotFound, ValidationFailed
from ledger.figures import completed_units, cycle_year
from ledger.models import Listing, ListingMode, ListingStatus
from ledger.states import LISTING
from ledger.supervision.supply_models import BackupActivation, SupplyFailure, VolumeMove

ACTIVATION_REASON = "备供启用"
REVERSAL_REASON = "备供撤销，恢复主供"


def _text(value: str | None, name: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ValidationFailed(fields={name: ["必填 (required)"]})
    if len(text) > 500:
        raise ValidationFailed(fields={name: ["不能超过500字 (at most 500 characters)"]})
    return text


def _region_listing(session: Session, award_id: int, region_code: str, *, lock: bool) -> Listing | None:
    stmt = select(Listing).where(
        Listing.award_id == award_id,
        Listing.region_code == region_code,
        Listing.mode == ListingMode.VOLUME_BASED,
    )
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return session.scalars(stmt.order_by(Listing.id)).first()


def _current_primary(session: Session, item_id: int, region_code: str) -> Listing | None:
    """The item's listed primary in the region, locked: two activations of one region serialize
    here, and the second finds it already switched."""
    return session.scalars(
        select(Listing)
        .join(Award, Award.id == Listing.award_id)
        .where(
            Award.item_id == item_id,
            Listing.region_code == region_code,
            Listing.mode == ListingMode.VOLUME_BASED,
            Listing.status == ListingStatus.LISTED,
            Listing.supply_role == "primary",
        )
        .order_by(Listing.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def _move_volume(
    session: Session,
    activation: BackupActivation,
    item: BatchItem,
    *,
    caps: dict[int, int] | None,
    now: datetime,
) -> int:
    """Move each hospital's remaining agreed volume from the activation's `from` award to its `to`
    award (capped per hospital by `caps` on a reversal); returns the units moved."""
    batch = session.get_one(ProcurementBatch, item.batch_id)
    today = clock.business_date(now)
    year = cycle_year(batch.cycle_start_on, batch.cycle_end_on, today)
    bought = completed_units(session, Actor.system(), batch_id=batch.id, year=year, on=today)
    sources = session.scalars(
        select(VolumeAllocation)
        .where(
            VolumeAllocation.item_id == item.id,
            VolumeAllocation.region_code == activation.region_code,
            VolumeAllocation.award_id == activation.from_award_id,
        )
        .order_by(VolumeAllocation.hospital_id)
        .with_for_update()
    ).all()
    targets = {
        a.hospital_id: a
        for a in session.scalars(
            select(VolumeAllocation)
            .where(
                VolumeAllocation.item_id == item.id,
                VolumeAllocation.region_code == activation.region_code,
                VolumeAllocation.award_id == activation.to_award_id,
            )
            .with_for_update()
        )
    }
    moved = 0
    for source in sources:
        remaining = max(0, source.agreed_quantity - bought.get((source.hospital_id, source.award_id), 0))
        if caps is not None:
            remaining = min(remaining, caps.get(source.hospital_id, 0))
        target = targets.get(source.hospital_id)
        if target is None:
            target = VolumeAllocation(
                batch_id=source.batch_id,
                item_id=item.id,
                hospital_id=source.hospital_id,
                region_code=activation.region_code,
                award_id=activation.to_award_id,
                base_quantity=0,
                agreed_quantity=0,
                brand_specific=False,
            )
            session.add(target)
            session.flush()
        source.agreed_quantity -= remaining
        target.agreed_quantity += remaining
        session.add(
            VolumeMove(
                activation_id=activation.id,
                hospital_id=source.hospital_id,
                from_allocation_id=source.id,
                to_allocation_id=target.id,
                quantity=remaining,
            )
        )
        moved += remaining
    session.flush()
    return moved


def _switch_listings(
    session: Session,
    actor: Actor,
    primary: Listing,
    to_award: Award,
    region_code: str,
    *,
    reversal: bool,
    now: datetime,
) -> Listing:
    """Suspend (activation) or demote to backup (reversal) the old primary listing; make the new
    award's listing the region's primary, relisting or creating it at its winning pack price."""
    before = primary.status
    if reversal:
        primary.supply_role = "backup"
    else:
        LISTING.move(primary, ListingStatus.SUSPENDED)
        primary.status_reason = ACTIVATION_REASON
    primary.updated_at = now
    audit.record(
        session,
        actor,
        "listing.status",
        subject_type="listing",
        subject_id=primary.id,
        subject_org_id=primary.manufacturer_id,
        before={"status": before, "supply_role": "primary"},
        after={
            "status": primary.status,
            "supply_role": primary.supply_role,
            "reason": REVERSAL_REASON if reversal else ACTIVATION_REASON,
        },
        now=now,
    )
    target = _region_listing(session, to_award.id, region_code, lock=True)
    if target is None:
        target = Listing(
            mode=ListingMode.VOLUME_BASED,
            status=ListingStatus.LISTED,
            product_id=to_award.product_id,
            manufacturer_id=to_award.manufacturer_id,
            region_code=region_code,
            pack_price_fen=to_award.pack_price_fen,
            award_id=to_award.id,
            supply_role="primary",
            price_flagged=False,
            created_at=now,
            updated_at=now,
        )
        session.add(target)
        session.flush()
        audit.record(
            session,
            actor,
            "listing.create",
            subject_type="listing",
            subject_id=target.id,
            subject_org_id=target.manufacturer_id,
            after={"award_id": to_award.id, "region_code": region_code, "supply_role": "primary"},
            now=now,
        )
        return target
    was = (target.status, target.supply_role)
    if target.status is not ListingStatus.LISTED:
        LISTING.move(target, ListingStatus.LISTED)  # a delisted one cannot come back: 409
    target.supply_role, target.status_reason, target.updated_at = "primary", None, now
    session.flush()
    audit.record(
        session,
        actor,
        "listing.status",
        subject_type="listing",
        subject_id=target.id,
        subject_org_id=target.manufacturer_id,
        before={"status": was[0], "supply_role": was[1]},
        after={"status": target.status, "supply_role": "primary"},
        now=now,
    )
    return target


def activate_backup(
    session: Session,
    actor: Actor,
    *,
    item_id: int,
    region_code: str,
    to_award_id: int,
    reason: str | None,
    now: datetime,
    from_award_id: int | None = None,
    supply_failure_id: int | None = None,
) -> BackupActivation:
    """Switch the item × region to its backup winner `to_award_id` (see the module docstring).
    422 naming the field for an unknown item, award or failure, or an award without a backup
    assignment for the region; 409 when the region has no listed primary (already switched)."""
    require_bureau_writer(actor)
    text = _text(reason, "reason")
    item = session.get(BatchItem, item_id)
    if item is None:
        raise ValidationFailed(fields={"item_id": ["品种不存在 (item not found)"]})
    to_award = session.get(Award, to_award_id)
    if to_award is None or to_award.item_id != item.id:
        raise ValidationFailed(fields={"to_award_id": ["不是该品种的中选结果 (not an award of this item)"]})
    assigned = session.scalar(
        select(RegionAssignment.id).where(
            RegionAssignment.item_id == item.id,
            RegionAssignment.region_code == region_code,
            RegionAssignment.award_id == to_award.id,
            RegionAssignment.kind == "backup",
        )
    )
    if assigned is None:
        raise ValidationFailed(
            fields={"to_award_id": ["该企业不是本地区的备供企业 (not a backup winner for this region)"]}
        )
    if supply_failure_id is not None and session.get(SupplyFailure, supply_failure_id) is None:
        raise ValidationFailed(fields={"supply_failure_id": ["断供记录不存在 (supply failure not found)"]})
    with session.begin_nested():
        primary = _current_primary(session, item.id, region_code)
        if primary is None or (from_award_id is not None and primary.award_id != from_award_id):
            raise InvalidState(
                "该地区主供已切换或无主供挂网 (the region's primary has already been switched)",
                code="already_switched",
            )
        if primary.award_id == to_award.id:
            raise InvalidState("该企业已是本地区主供 (already the region's primary)", code="already_switched")
        return _activate(
            session,
            actor,
            item,
            primary,
            to_award,
            region_code,
            reason=text,
            supply_failure_id=supply_failure_id,
            reverses=None,
            now=now,
        )


def reverse_activation(
    session: Session, actor: Actor, activation_id: int, *, reason: str | None, now: datetime
) -> BackupActivation:
    """Switch back: a new activation pointing at the one it reverses; the old primary is relisted
    as primary, the backup goes back to being the backup, and each hospital's volume moved by the
    first activation returns, less what was bought from the backup since. 409 when it was already
    reversed or the region has moved on since."""
    require_bureau_writer(actor)
    text = _text(reason, "reason")
    first = session.get(BackupActivation, activation_id)
    if first is None:
        raise NotFound("备供启用记录不存在 (activation not found)")
    with session.begin_nested():
        if session.scalar(select(BackupActivation.id).where(BackupActivation.reverses_id == first.id)):
            raise InvalidState("该启用已撤销 (already reversed)", code="already_switched")
        current = _current_primary(session, first.item_id, first.region_code)
        if current is None or current.award_id != first.to_award_id:
            raise InvalidState("该地区主供已变更 (the region has moved on)", code="already_switched")
        caps = {
            hospital: quantity
            for hospital, quantity in session.execute(
                select(VolumeMove.hospital_id, VolumeMove.quantity).where(
                    VolumeMove.activation_id == first.id
                )
            )
        }
        return _activate(
            session,
            actor,
            session.get_one(BatchItem, first.item_id),
            current,
            session.get_one(Award, first.from_award_id),
            first.region_code,
            reason=text,
            supply_failure_id=None,
            reverses=(first, caps),
            now=now,
        )


def _activate(
    session: Session,
    actor: Actor,
    item: BatchItem,
    primary: Listing,
    to_award: Award,
    region_code: str,
    *,
    reason: str,
    supply_failure_id: int | None,
    reverses: tuple[BackupActivation, dict[int, int]] | None,
    now: datetime,
) -> BackupActivation:
    activation = BackupActivation(
        item_id=item.id,
        region_code=region_code,
        from_award_id=cast(int, primary.award_id),
        to_award_id=to_award.id,
        reason=reason,
        supply_failure_id=supply_failure_id,
        reverses_id=reverses[0].id if reverses else None,
        moved_units=0,
        activated_by=actor.user_id,
        activated_at=now,
    )
    session.add(activation)
    session.flush()
    activation.moved_units = _move_volume(
        session, activation, item, caps=reverses[1] if reverses else None, now=now
    )
    _switch_listings(session, actor, primary, to_award, region_code, reversal=reverses is not None, now=now)
    session.flush()
    audit.record(
        session,
        actor,
        "backup.reverse" if reverses else "backup.activate",
        subject_type="backup_activation",
        subject_id=activation.id,
        subject_org_id=to_award.manufacturer_id,
        after={
            "item_id": item.id,
            "region_code": region_code,
            "from_award_id": activation.from_award_id,
            "to_award_id": to_award.id,
            "moved_units": activation.moved_units,
            "reason": reason,
            "supply_failure_id": supply_failure_id,
            "reverses_id": activation.reverses_id,
        },
        now=now,
    )
    return activation


def activations_visible_to(actor: Actor) -> Select[tuple[BackupActivation]]:
    """The bureau sees all; a manufacturer those switching from or to its awards; a hospital those
    that moved its volume."""
    stmt = select(BackupActivation)
    if actor.is_bureau:
        return stmt
    if actor.org_kind is OrgKind.MANUFACTURER:
        mine = select(Award.id).where(Award.manufacturer_id == actor.org_id)
        return stmt.where(BackupActivation.from_award_id.in_(mine) | BackupActivation.to_award_id.in_(mine))
    if actor.org_kind is OrgKind.HOSPITAL:
        moved = select(VolumeMove.activation_id).where(VolumeMove.hospital_id == actor.org_id)
        return stmt.where(BackupActivation.id.in_(moved))
    return stmt.where(False)
