"""Procurement batches: creation with a rule set, items, and lifecycle transitions (bureau)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from bidding import rules
from bidding.lifecycle import TRANSITIONS, allowed, check_transition
from bidding.models import (
    BatchItem,
    BatchStatus,
    Bid,
    BidStatus,
    Category,
    ProcurementBatch,
    RatioKind,
    Scope,
    SelectionSource,
)
from core import audit
from core.actors import Actor, Role
from core.errors import InvalidState, NotFound, PermissionDenied, RuleViolation, ValidationFailed


def require_bureau_writer(actor: Actor) -> None:
    if not actor.is_bureau or actor.role not in (Role.ADMIN, Role.OPERATOR, Role.SYSTEM):
        raise PermissionDenied("仅医保局经办人员可操作 (bureau operators only)")


def batches_visible_to(actor: Actor) -> Select[tuple[ProcurementBatch]]:
    """Drafts are the bureau's working papers; published batches are public to signed-in users."""
    stmt = select(ProcurementBatch)
    if not actor.is_bureau:
        stmt = stmt.where(ProcurementBatch.status != BatchStatus.DRAFT)
    return stmt


def get_batch(session: Session, actor: Actor, batch_id: int, *, for_update: bool = False) -> ProcurementBatch:
    stmt = batches_visible_to(actor).where(ProcurementBatch.id == batch_id)
    if for_update:
        stmt = stmt.with_for_update()
    batch = session.scalars(stmt).first()
    if batch is None:
        raise NotFound("采购批次不存在 (batch not found)")
    return batch


def get_item(session: Session, actor: Actor, batch: ProcurementBatch, item_id: int) -> BatchItem:
    item = session.get(BatchItem, item_id)
    if item is None or item.batch_id != batch.id:
        raise NotFound(
            "采购品种不存在 (item not found)", fields={"item_id": ["不属于该批次 (not in this batch)"]}
        )
    return item


def timeline_problems(t: Mapping[str, Any]) -> dict[str, list[str]]:
    order = ("demand_opens_at", "demand_closes_at", "bid_opens_at", "bid_closes_at", "opening_at")
    problems: dict[str, list[str]] = {}
    for earlier, later in itertools.pairwise(order):
        strict = earlier in ("demand_opens_at", "bid_opens_at")
        if (t[later] <= t[earlier]) if strict else (t[later] < t[earlier]):
            problems[later] = [f"须晚于 {earlier} (must come after {earlier})"]
    if t["cycle_end_on"] <= t["cycle_start_on"]:
        problems["cycle_end_on"] = ["须晚于采购周期开始日 (must be after cycle_start_on)"]
    return problems


def create_batch(
    session: Session,
    actor: Actor,
    *,
    name: str,
    category: Category,
    scope: Scope,
    rule_version: str,
    rule_overrides: Mapping[str, Any] | None,
    timeline: Mapping[str, datetime | date],
    now: datetime,
    imported: bool = False,
) -> ProcurementBatch:
    """Create a draft batch with the preset rule set `rule_version`, optionally adjusted.
    `imported`: its results come from a file (bidding/results_import.py), not from bids here."""
    require_bureau_writer(actor)
    try:
        base = rules.preset(rule_version).to_dict()
    except KeyError as exc:
        raise ValidationFailed(
            fields={"rule_version": [f"未知规则版本 (unknown rule set) {rule_version}"]}
        ) from exc
    ruleset = apply_overrides(base, rule_overrides or {})
    if scope is Scope.NATIONAL and not imported:
        raise ValidationFailed(
            fields={
                "scope": ["国家组织批次由导入中选结果文件创建 (a national batch comes from its results file)"]
            }
        )
    if problems := timeline_problems(timeline):
        raise ValidationFailed(fields=problems)
    batch = ProcurementBatch(
        name=name,
        category=category,
        scope=scope,
        status=BatchStatus.DRAFT,
        rule_version=rule_version,
        rules=ruleset,
        selection=SelectionSource.IMPORTED if imported else SelectionSource.LOCAL,
        created_by_org_id=actor.org_id,
        created_at=now,
        **timeline,
    )
    session.add(batch)
    session.flush()
    audit.record(
        session,
        actor,
        "batch.create",
        subject_type="batch",
        subject_id=batch.id,
        after={"name": name, "rule_version": rule_version, "rules": ruleset, **timeline},
        now=now,
    )
    return batch


def apply_overrides(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(overrides) - set(base))
    if unknown:
        raise ValidationFailed(
            fields={f"rule_overrides.{k}": ["未知的规则参数 (unknown rule parameter)"] for k in unknown}
        )
    merged = {**base, **overrides}
    try:
        return rules.RuleSet.from_dict(merged).to_dict()
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise ValidationFailed(
            fields={"rule_overrides": [f"规则参数无效 (invalid rule parameters): {exc}"]}
        ) from exc


def update_rules(
    session: Session, actor: Actor, batch_id: int, *, overrides: Mapping[str, Any], now: datetime
) -> ProcurementBatch:
    """Adjust rule parameters while the batch is a draft (published rules never change)."""
    require_bureau_writer(actor)
    batch = get_batch(session, actor, batch_id, for_update=True)
    if batch.status is not BatchStatus.DRAFT:
        raise InvalidState("规则仅能在草稿状态修改 (rules can change only in draft)", code="rules_frozen")
    before = batch.rules
    batch.rules = apply_overrides(batch.rules, overrides)
    session.flush()
    audit.record(
        session,
        actor,
        "batch.rules_update",
        subject_type="batch",
        subject_id=batch.id,
        before={"rules": before},
        after={"rules": batch.rules},
        now=now,
    )
    return batch


