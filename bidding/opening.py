"""Bid opening: decrypt, convert to unit comparable prices, select winners by the batch's rules,
award, allocate regions and agreed volumes — one transaction, every decision stored with its reason.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, joinedload

from bidding import rules
from bidding.batches import get_batch, move, require_bureau_writer
from bidding.models import (
    Award,
    BatchItem,
    BatchStatus,
    Bid,
    BidResult,
    BidStatus,
    DemandReport,
    ItemResult,
    MemberDemand,
    ProcurementBatch,
    Product,
    RegionAssignment,
    Scope,
    SelectionSource,
    VolumeAllocation,
)
from bidding.pricing import comparable_of
from bidding.publicity import EXCLUDED, publish_results
from bidding.sealing import BidContent, BidSealer, SealBroken, receipt_digest
from bidding.volumes import Demand, agreed_volumes, allocation_rows
from core import audit
from core.actors import Actor
from core.db import bulk_insert
from core.errors import InvalidState, RuleViolation
from core.money import E4_PER_YUAN, e4_to_decimal, quantize, to_e4, to_fen, unit_price_e4_from_pack
from core.organizations import Organization
from core.regions import province_of


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Pause the cyclic garbage collector while a province's opening loads and derives millions
    of small objects: each full collection walks all of them again (the opening of 1,000,000
    allocations spent a large share of its time there), and they form no cycles to collect
    (reference counting frees them). Resumed, if it was on, whatever happens."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(frozen=True)
class OpeningSummary:
    batch_id: int
    items: int
    bids: int
    winners: int
    allocations: int


@dataclass
class _BatchData:
    """Everything the opening reads, loaded once per batch (one query per flow, not per item)."""

    bids: dict[int, list[Bid]]
    brand_volume: dict[tuple[int, int], int]
    demand: dict[int, list[tuple[int, str, int | None, int]]]
    #: Hospital id → USCC and product id → code: the keys agreed volumes are split by.
    usccs: dict[int, str]
    product_codes: dict[int, str]
    #: Alliance led here: item → member region → imported demand (bidding/alliance.py).
    member_bases: dict[int, dict[str, int]]
    #: USCC → hospital id, the way back from the split's keys (built once, not per item).
    hospital_of: dict[str, int]


def _load(session: Session, batch: ProcurementBatch) -> _BatchData:
    bids: dict[int, list[Bid]] = defaultdict(list)
    for bid in session.scalars(
        select(Bid)
        .options(joinedload(Bid.product))
        .where(Bid.batch_id == batch.id, Bid.status == BidStatus.ACTIVE)
        .order_by(Bid.id)
    ):
        bids[bid.item_id].append(bid)
    brand_volume = {
        (item_id, product_id): int(qty)
        for item_id, product_id, qty in session.execute(
            select(DemandReport.item_id, DemandReport.brand_product_id, func.sum(DemandReport.quantity))
            .where(DemandReport.batch_id == batch.id, DemandReport.brand_product_id.is_not(None))
            .group_by(DemandReport.item_id, DemandReport.brand_product_id)
        )
    }
    demand: dict[int, list[tuple[int, str, int | None, int]]] = defaultdict(list)
    for item_id, hospital_id, region, brand, qty in session.execute(
        select(
            DemandReport.item_id,
            DemandReport.hospital_id,
            DemandReport.region_code,
            DemandReport.brand_product_id,
            DemandReport.quantity,
        ).where(DemandReport.batch_id == batch.id)
    ):
        demand[item_id].append((hospital_id, region, brand, qty))
    hospitals = {h for rows in demand.values() for h, *_ in rows}
    usccs = dict(
        session.execute(
            select(Organization.id, Organization.uscc).where(Organization.id.in_(hospitals))
        ).all()
    )
    products = {b.product_id for rows in bids.values() for b in rows} | {
        brand for rows in demand.values() for _, _, brand, _ in rows if brand
    }
    product_codes = dict(
        session.execute(select(Product.id, Product.code).where(Product.id.in_(products))).all()
    )
    member_bases: dict[int, dict[str, int]] = defaultdict(dict)
    for item_id, region, qty in session.execute(
        select(MemberDemand.item_id, MemberDemand.region_code, func.sum(MemberDemand.quantity))
        .where(MemberDemand.batch_id == batch.id)
        .group_by(MemberDemand.item_id, MemberDemand.region_code)
    ):
        member_bases[item_id][region] = int(qty)
    brand_volume_members = session.execute(
        select(MemberDemand.item_id, MemberDemand.brand_product_id, func.sum(MemberDemand.quantity))
        .where(MemberDemand.batch_id == batch.id, MemberDemand.brand_product_id.is_not(None))
        .group_by(MemberDemand.item_id, MemberDemand.brand_product_id)
    )
    for item_id, product_id, qty in brand_volume_members:
        key = (item_id, product_id)
        brand_volume[key] = brand_volume.get(key, 0) + int(qty)
    hospital_of = {uscc: hospital_id for hospital_id, uscc in usccs.items()}
    return _BatchData(bids, brand_volume, demand, usccs, product_codes, member_bases, hospital_of)


def open_bids(
    session: Session, actor: Actor, batch_id: int, *, sealer: BidSealer, now: datetime
) -> OpeningSummary:
    """Open the batch's sealed bids at or after the opening time and publish nothing yet."""
    require_bureau_writer(actor)
    batch = get_batch(session, actor, batch_id, for_update=True)
    if batch.status is BatchStatus.BIDDING:
        move(session, actor, batch, BatchStatus.SEALED, now=now)  # the deadline has passed: seal first
    if batch.status is not BatchStatus.SEALED:
        raise InvalidState("批次不在待开标状态 (the batch is not sealed)", code="illegal_transition")
    if now < batch.opening_at:
        raise RuleViolation("未到开标时间 (before the opening time)", code="before_opening_time")
    with _no_cycle_collection():
        data = _load(session, batch)
        bid_count, winners, allocations = _derive(
            session, batch, batch.items, data, price_of=lambda bid: _unseal(sealer, bid), excluded={}
        )
    move(session, actor, batch, BatchStatus.OPENED, now=now)
    batch.opened_at = now
    summary = OpeningSummary(batch.id, len(batch.items), bid_count, winners, allocations)
    audit.record(
        session,
        actor,
        "batch.open",
        subject_type="batch",
        subject_id=batch.id,
        after={
            "items": summary.items,
            "bids": summary.bids,
            "winners": summary.winners,
            "allocations": summary.allocations,
        },
        now=now,
    )
    return summary


