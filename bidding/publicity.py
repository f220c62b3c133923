"""Publicity period (公示, supervision-and-interop.md §8): opened results are proposed, shown for a
period during which the batch's bidders may object (bidding/objections.py), and become final —
the batch moves to results_published, which listings, allocations and ordering key on — only
when a period has ended with no open objection.

A proposal is never edited. A sustained objection re-derives the results and proposes them again
with a period of their own; the proposal it replaces becomes void.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from bidding import rules
from bidding.batches import get_batch, move, require_bureau_writer
from bidding.models import (
    Award,
    BatchStatus,
    Bid,
    BidResult,
    ItemResult,
    ProcurementBatch,
    Product,
    RegionAssignment,
)
from bidding.publicity_models import (
    Objection,
    ObjectionStatus,
    ProposalKind,
    ProposalStatus,
    ResultProposal,
)
from core import audit
from core.actors import Actor
from core.errors import InvalidState, NotFound
from core.glossary import terms_of
from core.money import e4_to_decimal, fen_to_decimal
from core.organizations import Organization
from core.states import Machine

#: 公示期 when neither the batch's rule set nor the setting says otherwise: Yunnan used 7 days
#: (supervision-and-interop.md §8). The platform setting is VBP_PUBLICITY_DAYS (app/config.py).
DEFAULT_PUBLICITY_DAYS = 7

PROPOSAL: Machine[ProposalStatus] = Machine(
    "公示 (proposal)",
    {
        ProposalStatus.PROPOSED: frozenset({ProposalStatus.FINAL, ProposalStatus.VOID}),
        ProposalStatus.FINAL: frozenset(),
        ProposalStatus.VOID: frozenset(),
    },
    terms_of(ProposalStatus),
)

#: BidResult.invalid_reason of a bid excluded by a sustained objection (bidding/opening.py).
EXCLUDED = "excluded_on_objection"


def publicity_days(batch: ProcurementBatch, setting: int) -> int:
    """The batch's rule-set override, else the platform setting."""
    own = rules.RuleSet.from_dict(batch.rules).publicity_days
    return setting if own is None else own


def snapshot_of(session: Session, batch: ProcurementBatch) -> dict[str, Any]:
    """The batch's derived results as they stand: per item its winners (enterprise, product,
    winning prices, supply regions) and the bids excluded by corrections. Award and bid ids are
    left out: they are renumbered by a re-derivation, the snapshot is compared by content."""
    winners = select(Award.manufacturer_id).where(Award.batch_id == batch.id)
    names = dict(
        session.execute(select(Organization.id, Organization.name).where(Organization.id.in_(winners))).all()
    )
    regions: dict[int, dict[str, list[str]]] = {}
    for award_id, region, kind in session.execute(
        select(RegionAssignment.award_id, RegionAssignment.region_code, RegionAssignment.kind)
        .join(Award, Award.id == RegionAssignment.award_id)
        .where(Award.batch_id == batch.id)
        .order_by(RegionAssignment.region_code)
    ):
        regions.setdefault(award_id, {"primary": [], "backup": []})[kind].append(region)
    awards: dict[int, list[dict[str, Any]]] = {}
    for award, product in session.execute(
        select(Award, Product)
        .join(Product, Product.id == Award.product_id)
        .where(Award.batch_id == batch.id)
        .order_by(Award.item_id, Award.rank, Award.manufacturer_id)
    ):
        awards.setdefault(award.item_id, []).append(
            {
                "rank": award.rank,
                "route": award.route,
                "manufacturer_id": award.manufacturer_id,
                "manufacturer": names.get(award.manufacturer_id, ""),
                "product_id": product.id,
                "product_code": product.code,
                "spec": product.spec_text,
                "unit_price": str(e4_to_decimal(award.unit_price_e4)),
                "pack_price": str(fen_to_decimal(award.pack_price_fen)),
                "primary_regions": regions.get(award.id, {}).get("primary", []),
                "backup_regions": regions.get(award.id, {}).get("backup", []),
            }
        )
    excluded: dict[int, list[dict[str, Any]]] = {}
    for result in session.scalars(
        select(BidResult)
        .join(Bid, Bid.id == BidResult.bid_id)
        .where(Bid.batch_id == batch.id, BidResult.invalid_reason == EXCLUDED)
        .order_by(BidResult.bid_id)
    ):
        excluded.setdefault(result.item_id, []).append(
            {"bid_id": result.bid_id, "manufacturer_id": result.manufacturer_id, "reason": result.reason}
        )
    counts = dict(
        session.execute(
            select(ItemResult.item_id, ItemResult.eligible_bidders).where(ItemResult.batch_id == batch.id)
        ).all()
    )
    return {
        "items": [
            {
                "item_id": item.id,
                "generic_name": item.generic_name,
                "eligible_bidders": counts.get(item.id),
                "winners": awards.get(item.id, []),
                "excluded": excluded.get(item.id, []),
            }
            for item in batch.items
        ]
    }