def add_item(
    session: Session, actor: Actor, batch_id: int, *, data: Mapping[str, Any], now: datetime
) -> BatchItem:
    """Add a variety with its representative spec, allowed strengths and ceiling (draft only)."""
    require_bureau_writer(actor)
    batch = get_batch(session, actor, batch_id, for_update=True)
    if batch.status is not BatchStatus.DRAFT:
        raise InvalidState("品种仅能在草稿状态添加 (items can be added only in draft)", code="items_frozen")
    allowed = [str(Decimal(s)) for s in data["allowed_strengths"]]
    rep = str(Decimal(data["rep_strength_value"]))
    if rep not in allowed:
        allowed.insert(0, rep)
    if batch.category is Category.CONSUMABLE and data["ratio_kind"] is not RatioKind.NONE:
        raise ValidationFailed(
            fields={"ratio_kind": ["耗材不做差比价换算，须为 none (consumables use none)"]}
        )
    if data.get("volume_ratio_override") is not None and not (0 < data["volume_ratio_override"] <= 1):
        raise ValidationFailed(fields={"volume_ratio_override": ["须在 (0, 1] 之间 (must be in (0, 1])"]})
    exists = session.scalar(
        select(func.count()).where(
            BatchItem.batch_id == batch.id,
            BatchItem.generic_name == data["generic_name"],
            BatchItem.dosage_form_group == data["dosage_form_group"],
        )
    )
    if exists:
        raise ValidationFailed(fields={"generic_name": ["该批次已有此品种 (variety already in the batch)"]})
    override = data.get("volume_ratio_override")
    item = BatchItem(
        batch_id=batch.id,
        generic_name=data["generic_name"],
        dosage_form_group=data["dosage_form_group"],
        rep_strength_value=rep,
        rep_strength_unit=data["rep_strength_unit"],
        ratio_kind=data["ratio_kind"],
        allowed_strengths=allowed,
        ceiling_e4=data["ceiling_e4"],
        volume_ratio_override=None if override is None else str(override),
        pre_vbp_unit_price_e4=data.get("pre_vbp_unit_price_e4"),
        lot_attributes=data.get("lot_attributes"),
    )
    session.add(item)
    session.flush()
    audit.record(
        session,
        actor,
        "batch.item_add",
        subject_type="batch_item",
        subject_id=item.id,
        after={"batch_id": batch.id, **{k: v for k, v in data.items()}},
        now=now,
    )
    return item


#: States reached only through their own action (opening the bids; publishing the results), never
#: by a plain transition: the action does the work the state stands for.
ACTION_STATES = frozenset({BatchStatus.OPENED, BatchStatus.RESULTS_PROPOSED, BatchStatus.RESULTS_PUBLISHED})


def plain_transitions(
    status: BatchStatus, selection: SelectionSource = SelectionSource.LOCAL
) -> list[BatchStatus]:
    """Where `transition` may move a batch from `status` (what a page offers as plain buttons)."""
    return sorted(
        (s for s in TRANSITIONS.get(status, frozenset()) - ACTION_STATES if allowed(status, s, selection)),
        key=lambda s: s.value,
    )


def transition(
    session: Session, actor: Actor, batch_id: int, *, to: BatchStatus, now: datetime
) -> ProcurementBatch:
    """Move a batch along its lifecycle; time guards keep each phase inside its window."""
    require_bureau_writer(actor)
    batch = get_batch(session, actor, batch_id, for_update=True)
    if to in ACTION_STATES:
        raise InvalidState(
            "开标与公布结果请使用专门的操作 (use the open / publish actions)", code="use_action"
        )
    move(session, actor, batch, to, now=now)
    return batch


def move(session: Session, actor: Actor, batch: ProcurementBatch, to: BatchStatus, *, now: datetime) -> None:
    """Apply one checked transition with its guard, and audit it (used by the services)."""
    check_transition(batch.status, to, batch.selection)
    if to is BatchStatus.DEMAND_COLLECTION and not batch.items:
        raise RuleViolation("批次没有采购品种 (the batch has no items)", code="no_items")
    if to is BatchStatus.BIDDING and now < batch.demand_closes_at:
        raise RuleViolation("报量尚未截止 (demand reporting is still open)", code="too_early")
    if to is BatchStatus.SEALED and now < batch.bid_closes_at:
        raise RuleViolation("投标尚未截止 (bidding is still open)", code="too_early")
    before = batch.status
    batch.status = to
    if to is BatchStatus.SEALED:
        active = session.scalar(
            select(func.count()).where(Bid.batch_id == batch.id, Bid.status == BidStatus.ACTIVE)
        )
        after: dict[str, Any] = {"status": to, "active_bids": active}
    else:
        after = {"status": to}
    session.flush()
    audit.record(
        session,
        actor,
        "batch.transition",
        subject_type="batch",
        subject_id=batch.id,
        before={"status": before},
        after=after,
        now=now,
    )
