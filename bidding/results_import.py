"""Executing results decided elsewhere (中选结果落地实施, supervision-and-interop.md §10): a national
or alliance batch is created from its results file, skips bidding and opening, collects this
province's demand, and is executed: demand → agreed volumes by the file's ratio (vbp-rules.md
§1.6), hospitals to the winners that supply this province (§1.7), then listings as for any batch.

The import is all or nothing and names every bad row. The batch keeps the whole file (as JSON) and
its SHA-256 as the record of where its results came from.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bidding import results_check, rules
from bidding.batches import create_batch, get_batch, move, require_bureau_writer
from bidding.models import (
    Award,
    BatchStatus,
    DemandReport,
    ItemResult,
    ProcurementBatch,
    Product,
    RegionAssignment,
    SelectionSource,
    VolumeAllocation,
)
from bidding.opening import rederive_item
from bidding.results_format import ResultsFileError, read
from bidding.volumes import Demand, agreed_volumes, allocation_rows
from core import audit
from core.actors import Actor
from core.db import bulk_insert
from core.errors import Conflict, InvalidState, RuleViolation, ValidationFailed
from core.organizations import Organization
from core.regions import province_of

#: Bidding and opening do not happen here; the timeline's bid phase is a one-second stub after
#: demand closes so the batch table's timeline constraint holds.
STUB = timedelta(seconds=1)


@dataclass
class ImportSummary:
    batch: ProcurementBatch
    items: int
    winners: int
    #: Items with no winner supplying this province as primary (their generic demand has no home).
    unsupplied_items: list[str] = field(default_factory=list)


def import_results(
    session: Session,
    actor: Actor,
    *,
    data: bytes,
    filename: str,
    province_code: str,
    demand_opens_at: datetime,
    demand_closes_at: datetime,
    now: datetime,
) -> ImportSummary:
    """Create a draft batch from a results file (all or nothing). Only this province's supply
    rows become region assignments; the whole file is kept with the batch."""
    require_bureau_writer(actor)
    if demand_closes_at <= demand_opens_at:
        raise ValidationFailed(
            fields={"demand_closes_at": ["须晚于报量开始时间 (must be after demand_opens_at)"]}
        )
    try:
        results = read(data, filename)
    except ResultsFileError as exc:
        raise ValidationFailed(
            "导入失败，未写入任何数据 (import failed; nothing was written)", fields=exc.fields
        ) from exc
    sha = hashlib.sha256(data).hexdigest()
    existing = session.scalar(select(ProcurementBatch.id).where(ProcurementBatch.results_sha256 == sha))
    if existing is not None:
        raise Conflict(
            f"该结果文件已导入为批次 {existing} (this file was already imported as batch {existing})"
        )
    plan = results_check.plan(session, results, category_hint=None)
    b = plan.batch
    batch = create_batch(
        session,
        actor,
        name=b["name"],
        category=b["category"],
        scope=b["scope"],
        rule_version=b["rule_version"],
        rule_overrides=None,
        timeline={
            "demand_opens_at": demand_opens_at,
            "demand_closes_at": demand_closes_at,
            "bid_opens_at": demand_closes_at,
            "bid_closes_at": demand_closes_at + STUB,
            "opening_at": demand_closes_at + STUB,
            "cycle_start_on": b["cycle_start_on"],
            "cycle_end_on": b["cycle_end_on"],
        },
        now=now,
        imported=True,
    )
    batch.results_sha256 = sha  # unique: a racing second import of the same file is a 409
    batch.results_source = {
        "filename": filename[-200:],
        "sha256": sha,
        "issuer": results.batch.get("issuer", ""),
        "reference": results.batch.get("reference", ""),
        "province_code": province_code,
        "imported_at": now.isoformat(),
        "imported_by": actor.user_id,
        "content": results.to_json(),
    }
    unsupplied = []
    winners = 0
    for draft, planned_winners in plan.items:
        draft.batch_id = batch.id
        session.add(draft)
        session.flush()
        has_primary = False
        for award, supply in planned_winners:
            award.batch_id, award.item_id = batch.id, draft.id
            session.add(award)
            session.flush()
            winners += 1
            for province, role in supply:
                if province == province_code:
                    has_primary |= role == "primary"
                    session.add(
                        RegionAssignment(
                            item_id=draft.id, award_id=award.id, region_code=province, kind=role, pick_round=0
                        )
                    )
        if not has_primary:
            unsupplied.append(draft.generic_name)
    session.flush()
    audit.record(
        session,
        actor,
        "batch.import_results",
        subject_type="batch",
        subject_id=batch.id,
        after={
            "filename": filename[-200:],
            "sha256": sha,
            "issuer": batch.results_source["issuer"],
            "reference": batch.results_source["reference"],
            "items": len(plan.items),
            "winners": winners,
            "unsupplied_items": unsupplied,
        },
        now=now,
    )
    return ImportSummary(batch, len(plan.items), winners, unsupplied)


@dataclass(frozen=True)
class ExecutionSummary:
    batch_id: int
    items: int
    allocations: int
    agreed_quantity: int


def execute_results(session: Session, actor: Actor, batch_id: int, *, now: datetime) -> ExecutionSummary:
    """落地: after demand closes, this province's reported demand becomes agreed volumes with the
    winners that supply it, and the results are published here."""
    require_bureau_writer(actor)
    batch = get_batch(session, actor, batch_id, for_update=True)
    if batch.selection is not SelectionSource.IMPORTED:
        raise InvalidState(
            "本批次在本平台开标选择，无需执行导入结果 (this batch is selected here)", code="selected_here"
        )
    if batch.status is not BatchStatus.DEMAND_COLLECTION:
        raise InvalidState("批次不在报量阶段 (the batch is not collecting demand)", code="illegal_transition")
    if now < batch.demand_closes_at:
        raise RuleViolation("报量尚未截止 (demand reporting is still open)", code="too_early")
    province = (batch.results_source or {}).get("province_code")
    awards = list(session.scalars(select(Award).where(Award.batch_id == batch.id).order_by(Award.id)))
    codes = dict(
        session.execute(
            select(Product.id, Product.code).where(Product.id.in_({a.product_id for a in awards}))
        ).all()
    )
    demand_rows = session.execute(
        select(
            DemandReport.item_id,
            DemandReport.region_code,
            DemandReport.brand_product_id,
            DemandReport.quantity,
            Organization.uscc,
            Organization.id,
        )
        .join(Organization, Organization.id == DemandReport.hospital_id)
        .where(DemandReport.batch_id == batch.id)
    ).all()
    brand_codes = dict(
        session.execute(
            select(Product.id, Product.code).where(
                Product.id.in_({r.brand_product_id for r in demand_rows if r.brand_product_id})
            )
        ).all()
    )
    primary = {
        item_id: award_id
        for item_id, award_id in session.execute(
            select(RegionAssignment.item_id, RegionAssignment.award_id)
            .join(Award, Award.id == RegionAssignment.award_id)
            .where(
                Award.batch_id == batch.id,
                RegionAssignment.kind == "primary",
                RegionAssignment.region_code == province,
            )
        )
    }
    hospital_of = {r.uscc: r.id for r in demand_rows}
    rows: list[dict[str, object]] = []
    results = []
    for item in batch.items:
        item_awards = {codes[a.product_id]: a for a in awards if a.item_id == item.id}
        ratio = (
            Decimal(item.volume_ratio_override)
            if item.volume_ratio_override
            else rules.RuleSet.from_dict(batch.rules).volume_ratio_for(len(item_awards))
        )
        primary_code = next((code for code, a in item_awards.items() if a.id == primary.get(item.id)), None)
        volumes = agreed_volumes(
            (
                Demand(r.uscc, r.region_code, brand_codes.get(r.brand_product_id), r.quantity)
                for r in demand_rows
                if r.item_id == item.id
            ),
            ratio,
            # Every region of this province is supplied by the province's primary winner.
            primary_of=lambda region, code=primary_code: code if province_of(region) == province else None,
            winners=item_awards,
        )
        rows.extend(
            allocation_rows(batch.id, item.id, volumes, hospital_of=hospital_of, award_of=item_awards)
        )
        results.append(
            ItemResult(
                batch_id=batch.id,
                item_id=item.id,
                eligible_bidders=0,
                max_shortlisted=0,
                winner_count=len(item_awards),
                volume_ratio=str(ratio) if item_awards else None,
                rules=batch.rules,
                allocation_log=[{"source": "imported", "sha256": (batch.results_source or {}).get("sha256")}],
            )
        )
    bulk_insert(session, VolumeAllocation.__table__, rows)
    session.add_all(results)
    move(session, actor, batch, BatchStatus.RESULTS_PUBLISHED, now=now)
    batch.published_at = now
    session.flush()
    summary = ExecutionSummary(
        batch.id, len(batch.items), len(rows), sum(int(r["agreed_quantity"]) for r in rows)
    )  # type: ignore[call-overload]
    audit.record(
        session,
        actor,
        "batch.execute_results",
        subject_type="batch",
        subject_id=batch.id,
        after={
            "items": summary.items,
            "allocations": summary.allocations,
            "agreed_quantity": summary.agreed_quantity,
        },
        now=now,
    )
    return summary


@dataclass(frozen=True)
class Rederivation:
    """Whether a batch's selection can be re-derived here, and what came out differently."""

    selected_here: bool
    source: dict[str, Any] | None
    differences: dict[int, list[str]]

    @property
    def statement(self) -> str:
        if not self.selected_here:
            s = self.source or {}
            return (
                "本批次的中选结果不在本平台产生，无法重新推导；结果来自导入文件 "
                f"{s.get('filename', '')}（{s.get('issuer', '')} {s.get('reference', '')}，"
                f"SHA-256 {s.get('sha256', '')}） (selection was not done here: the results were "
                "imported from that file and cannot be re-derived)"
            )
        bad = {k: v for k, v in self.differences.items() if v}
        if not bad:
            return "全部品种可由存档输入重新推导出相同结果 (every item re-derives to the stored result)"
        return f"{len(bad)} 个品种的重新推导结果与存档不同 ({len(bad)} items re-derive differently)"


def rederive_batch(session: Session, batch_id: int) -> Rederivation:
    """Re-run the selection of every opened item; an imported batch says it was not selected here."""
    batch = session.get_one(ProcurementBatch, batch_id)
    if batch.selection is SelectionSource.IMPORTED:
        return Rederivation(
            False, {k: v for k, v in (batch.results_source or {}).items() if k != "content"}, {}
        )
    opened = session.scalars(select(ItemResult.item_id).where(ItemResult.batch_id == batch.id)).all()
    return Rederivation(True, None, {item_id: rederive_item(session, item_id) for item_id in opened})