def current_proposal(session: Session, batch_id: int) -> ResultProposal | None:
    """The batch's proposal now under publicity, if any."""
    return session.scalars(
        select(ResultProposal).where(
            ResultProposal.batch_id == batch_id,
            ResultProposal.kind == ProposalKind.RESULTS,
            ResultProposal.status == ProposalStatus.PROPOSED,
        )
    ).first()


def open_objections(session: Session, batch_id: int) -> int:
    """Objections of the batch still waiting for the bureau's answer (any proposal of it)."""
    return (
        session.scalar(
            select(func.count()).where(
                Objection.batch_id == batch_id, Objection.status == ObjectionStatus.LODGED
            )
        )
        or 0
    )


def propose(
    session: Session,
    actor: Actor,
    batch: ProcurementBatch,
    *,
    days: int,
    now: datetime,
    supersedes: ResultProposal | None = None,
) -> ResultProposal:
    """Propose the batch's results as they stand for `days` days (the batch is locked by the caller)."""
    if batch.status is BatchStatus.OPENED:
        move(session, actor, batch, BatchStatus.RESULTS_PROPOSED, now=now)
    elif batch.status is not BatchStatus.RESULTS_PROPOSED:
        raise InvalidState("批次不在可公示状态 (the batch cannot be proposed now)", code="illegal_transition")
    seq = (
        session.scalar(
            select(func.max(ResultProposal.seq)).where(
                ResultProposal.batch_id == batch.id, ResultProposal.kind == ProposalKind.RESULTS
            )
        )
        or 0
    ) + 1
    proposal = ResultProposal(
        batch_id=batch.id,
        seq=seq,
        kind=ProposalKind.RESULTS,
        status=ProposalStatus.PROPOSED,
        snapshot=snapshot_of(session, batch),
        period_starts_at=now,
        period_ends_at=now + timedelta(days=days),
        supersedes_id=supersedes.id if supersedes else None,
        proposed_at=now,
    )
    session.add(proposal)
    session.flush()
    audit.record(
        session,
        actor,
        "proposal.propose",
        subject_type="result_proposal",
        subject_id=proposal.id,
        after={
            "batch_id": batch.id,
            "seq": seq,
            "days": days,
            "period_ends_at": proposal.period_ends_at.isoformat(),
            "supersedes_id": proposal.supersedes_id,
        },
        now=now,
    )
    return proposal


def void(session: Session, actor: Actor, proposal: ResultProposal, *, now: datetime, reason: str) -> None:
    """A proposal replaced by a re-derived one."""
    PROPOSAL.move(proposal, ProposalStatus.VOID)
    proposal.decided_at = now
    session.flush()
    audit.record(
        session,
        actor,
        "proposal.void",
        subject_type="result_proposal",
        subject_id=proposal.id,
        before={"status": ProposalStatus.PROPOSED},
        after={"status": ProposalStatus.VOID, "batch_id": proposal.batch_id, "reason": reason},
        now=now,
    )


def finalize(
    session: Session, actor: Actor, batch: ProcurementBatch, proposal: ResultProposal, now: datetime
) -> None:
    """Make the proposal final and publish the batch's results (the batch locked by the caller)."""
    if now < proposal.period_ends_at:
        raise InvalidState(
            f"公示期至 {proposal.period_ends_at:%Y-%m-%d %H:%M} UTC 结束，期满前不能确定结果 "
            "(the publicity period is still running)",
            code="publicity_period_running",
        )
    if waiting := open_objections(session, batch.id):
        raise InvalidState(
            f"尚有 {waiting} 件异议未答复，结果不能确定 (objections still wait for an answer)",
            code="objections_open",
        )
    PROPOSAL.move(proposal, ProposalStatus.FINAL)
    proposal.decided_at = now
    move(session, actor, batch, BatchStatus.RESULTS_PUBLISHED, now=now)
    batch.published_at = now
    session.flush()
    audit.record(
        session,
        actor,
        "proposal.finalize",
        subject_type="result_proposal",
        subject_id=proposal.id,
        before={"status": ProposalStatus.PROPOSED},
        after={"status": ProposalStatus.FINAL, "batch_id": batch.id},
        now=now,
    )


