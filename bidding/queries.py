"""Organization-scoped reads of opening results and allocations.

Visibility (vbp-rules.md §1.5; issue: "each bidder sees its own outcome, everyone the winners"):
- before the opening, no prices anywhere (they exist only as ciphertext);
- opened, or proposed for the publicity period, but not final: the bureau sees the opening record
  (the proposal itself is public, bidding/publicity.py);
- published: everyone sees winners and winning prices; a manufacturer also its own bids'
  results; the bureau the whole opening record. Allocations: the bureau all, a hospital its own,
  a manufacturer those of its awards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from bidding.batches import get_batch
from bidding.models import Award, BatchStatus, Bid, BidResult, ItemResult, SelectionSource, VolumeAllocation
from core.actors import Actor, OrgKind

PUBLIC_STATES = (BatchStatus.RESULTS_PUBLISHED, BatchStatus.EXECUTING, BatchStatus.CLOSED)


@dataclass
class Results:
    batch_id: int
    status: str
    items: list[ItemResult]
    awards: list[Award]
    bids: list[dict[str, Any]]


def results_for(session: Session, actor: Actor, batch_id: int) -> Results:
    """The opening results the actor may see (empty lists where nothing is visible yet)."""
    batch = get_batch(session, actor, batch_id)
    # Results decided elsewhere were published there: their winners are public from the import.
    imported = batch.selection is SelectionSource.IMPORTED and batch.status is not BatchStatus.DRAFT
    opened = imported or batch.status in (BatchStatus.OPENED, BatchStatus.RESULTS_PROPOSED, *PUBLIC_STATES)
    public = imported or batch.status in PUBLIC_STATES
    if not opened or (not public and not actor.is_bureau):
        return Results(batch.id, batch.status.value, [], [], [])
    items = list(
        session.scalars(
            select(ItemResult).where(ItemResult.batch_id == batch.id).order_by(ItemResult.item_id)
        )
    )
    awards = list(
        session.scalars(select(Award).where(Award.batch_id == batch.id).order_by(Award.item_id, Award.rank))
    )
    stmt = (
        select(BidResult, Bid.digest)
        .join(Bid, Bid.id == BidResult.bid_id)
        .where(Bid.batch_id == batch.id)
        .order_by(BidResult.item_id, BidResult.rank, BidResult.bid_id)
    )
    if not actor.is_bureau:
        stmt = (
            stmt.where(BidResult.manufacturer_id == actor.org_id)
            if actor.org_kind is OrgKind.MANUFACTURER
            else stmt.where(False)
        )
    bids = [{**_row(r), "digest": digest} for r, digest in session.execute(stmt)]
    return Results(batch.id, batch.status.value, items, awards, bids)


def _row(result: BidResult) -> dict[str, Any]:
    return {c.key: getattr(result, c.key) for c in BidResult.__table__.columns}


def allocations_visible_to(session: Session, actor: Actor, batch_id: int) -> Select[tuple[VolumeAllocation]]:
    """Agreed volumes the actor may see for a batch (nothing before publication, except the bureau)."""
    batch = get_batch(session, actor, batch_id)
    stmt = select(VolumeAllocation).where(VolumeAllocation.batch_id == batch.id)
    if actor.is_bureau:
        proposed_or_later = (BatchStatus.OPENED, BatchStatus.RESULTS_PROPOSED, *PUBLIC_STATES)
        return stmt if batch.status in proposed_or_later else stmt.where(False)
    if batch.status not in PUBLIC_STATES:
        return stmt.where(False)
    if actor.org_kind is OrgKind.HOSPITAL:
        return stmt.where(VolumeAllocation.hospital_id == actor.org_id)
    if actor.org_kind is OrgKind.MANUFACTURER:
        return stmt.join(Award, Award.id == VolumeAllocation.award_id).where(
            Award.manufacturer_id == actor.org_id
        )
    return stmt.where(False)