def _derive(
    session: Session,
    batch: ProcurementBatch,
    items: Sequence[BatchItem],
    data: _BatchData,
    *,
    price_of: Callable[[Bid], int],
    excluded: Mapping[int, str],
) -> tuple[int, int, int]:
    """Select, award and allocate `items` from their bids at the prices `price_of` gives, bids in
    `excluded` (id → reason) left out as ineligible; returns (bids, winners, allocation rows)."""
    ruleset = rules.RuleSet.from_dict(batch.rules)
    # Three passes, one write per table (not one per item): select every item's winners, write
    # the bid results and the awards (their ids are needed next), then allocate every item while
    # its volume rows stream into one bulk write. Ids come out in item order as before.
    selections = [_select_item(batch, item, ruleset, price_of, data, excluded) for item in items]
    bulk_insert(session, BidResult.__table__, [row for s in selections for row in s.results])
    session.add_all([award for s in selections for award in s.awards])
    session.flush()
    assignments: list[dict[str, object]] = []
    item_results: list[ItemResult] = []
    allocations = 0

    def allocation_rows() -> Iterator[dict[str, object]]:
        nonlocal allocations
        for s in selections:
            rows = _finish_item(batch, s, ruleset, data, assignments, item_results)
            allocations += len(rows)
            yield from rows

    bulk_insert(session, VolumeAllocation.__table__, allocation_rows())
    bulk_insert(session, RegionAssignment.__table__, assignments)
    session.add_all(item_results)
    session.flush()
    return sum(s.bid_count for s in selections), sum(len(s.awards) for s in selections), allocations


def rederive_items(
    session: Session, batch: ProcurementBatch, item_ids: Sequence[int], *, excluded: Mapping[int, str]
) -> None:
    """Derive opened items again from their stored inputs — the prices decrypted at the opening
    (bid_results), the bids, the demand and the batch's frozen rule set — leaving out the bids in
    `excluded` (a sustained objection's correction, bidding/objections.py). The items' derived rows
    (bid decisions, awards, regions, agreed volumes, item record) are replaced: they are provisional
    until the results are final, and each proposal keeps its own snapshot of them. Prices never
    change. The same inputs give the same rows (rederive_item checks them)."""
    ids = sorted(set(item_ids))
    prices = dict(
        session.execute(
            select(BidResult.bid_id, BidResult.pack_price_fen).where(BidResult.item_id.in_(ids))
        ).all()
    )
    for model in (VolumeAllocation, RegionAssignment, Award, ItemResult, BidResult):
        session.execute(delete(model).where(model.item_id.in_(ids)))
    session.expire_all()
    items = [item for item in batch.items if item.id in ids]
    _derive(
        session, batch, items, _load(session, batch), price_of=lambda bid: prices[bid.id], excluded=excluded
    )