def publish_results(
    session: Session, actor: Actor, batch_id: int, *, now: datetime, days: int = DEFAULT_PUBLICITY_DAYS
) -> ProcurementBatch:
    """Propose the opened results for the publicity period (the batch's own days, else `days`); a
    period of 0 days ends at once with no objection possible, so the results are final at once."""
    require_bureau_writer(actor)
    batch = get_batch(session, actor, batch_id, for_update=True)
    if batch.status is not BatchStatus.OPENED:
        raise InvalidState("批次不在已开标状态 (the batch is not opened)", code="illegal_transition")
    length = publicity_days(batch, days)
    proposal = propose(session, actor, batch, days=length, now=now)
    if length == 0:
        finalize(session, actor, batch, proposal, now)
    return batch


def finalize_proposal(session: Session, actor: Actor, proposal_id: int, *, now: datetime) -> ResultProposal:
    """The bureau confirms a proposal whose period has ended with no open objection (refused while
    the period runs or an objection waits)."""
    require_bureau_writer(actor)
    proposal = get_proposal(session, actor, proposal_id)
    batch = get_batch(session, actor, proposal.batch_id, for_update=True)
    PROPOSAL.require(proposal, ProposalStatus.PROPOSED, action="确定结果 (finalize)")
    finalize(session, actor, batch, proposal, now)
    return proposal


def finalize_due(session: Session, now: datetime) -> list[int]:
    """Make final every proposal whose period has ended with no open objection (the scheduler's
    job; idempotent: a final proposal is no longer due). Returns the batch ids made final."""
    system = Actor.system()
    due = session.execute(
        select(ResultProposal.id, ResultProposal.batch_id)
        .where(ResultProposal.status == ProposalStatus.PROPOSED, ResultProposal.period_ends_at <= now)
        .order_by(ResultProposal.period_ends_at, ResultProposal.id)
    ).all()
    done = []
    for proposal_id, batch_id in due:
        batch = get_batch(session, system, batch_id, for_update=True)  # one finalizer per batch
        proposal = session.get_one(ResultProposal, proposal_id)
        session.refresh(proposal)
        if proposal.status is not ProposalStatus.PROPOSED or open_objections(session, batch_id):
            continue
        finalize(session, system, batch, proposal, now)
        done.append(batch_id)
    return done


# --- reads ---------------------------------------------------------------------------------------


def proposals_visible_to(actor: Actor) -> Select[tuple[ResultProposal]]:
    """Proposals are public (that is what 公示 means); drafts have none."""
    return select(ResultProposal).order_by(ResultProposal.batch_id, ResultProposal.seq)


def proposals_of(session: Session, actor: Actor, batch_id: int) -> list[ResultProposal]:
    """A batch's proposals, oldest first."""
    batch = get_batch(session, actor, batch_id)
    return list(session.scalars(proposals_visible_to(actor).where(ResultProposal.batch_id == batch.id)))


def visible_snapshot(actor: Actor, proposal: ResultProposal) -> dict[str, Any]:
    """The proposal's snapshot as `actor` may read it: excluded bids and their reasons only for
    the bureau and the excluded bidder itself."""
    items = []
    for item in proposal.snapshot["items"]:
        excluded = [
            e for e in item.get("excluded", []) if actor.is_bureau or e["manufacturer_id"] == actor.org_id
        ]
        items.append({**item, "excluded": excluded})
    return {"items": items}


def get_proposal(session: Session, actor: Actor, proposal_id: int) -> ResultProposal:
    proposal = session.scalars(proposals_visible_to(actor).where(ResultProposal.id == proposal_id)).first()
    if proposal is None:
        raise NotFound("公示不存在 (proposal not found)")
    return proposal


@dataclass(frozen=True)
class PublicProposal:
    """What may be shown without login about a proposal under publicity."""

    proposal_id: int
    batch_id: int
    batch_name: str
    seq: int
    kind: str
    period_starts_at: datetime
    period_ends_at: datetime
    #: Items with their proposed winners and winning prices (prices are no longer sealed once
    #: opened); no excluded bids and no reasons, which concern the bidders and the bureau only.
    items: list[dict[str, Any]]


def public_proposals(session: Session, now: datetime) -> list[PublicProposal]:
    """Proposals under publicity at `now` (period started, not yet final or void), newest first."""
    rows = session.execute(
        select(ResultProposal, ProcurementBatch.name)
        .join(ProcurementBatch, ProcurementBatch.id == ResultProposal.batch_id)
        .where(ResultProposal.status == ProposalStatus.PROPOSED, ResultProposal.period_starts_at <= now)
        .order_by(ResultProposal.period_starts_at.desc(), ResultProposal.id.desc())
    ).all()
    return [
        PublicProposal(
            proposal_id=p.id,
            batch_id=p.batch_id,
            batch_name=name,
            seq=p.seq,
            kind=p.kind.value,
            period_starts_at=p.period_starts_at,
            period_ends_at=p.period_ends_at,
            items=[
                {k: item[k] for k in ("item_id", "generic_name", "winners")} for item in p.snapshot["items"]
            ],
        )
        for p, name in rows
    ]
