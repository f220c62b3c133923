"""Renewal (续标) of an expiring batch: the new batch with its items and ceilings, the incumbents and
who may carry over its expiring price (supervision-and-interop.md §10).

No national formula for renewal prices was found (§10), so the renewal's price rules are per-batch
rule-set parameters like the others (bidding/rules.py `renewal_ceiling`, `renewal_carry_over`).
Everything else runs as in any batch: demand is re-reported, bids are sealed (carried-over prices
too) and selection happens at the opening. The renewal's cycle starts the day after the expiring
one ends, computed here and never typed in, so agreements tile without gap or overlap (§1.8).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bidding import bids, rules
from bidding.batches import apply_overrides, get_batch, get_item, require_bureau_writer, timeline_problems
from bidding.models import (
    Award,
    BatchItem,
    BatchStatus,
    DosageFormGroup,
    ProcurementBatch,
    Scope,
    SelectionSource,
)
from bidding.rules import CarryOver, RenewalCeiling
from bidding.sealing import BidSealer
from core import audit
from core.actors import Actor
from core.errors import Conflict, InvalidState, NotFound, RuleViolation, ValidationFailed

#: A batch can be renewed once its results are public (winners and prices are the renewal's base).
RENEWABLE = (BatchStatus.RESULTS_PUBLISHED, BatchStatus.EXECUTING)
#: The renewal's own timeline; the cycle start is computed, the cycle end optional.
TIMELINE_FIELDS = ("demand_opens_at", "demand_closes_at", "bid_opens_at", "bid_closes_at", "opening_at")
ONE_DAY = timedelta(days=1)


# --- pure rules ---------------------------------------------------------------------------------


def renewal_ceiling_e4(basis: RenewalCeiling, *, original_e4: int, winning_e4: list[int]) -> int:
    """The renewed item's ceiling per minimum unit of its representative spec (yuan×10⁴).

    Winning prices are unit comparable prices (单位可比价), already per unit of the representative
    spec; the renewed item keeps that spec, so they need no further conversion (§1.4). An item
    without winners keeps its original ceiling (there is no winning price to start from)."""
    if basis is RenewalCeiling.ORIGINAL or not winning_e4:
        return original_e4
    return max(winning_e4) if basis is RenewalCeiling.HIGHEST_WINNING else min(winning_e4)


def carry_over_refusal(
    rule: CarryOver,
    *,
    comparable_e4: int,
    lowest_winning_e4: int,
    spread_multiplier: Decimal,
    ceiling_e4: int,
) -> tuple[str, str] | None:
    """(code, why) when an incumbent at `comparable_e4` must bid again instead of carrying over."""
    if rule is CarryOver.NONE:
        return "carry_over_none", "本批续标不允许沿用原中选价，须重新报价 (no carry-over here: bid again)"
    if rule is CarryOver.WITHIN_SPREAD and Decimal(comparable_e4) > spread_multiplier * lowest_winning_e4:
        # The selection's own "too high" line (§1.5.2–§1.5.4, 1.8 × the lowest): prices above it
        # must fall on renewal (§10 "prices that are too high keep falling").
        return (
            "above_spread_line",
            f"原中选价高于最低中选价的 {spread_multiplier} 倍，须重新报价 "
            f"(expiring price above {spread_multiplier} × the lowest winning price: bid again)",
        )
    if comparable_e4 > ceiling_e4:
        return (
            "above_ceiling",
            "原中选价高于续标最高有效申报价，须重新报价 "
            "(expiring price above the renewal ceiling: bid again)",
        )
    return None


def renewal_cycle_end(old_start: date, old_end: date) -> date:
    """The default end of a renewal's cycle: as many years after the new start as the expiring
    cycle ran (its end moved on by whole years; 29 February falls back to the 28th)."""
    years = max(1, (old_end + ONE_DAY).year - old_start.year)
    try:
        return old_end.replace(year=old_end.year + years)
    except ValueError:
        return old_end.replace(year=old_end.year + years, day=28)


# --- creating the renewal -----------------------------------------------------------------------


def renewal_of(session: Session, batch_id: int) -> ProcurementBatch | None:
    """The batch that renews `batch_id`, if any (at most one: a unique key)."""
    return session.scalars(
        select(ProcurementBatch).where(ProcurementBatch.renews_batch_id == batch_id)
    ).first()


def _already_renewed() -> Conflict:
    return Conflict(
        "该批次已创建续标批次 (the batch already has a renewal)",
        code="already_renewed",
        fields={"batch_id": ["已有续标批次 (already renewed)"]},
    )


def create_renewal(
    session: Session,
    actor: Actor,
    batch_id: int,
    *,
    name: str | None = None,
    rule_overrides: Mapping[str, Any] | None = None,
    timeline: Mapping[str, datetime],
    cycle_end_on: date | None = None,
    now: datetime,
) -> ProcurementBatch:
    """Create the draft renewal of an expiring batch with published results: same category, rules
    (with the overrides) and items, ceilings by the renewal rule, the cycle following the old one."""
    require_bureau_writer(actor)
    old = get_batch(session, actor, batch_id, for_update=True)  # serialises two renewals of one batch
    if old.status not in RENEWABLE:
        raise InvalidState(
            "仅结果已公布或执行中的批次可续标 (only a batch with published results can be renewed)",
            code="not_renewable",
        )
    if renewal_of(session, old.id) is not None:
        raise _already_renewed()
    unknown = sorted(set(timeline) - set(TIMELINE_FIELDS))
    missing = [k for k in TIMELINE_FIELDS if k not in timeline]
    if unknown or missing:
        raise ValidationFailed(
            fields={
                **{k: ["续标批次的采购周期开始日由原批次决定 (computed, not input)"] for k in unknown},
                **{k: ["必填 (required)"] for k in missing},
            }
        )
    ruleset = apply_overrides(old.rules, rule_overrides or {})
    cycle_start = old.cycle_end_on + ONE_DAY  # the day after the old agreements end: no gap, no overlap
    cycle_end = cycle_end_on or renewal_cycle_end(old.cycle_start_on, old.cycle_end_on)
    full = {**timeline, "cycle_start_on": cycle_start, "cycle_end_on": cycle_end}
    if problems := timeline_problems(full):
        raise ValidationFailed(fields=problems)
    # A national batch's renewal is run by the province itself (§10: the province runs renewal of
    # national batches whose agreements expire), so it defaults to provincial scope; an alliance
    # batch led here stays an alliance of the same members. Either way it is selected here.
    scope = Scope.PROVINCIAL if old.scope is Scope.NATIONAL else old.scope
    batch = ProcurementBatch(
        name=name or f"{old.name}（续标）",
        category=old.category,
        scope=scope,
        status=BatchStatus.DRAFT,
        rule_version=old.rule_version,
        rules=ruleset,
        selection=SelectionSource.LOCAL,
        member_provinces=old.member_provinces if scope is Scope.ALLIANCE else None,
        renews_batch_id=old.id,
        created_by_org_id=actor.org_id or old.created_by_org_id,
        created_at=now,
        **full,
    )
    try:
        with session.begin_nested():  # a concurrent renewal that slipped past the check above
            session.add(batch)
            session.flush()
    except IntegrityError as exc:
        raise _already_renewed() from exc
    basis = rules.RuleSet.from_dict(ruleset).renewal_ceiling
    copied = _copy_items(session, old, batch, basis)
    audit.record(
        session,
        actor,
        "batch.renew",
        subject_type="batch",
        subject_id=batch.id,
        after={
            "renews_batch_id": old.id,
            "name": batch.name,
            "scope": scope,
            "rules": ruleset,
            **full,
            "items": copied,
        },
        now=now,
    )
    session.refresh(batch)
    return batch


def _copy_items(
    session: Session, old: ProcurementBatch, new: ProcurementBatch, basis: RenewalCeiling
) -> list[dict[str, Any]]:
    winning: dict[int, list[int]] = defaultdict(list)
    for item_id, comparable in session.execute(
        select(Award.item_id, Award.comparable_e4).where(Award.batch_id == old.id)
    ):
        winning[item_id].append(comparable)
    copied = []
    for item in old.items:
        ceiling = renewal_ceiling_e4(basis, original_e4=item.ceiling_e4, winning_e4=winning[item.id])
        session.add(
            BatchItem(
                batch_id=new.id,
                generic_name=item.generic_name,
                dosage_form_group=item.dosage_form_group,
                rep_strength_value=item.rep_strength_value,
                rep_strength_unit=item.rep_strength_unit,
                ratio_kind=item.ratio_kind,
                allowed_strengths=list(item.allowed_strengths),
                ceiling_e4=ceiling,
                pre_vbp_unit_price_e4=item.pre_vbp_unit_price_e4,
                volume_ratio_override=item.volume_ratio_override,
                lot_attributes=item.lot_attributes,
            )
        )
        copied.append({"from_item_id": item.id, "ceiling_e4": ceiling, "basis": basis.value})
    session.flush()
    return copied


# --- incumbents and carry-over ------------------------------------------------------------------


@dataclass(frozen=True)
class Incumbent:
    """A winner of the expiring batch for a renewed item, and whether it may carry its price over."""

    item_id: int
    expiring_item_id: int
    award_id: int
    manufacturer_id: int
    product_id: int
    comparable_e4: int
    unit_price_e4: int
    pack_price_fen: int
    may_carry_over: bool
    #: Why not (a code and a sentence), when it must bid again.
    refusal_code: str | None
    refusal: str | None


def _variety(item: BatchItem) -> tuple[str, DosageFormGroup]:
    return item.generic_name, item.dosage_form_group


def _renewal(
    session: Session, actor: Actor, renewal_batch_id: int, *, for_update: bool = False
) -> ProcurementBatch:
    batch = get_batch(session, actor, renewal_batch_id, for_update=for_update)
    if batch.renews_batch_id is None:
        raise NotFound(
            "该批次不是续标批次 (not a renewal batch)",
            code="not_a_renewal",
            fields={"batch_id": ["不是续标批次"]},
        )
    return batch


def incumbents(session: Session, actor: Actor, renewal_batch_id: int) -> list[Incumbent]:
    """Per renewed item, each winner of the expiring batch, its expiring price and whether it may
    carry that price over (public: the expiring batch's winners and prices were published)."""
    batch = _renewal(session, actor, renewal_batch_id)
    return _incumbents(session, batch)


def _incumbents(session: Session, batch: ProcurementBatch) -> list[Incumbent]:
    ruleset = rules.RuleSet.from_dict(batch.rules)
    old_items = {
        _variety(i): i
        for i in session.scalars(select(BatchItem).where(BatchItem.batch_id == batch.renews_batch_id))
    }
    awards: dict[int, list[Award]] = defaultdict(list)
    for award in session.scalars(
        select(Award)
        .where(Award.batch_id == batch.renews_batch_id)
        .order_by(Award.item_id, Award.rank, Award.id)
    ):
        awards[award.item_id].append(award)
    found = []
    for item in batch.items:
        old_item = old_items.get(_variety(item))
        if old_item is None:
            continue  # a variety added to the renewal: no incumbents
        winners = awards[old_item.id]
        lowest = min((a.comparable_e4 for a in winners), default=0)
        for award in winners:
            refusal = carry_over_refusal(
                ruleset.renewal_carry_over,
                comparable_e4=award.comparable_e4,
                lowest_winning_e4=lowest,
                spread_multiplier=ruleset.spread_multiplier,
                ceiling_e4=item.ceiling_e4,
            )
            found.append(
                Incumbent(
                    item_id=item.id,
                    expiring_item_id=old_item.id,
                    award_id=award.id,
                    manufacturer_id=award.manufacturer_id,
                    product_id=award.product_id,
                    comparable_e4=award.comparable_e4,
                    unit_price_e4=award.unit_price_e4,
                    pack_price_fen=award.pack_price_fen,
                    may_carry_over=refusal is None,
                    refusal_code=refusal[0] if refusal else None,
                    refusal=refusal[1] if refusal else None,
                )
            )
    return found


def carry_over(
    session: Session,
    actor: Actor,
    renewal_batch_id: int,
    item_id: int,
    *,
    accepts_revival: bool = True,
    province: str,
    sealer: BidSealer,
    now: datetime,
) -> bids.Receipt:
    """An incumbent's sealed bid at its expiring winning pack price for the same product, during the
    bidding window; it replaces the manufacturer's active bid like any bid. Others bid again."""
    bids.require_manufacturer_writer(actor)
    batch = _renewal(session, actor, renewal_batch_id, for_update=True)
    item = get_item(session, actor, batch, item_id)
    mine = [
        i for i in _incumbents(session, batch) if i.item_id == item.id and i.manufacturer_id == actor.org_id
    ]
    if not mine:
        raise RuleViolation(
            "贵企业不是原批次该品种的中选企业，须正常报价 (not an incumbent of this item: bid normally)",
            code="not_incumbent",
            fields={"item_id": ["非原中选企业 (not an incumbent)"]},
        )
    incumbent = mine[0]
    if not incumbent.may_carry_over:
        raise RuleViolation(
            incumbent.refusal, code=incumbent.refusal_code, fields={"item_id": [incumbent.refusal or ""]}
        )
    return bids.submit_bid(
        session,
        actor,
        batch.id,
        item_id=item.id,
        product_id=incumbent.product_id,
        pack_price_fen=incumbent.pack_price_fen,
        accepts_revival=accepts_revival,
        province=province,
        sealer=sealer,
        now=now,
        carried_over_award_id=incumbent.award_id,
    )