@dataclass
class _Selection:
    """One item's opened bids and winners, before its volumes are allocated."""

    item: BatchItem
    bid_count: int
    outcome: rules.SelectionResult
    results: list[dict[str, object]]
    awards: list[Award]


def _select_item(
    batch: ProcurementBatch,
    item: BatchItem,
    ruleset: rules.RuleSet,
    price_of: Callable[[Bid], int],
    data: _BatchData,
    excluded: Mapping[int, str],
) -> _Selection:
    bids = data.bids.get(item.id, [])
    inputs, opened = [], {}
    for bid in bids:
        price_fen = price_of(bid)
        unit_e4 = unit_price_e4_from_pack(price_fen, bid.product.units_per_pack)
        comparable, k = comparable_of(ruleset, item, bid.product, unit_e4)
        opened[str(bid.id)] = (bid, price_fen, unit_e4, comparable, k)
        if bid.id in excluded:
            continue
        inputs.append(
            rules.BidInput(
                key=str(bid.id),
                bidder=str(bid.manufacturer_id),
                unit_comparable_e4=comparable,
                submitted_at=bid.submitted_at,
                reference_listed=bid.product.reference_listed or bid.product.originator,
                consistency_evaluated=bid.product.consistency_evaluated,
                dosage_form_group=item.dosage_form_group.value,
                accepts_revival=bid.accepts_revival,
                brand_volume=data.brand_volume.get((item.id, bid.product_id), 0),
            )
        )
    result = rules.select_winners(
        inputs, ceiling_e4=item.ceiling_e4, rules=ruleset, dosage_form_group=item.dosage_form_group.value
    )
    results: list[dict[str, object]] = []
    awards = []
    for decision in result.decisions:
        bid, price_fen, unit_e4, comparable, k = opened[decision.key]
        results.append(
            {
                "bid_id": bid.id,
                "item_id": item.id,
                "manufacturer_id": bid.manufacturer_id,
                "pack_price_fen": price_fen,
                "unit_price_e4": unit_e4,
                "ratio_k": str(k),
                "comparable_e4": comparable,
                "valid": decision.valid,
                "invalid_reason": decision.invalid_reason,
                "rank": decision.rank,
                "shortlisted": decision.shortlisted,
                "won": decision.won,
                "route": decision.route.value if decision.route else None,
                "tie_breaker": decision.tie_breaker,
                "reason": decision.reason[:500],
            }
        )
        if decision.won:
            awards.append(_award(batch, item, bid, decision, price_fen, unit_e4, comparable, k))
    for bid in bids:
        if bid.id in excluded:
            _, price_fen, unit_e4, comparable, k = opened[str(bid.id)]
            results.append(
                {
                    "bid_id": bid.id,
                    "item_id": item.id,
                    "manufacturer_id": bid.manufacturer_id,
                    "pack_price_fen": price_fen,
                    "unit_price_e4": unit_e4,
                    "ratio_k": str(k),
                    "comparable_e4": comparable,
                    "valid": False,
                    "invalid_reason": EXCLUDED,
                    "rank": None,
                    "shortlisted": False,
                    "won": False,
                    "route": None,
                    "tie_breaker": None,
                    "reason": excluded[bid.id][:500],
                }
            )
    return _Selection(item, len(bids), result, results, awards)


def _finish_item(
    batch: ProcurementBatch,
    selection: _Selection,
    ruleset: rules.RuleSet,
    data: _BatchData,
    assignments: list[dict[str, object]],
    item_results: list[ItemResult],
) -> list[dict[str, object]]:
    """Allocate one item (its awards flushed): region assignments and the item's record are
    appended to the lists given; the volume allocation rows are returned."""
    item, awards, result = selection.item, selection.awards, selection.outcome
    winner_count = len(awards)
    ratio = _volume_ratio(ruleset, item, winner_count)
    allocation_log, rows = None, []
    if awards:
        allocation_log, rows = _allocate(batch, item, ruleset, awards, ratio, data, assignments)
    item_results.append(
        ItemResult(
            batch_id=batch.id,
            item_id=item.id,
            eligible_bidders=result.eligible_bidders,
            max_shortlisted=result.max_shortlisted,
            lowest_e4=result.lowest_e4,
            anchor_e4=result.anchor_e4,
            fuse_line_e4=result.fuse_line_e4,
            revival_price_e4=result.revival_price_e4,
            winner_count=winner_count,
            volume_ratio=str(ratio) if awards else None,
            rules=batch.rules,
            allocation_log=allocation_log,
        )
    )
    return rows


def _unseal(sealer: BidSealer, bid: Bid) -> int:
    """Decrypt a bid and check its receipt digest; any mismatch is reported as tampering."""
    content = BidContent(
        public_id=bid.public_id,
        batch_id=bid.batch_id,
        item_id=bid.item_id,
        manufacturer_id=bid.manufacturer_id,
        product_id=bid.product_id,
        pack_price_fen=0,
        accepts_revival=bid.accepts_revival,
        submitted_at=bid.submitted_at,
    )
    # The suite that sealed the bid, not today's: a platform may have switched since.
    opened = sealer.open(bid.sealing_key_id, bid.sealed, content, suite=bid.suite)
    full = BidContent(**{**content.__dict__, "pack_price_fen": opened.pack_price_fen})
    if receipt_digest(full, opened.salt, bid.suite) != bid.digest:
        raise SealBroken(f"投标 {bid.id} 的回执摘要不符 (bid {bid.id}: receipt digest mismatch)")
    return opened.pack_price_fen


def _award(
    batch: ProcurementBatch,
    item: BatchItem,
    bid: Bid,
    decision: rules.BidDecision,
    price_fen: int,
    unit_e4: int,
    comparable: int,
    k: Decimal,
) -> Award:
    """Winning price: the bid itself, or the revival price converted back to the bid's spec."""
    if decision.winning_price_e4 == comparable:
        win_unit_e4, win_pack_fen = unit_e4, price_fen
    else:
        win_unit_e4 = to_e4(e4_to_decimal(decision.winning_price_e4) * k)
        win_pack_fen = to_fen(Decimal(win_unit_e4) * bid.product.units_per_pack / E4_PER_YUAN)
    return Award(
        batch_id=batch.id,
        item_id=item.id,
        bid_id=bid.id,
        manufacturer_id=bid.manufacturer_id,
        product_id=bid.product_id,
        rank=decision.rank or 0,
        route=decision.route.value if decision.route else "",
        comparable_e4=decision.winning_price_e4,
        unit_price_e4=win_unit_e4,
        pack_price_fen=win_pack_fen,
        picks_regions=decision.picks_regions,
    )


def _volume_ratio(ruleset: rules.RuleSet, item: BatchItem, winner_count: int) -> Decimal:
    if item.volume_ratio_override is not None:
        return Decimal(item.volume_ratio_override)
    return ruleset.volume_ratio_for(winner_count) if winner_count else Decimal(0)


def _allocate(
    batch: ProcurementBatch,
    item: BatchItem,
    ruleset: rules.RuleSet,
    awards: list[Award],
    ratio: Decimal,
    data: _BatchData,
    assignments: list[dict[str, object]],
) -> tuple[list[object], list[dict[str, object]]]:
    """Regions picked by the winners, then agreed volumes. A provincial batch's regions are its
    prefectures; an alliance led here allocates its member provinces (§1.7), and its bases count
    the members' imported demand too."""
    demand = data.demand[item.id]
    alliance = batch.scope is Scope.ALLIANCE
    unit = province_of if alliance else (lambda region: region)
    bases: dict[str, int] = defaultdict(int)
    for province in (batch.member_provinces or []) if alliance else []:
        bases[province] += 0
    for _, region, _, qty in demand:
        bases[unit(region)] += qty
    for region, qty in data.member_bases.get(item.id, {}).items():
        bases[unit(region)] += qty
    pickers = sorted((a for a in awards if a.picks_regions), key=lambda a: a.rank)
    by_key = {str(a.id): a for a in awards}
    regions = rules.allocate_regions([str(a.id) for a in pickers], bases, ruleset)
    primary_of: dict[str, Award] = {}
    for kind, picked in (("primary", regions.primary), ("backup", regions.backup)):
        for award_key, region_codes in picked.items():
            for region in region_codes:
                if kind == "primary":
                    primary_of[region] = by_key[award_key]
                assignments.append(
                    {
                        "item_id": item.id,
                        "award_id": int(award_key),
                        "region_code": region,
                        "kind": kind,
                        "pick_round": regions.round_of(region, award_key) if kind == "primary" else 0,
                    }
                )
    code_of = {a.id: data.product_codes[a.product_id] for a in awards}
    award_of_code = {code_of[a.id]: a for a in awards}
    volumes = agreed_volumes(
        (
            Demand(data.usccs[hospital_id], region, data.product_codes.get(brand) if brand else None, qty)
            for hospital_id, region, brand, qty in demand
        ),
        ratio,
        primary_of=lambda region: code_of[a.id] if (a := primary_of.get(unit(region))) else None,
        winners=award_of_code,
    )
    rows = allocation_rows(batch.id, item.id, volumes, hospital_of=data.hospital_of, award_of=award_of_code)
    return regions.log_as_json(), rows


__all__ = ["OpeningSummary", "comparable_of", "open_bids", "publish_results", "quantize"]


def rederive_item(session: Session, item_id: int) -> list[str]:
    """Re-run the selection of an opened item from its stored record (rule set, comparable prices,
    bid flags, brand volumes) and list every decision that comes out differently; [] = reproducible."""
    stored = session.scalars(select(ItemResult).where(ItemResult.item_id == item_id)).one()
    item = session.get_one(BatchItem, item_id)
    if item.batch.selection is SelectionSource.IMPORTED:
        # Nothing to re-run: the winners were decided elsewhere (bidding/results_import.py).
        raise RuleViolation(
            "该品种的中选结果来自导入文件，不在本平台选择 (selection was not done here: imported results)",
            code="selected_elsewhere",
        )
    ruleset = rules.RuleSet.from_dict(stored.rules)
    brand = dict(
        session.execute(
            select(DemandReport.brand_product_id, func.sum(DemandReport.quantity))
            .where(DemandReport.item_id == item_id, DemandReport.brand_product_id.is_not(None))
            .group_by(DemandReport.brand_product_id)
        ).all()
    )
    rows = session.execute(
        select(BidResult, Bid)
        .join(Bid, Bid.id == BidResult.bid_id)
        .where(BidResult.item_id == item_id, BidResult.invalid_reason.is_distinct_from(EXCLUDED))
    ).all()
    awards = {a.bid_id: a for a in session.scalars(select(Award).where(Award.item_id == item_id))}
    inputs = [
        rules.BidInput(
            key=str(bid.id),
            bidder=str(bid.manufacturer_id),
            unit_comparable_e4=result.comparable_e4,
            submitted_at=bid.submitted_at,
            reference_listed=bid.product.reference_listed or bid.product.originator,
            consistency_evaluated=bid.product.consistency_evaluated,
            dosage_form_group=item.dosage_form_group.value,
            accepts_revival=bid.accepts_revival,
            brand_volume=int(brand.get(bid.product_id, 0)),
        )
        for result, bid in rows
    ]
    again = rules.select_winners(
        inputs, ceiling_e4=item.ceiling_e4, rules=ruleset, dosage_form_group=item.dosage_form_group.value
    )
    by_bid = {int(d.key): d for d in again.decisions}
    differences = []
    for result, bid in rows:
        d = by_bid[bid.id]
        route = d.route.value if d.route else None
        if (d.won, route, d.rank) != (result.won, result.route, result.rank):
            differences.append(
                f"bid {bid.id}: stored {result.won}/{result.route}/{result.rank}, "
                f"now {d.won}/{route}/{d.rank}"
            )
        award = awards.get(bid.id)
        if d.won and (award is None or award.comparable_e4 != d.winning_price_e4):
            differences.append(f"bid {bid.id}: winning price differs")
    if (again.anchor_e4, again.revival_price_e4) != (stored.anchor_e4, stored.revival_price_e4):
        differences.append("anchor or revival price differs")
    return differences


def open_due_batches(
    session: Session, actor: Actor, *, sealer: BidSealer, now: datetime
) -> list[OpeningSummary]:
    """Open every batch whose opening time has passed (the scheduler's job). Idempotent: an
    opened batch is no longer due, and the batch row is locked while it opens, so two callers
    at once open it once."""
    due = session.scalars(
        select(ProcurementBatch.id)
        .where(
            ProcurementBatch.status.in_([BatchStatus.BIDDING, BatchStatus.SEALED]),
            ProcurementBatch.opening_at <= now,
        )
        .order_by(ProcurementBatch.opening_at, ProcurementBatch.id)
    ).all()
    opened = []
    for batch_id in due:
        batch = get_batch(session, actor, batch_id, for_update=True)
        if batch.status in (BatchStatus.BIDDING, BatchStatus.SEALED):  # re-read under the lock
            opened.append(open_bids(session, actor, batch_id, sealer=sealer, now=now))
    return opened
