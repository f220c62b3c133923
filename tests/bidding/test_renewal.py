"""Renewal (续标) through the services: the demo batch renewed end to end with agreements that
tile, ceilings per basis, one renewal per batch, who may carry over its expiring price."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.demo import build_organizations
from app.demo_tendering import run_tendering
from bidding import batches, bids, demand, opening, renewal
from bidding.models import Award, BatchStatus, Bid, BidStatus, ProcurementBatch, Scope, VolumeAllocation
from bidding.rules import CarryOver, RenewalCeiling
from core import audit
from core.accounts import actor_for_user
from core.errors import Conflict, InvalidState, RuleViolation, ValidationFailed
from ledger.agreements import (
    agreement_periods,
    agreements_visible_to,
    renewal_volume_shortfalls,
    tiling_problems,
)
from tests.renewal import (
    R0,
    R_DURING_BIDDING,
    RENEWAL_TIMELINE,
    bid_again,
    carry,
    open_and_publish,
    published_world,
    renew,
    to_bidding,
)
from tests.tendering import SEALER, e4

DEMO_NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def test_a_renewal_of_the_demo_batch_runs_end_to_end_and_its_agreements_tile(session: Session) -> None:
    world = build_organizations(session)
    old = run_tendering(
        session, orgs=world.orgs, users=world.users, sealer=SEALER, now=DEMO_NOW, echo=lambda _: None
    )
    bureau = actor_for_user(world.users["bureau-op"])
    r0 = DEMO_NOW + timedelta(days=200)
    timeline = {
        "demand_opens_at": r0,
        "demand_closes_at": r0 + timedelta(days=5),
        "bid_opens_at": r0 + timedelta(days=6),
        "bid_closes_at": r0 + timedelta(days=8),
        "opening_at": r0 + timedelta(days=8, hours=1),
    }
    new = renewal.create_renewal(session, bureau, old.id, timeline=timeline, now=r0 - timedelta(days=1))
    assert (new.renews_batch_id, new.status, new.category) == (old.id, BatchStatus.DRAFT, old.category)
    assert new.cycle_start_on == old.cycle_end_on + timedelta(days=1)
    assert len(new.items) == len(old.items)

    batches.move(session, bureau, new, BatchStatus.DEMAND_COLLECTION, now=r0)
    hospitals = [k for k in world.orgs if k.startswith("hosp")]
    for n, key in enumerate(hospitals):
        lines = [demand.DemandLine(item_id=i.id, quantity=(n + 2) * 40_000) for i in new.items]
        demand.report_demand(
            session, actor_for_user(world.users[f"{key}-op"]), new.id, lines=lines, now=r0 + timedelta(days=1)
        )
    batches.move(session, bureau, new, BatchStatus.BIDDING, now=r0 + timedelta(days=6))
    carried = fresh = 0
    for incumbent in renewal.incumbents(session, bureau, new.id):
        key = next(k for k, o in world.orgs.items() if o.id == incumbent.manufacturer_id)
        maker = actor_for_user(world.users[f"{key}-op"])
        if incumbent.may_carry_over:
            renewal.carry_over(
                session,
                maker,
                new.id,
                incumbent.item_id,
                province="510000",
                sealer=SEALER,
                now=r0 + timedelta(days=7),
            )
            carried += 1
        else:  # must bid again: 10 % below its expiring pack price
            bids.submit_bid(
                session,
                maker,
                new.id,
                item_id=incumbent.item_id,
                product_id=incumbent.product_id,
                pack_price_fen=incumbent.pack_price_fen * 9 // 10,
                accepts_revival=True,
                province="510000",
                sealer=SEALER,
                now=r0 + timedelta(days=7),
            )
            fresh += 1
    assert carried > 0
    summary = opening.open_bids(session, bureau, new.id, sealer=SEALER, now=timeline["opening_at"])
    opening.publish_results(session, bureau, new.id, now=timeline["opening_at"] + timedelta(hours=1), days=0)
    assert summary.bids == carried + fresh
    assert summary.winners > 0
    assert summary.allocations > 0

    assert tiling_problems(old, new) == []
    periods = [*agreement_periods(session, old.id), *agreement_periods(session, new.id)]
    for earlier, later in itertools.pairwise(periods):
        assert later.first_day == earlier.last_day + timedelta(days=1)
    agreements = agreements_visible_to(session, bureau)
    by_batch = {b: [a for a in agreements if a.batch_id == b] for b in (old.id, new.id)}
    assert by_batch[old.id]
    assert by_batch[new.id]
    assert min(a.first_day for a in by_batch[new.id]) == max(
        a.last_day for a in by_batch[old.id]
    ) + timedelta(days=1)
    assert all(a.agreed_quantity > 0 for a in by_batch[new.id])
    assert isinstance(renewal_volume_shortfalls(session, bureau, new.id), list)


# --- creating the renewal -----------------------------------------------------------------------


def test_the_renewal_cycle_starts_the_day_after_the_expiring_one_ends_and_runs_as_long(
    session: Session,
) -> None:
    world = published_world(session)
    new = renew(world)
    assert (new.cycle_start_on, new.cycle_end_on) == (date(2027, 5, 1), date(2028, 4, 30))
    assert new.name == "测试批次（续标）"
    assert new.rules["renewal_ceiling"] == "highest_winning"
    event = session.scalars(select(audit.AuditEvent).where(audit.AuditEvent.action == "batch.renew")).one()
    assert event.subject_id == str(new.id)


def test_an_explicit_cycle_end_is_kept_and_the_cycle_start_cannot_be_typed_in(session: Session) -> None:
    world = published_world(session)
    with pytest.raises(ValidationFailed) as refused:
        renew(world, timeline={**RENEWAL_TIMELINE, "cycle_start_on": date(2027, 6, 1)})
    assert "cycle_start_on" in refused.value.fields
    with pytest.raises(ValidationFailed) as too_short:
        renew(world, cycle_end_on=date(2027, 4, 30))
    assert "cycle_end_on" in too_short.value.fields
    assert session.scalar(select(func.count()).select_from(ProcurementBatch)) == 1  # nothing written
    new = renew(world, cycle_end_on=date(2029, 4, 30))
    assert (new.cycle_start_on, new.cycle_end_on) == (date(2027, 5, 1), date(2029, 4, 30))
    assert len(agreement_periods(session, new.id)) == 2


@pytest.mark.parametrize(
    ("basis", "ceiling"),
    [
        (RenewalCeiling.HIGHEST_WINNING, "0.5000"),  # D, by the half-ceiling route
        (RenewalCeiling.LOWEST_WINNING, "0.2000"),  # A
        (RenewalCeiling.ORIGINAL, "1.0000"),
    ],
)
def test_renewed_items_take_their_ceiling_from_the_basis(
    session: Session, basis: RenewalCeiling, ceiling: str
) -> None:
    world = published_world(session)
    new = renew(world, rule_overrides={"renewal_ceiling": basis.value})
    (item,) = new.items
    old_item = world.items[0]
    assert item.ceiling_e4 == e4(ceiling)
    assert (item.generic_name, item.rep_strength_value, item.allowed_strengths) == (
        old_item.generic_name,
        old_item.rep_strength_value,
        old_item.allowed_strengths,
    )


def test_a_second_renewal_of_the_same_batch_is_a_conflict(session: Session) -> None:
    world = published_world(session)
    renew(world)
    with pytest.raises(Conflict) as second:
        renew(world, name="再次续标")
    assert second.value.code == "already_renewed"


def test_only_a_batch_with_published_results_can_be_renewed(session: Session) -> None:
    from tests.tendering import make_world

    world = make_world(session)
    with pytest.raises(InvalidState) as refused:
        renew(world)
    assert refused.value.code == "not_renewable"


def test_unknown_renewal_rule_parameters_are_named(session: Session) -> None:
    world = published_world(session)
    with pytest.raises(ValidationFailed) as refused:
        renew(world, rule_overrides={"renewal_discount": "0.9"})
    assert list(refused.value.fields) == ["rule_overrides.renewal_discount"]


def test_a_national_batch_is_renewed_as_a_provincial_one(session: Session) -> None:
    world = published_world(session)
    world.batch.scope = Scope.NATIONAL
    session.flush()
    assert renew(world).scope is Scope.PROVINCIAL


def test_only_the_bureau_creates_a_renewal(session: Session) -> None:
    from core.errors import PermissionDenied

    world = published_world(session)
    with pytest.raises(PermissionDenied):
        renewal.create_renewal(
            session,
            world.actor(world.hospitals[0]),
            world.batch.id,
            timeline=RENEWAL_TIMELINE,
            now=R0,
        )


# --- incumbents and carry-over ------------------------------------------------------------------


def _incumbent_rights(session: Session, world: object, new: ProcurementBatch) -> dict[str, str | None]:
    names = {o.id: k for k, o in world.manufacturers.items()}  # type: ignore[attr-defined]
    return {
        names[i.manufacturer_id]: i.refusal_code
        for i in renewal.incumbents(session, world.bureau, new.id)  # type: ignore[attr-defined]
    }


def test_incumbents_within_the_spread_line_may_carry_over_by_default(session: Session) -> None:
    world = published_world(session)
    new = renew(world)
    # 1.8 × 0.2000 = 0.3600: A and B are within the line; C (0.48) and D (0.50) must bid again.
    assert _incumbent_rights(session, world, new) == {
        "A": None,
        "B": None,
        "C": "above_spread_line",
        "D": "above_spread_line",
    }


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (CarryOver.ALL, {"A": None, "B": None, "C": None, "D": None}),
        (CarryOver.NONE, dict.fromkeys("ABCD", "carry_over_none")),
    ],
)
def test_the_carry_over_rule_is_a_parameter(
    session: Session, rule: CarryOver, expected: dict[str, str | None]
) -> None:
    world = published_world(session)
    new = renew(world, rule_overrides={"renewal_carry_over": rule.value})
    assert _incumbent_rights(session, world, new) == expected


def test_an_incumbent_above_the_renewal_ceiling_cannot_carry_over(session: Session) -> None:
    world = published_world(session)
    new = renew(world, rule_overrides={"renewal_ceiling": "lowest_winning", "renewal_carry_over": "all"})
    assert _incumbent_rights(session, world, new) == {
        "A": None,
        "B": "above_ceiling",
        "C": "above_ceiling",
        "D": "above_ceiling",
    }


def test_carry_over_places_a_sealed_bid_at_the_expiring_pack_price(session: Session) -> None:
    world = published_world(session)
    new = renew(world)
    to_bidding(world, new)
    receipt = carry(world, new, "A")
    award = session.scalars(
        select(Award).where(
            Award.batch_id == world.batch.id, Award.manufacturer_id == world.manufacturer("A").id
        )
    ).one()
    bid = receipt.bid
    assert (bid.batch_id, bid.product_id, bid.carried_over_award_id, bid.status) == (
        new.id,
        award.product_id,
        award.id,
        BidStatus.ACTIVE,
    )
    assert b"2000" not in bid.sealed  # sealed like any bid: no plaintext price
    # Carrying over again replaces the active bid, like submit_bid.
    again = carry(world, new, "A")
    session.refresh(bid)
    assert (bid.status, bid.replaced_by_id) == (BidStatus.REPLACED, again.bid.id)


def test_carry_over_is_refused_above_the_spread_line_and_for_a_non_incumbent(session: Session) -> None:
    world = published_world(session)
    new = renew(world)
    to_bidding(world, new)
    with pytest.raises(RuleViolation) as above:
        carry(world, new, "C")
    assert above.value.code == "above_spread_line"
    assert "须重新报价" in above.value.message
    with pytest.raises(RuleViolation) as stranger:
        carry(world, new, "G")
    assert stranger.value.code == "not_incumbent"
    assert session.scalar(select(func.count()).where(Bid.batch_id == new.id)) == 0


def test_carry_over_is_refused_outside_the_bidding_window(session: Session) -> None:
    world = published_world(session)
    new = renew(world)
    to_bidding(world, new)
    with pytest.raises(RuleViolation) as late:
        carry(world, new, "A", now=RENEWAL_TIMELINE["bid_closes_at"])
    assert late.value.code == "bid_after_deadline"


def test_carry_over_needs_a_renewal_batch(session: Session) -> None:
    from core.errors import NotFound

    world = published_world(session)
    with pytest.raises(NotFound) as refused:
        renewal.incumbents(session, world.bureau, world.batch.id)
    assert refused.value.code == "not_a_renewal"


def test_carried_over_and_new_bids_are_selected_as_usual_and_volumes_tile(session: Session) -> None:
    world = published_world(session)
    new = renew(world)
    to_bidding(world, new)
    carry(world, new, "A")
    carry(world, new, "B")
    bid_again(world, new, "C", "0.3000")  # C must fall below the line to keep its place
    bid_again(world, new, "G", "0.5000")  # N = 4, so M = 3 are shortlisted (batch 4–9 table)
    summary = open_and_publish(world, new)
    names = {o.id: k for k, o in world.manufacturers.items()}
    winners = {
        names[a.manufacturer_id]: a.comparable_e4
        for a in session.scalars(select(Award).where(Award.batch_id == new.id))
    }
    assert winners == {"A": e4("0.2000"), "B": e4("0.3600"), "C": e4("0.3000")}
    assert summary.allocations > 0
    assert tiling_problems(world.batch, new) == []
    # Same demand, but three winners instead of four: 70 % of 2,000 instead of 80 % (§1.6), which
    # is below the previous year's volume and so reported (never blocked).
    shortfalls = renewal_volume_shortfalls(session, world.bureau, new.id)
    assert [(s.previous, s.renewed) for s in shortfalls] == [(1600, 1400)]


def test_a_region_whose_renewed_volume_falls_below_the_previous_year_is_reported(session: Session) -> None:
    world = published_world(session)
    new = renew(world)
    to_bidding(world, new, quantity=400)
    carry(world, new, "A")
    carry(world, new, "B")
    open_and_publish(world, new)
    shortfalls = renewal_volume_shortfalls(session, world.bureau, new.id)
    old_regions = session.scalars(
        select(VolumeAllocation.region_code).where(VolumeAllocation.batch_id == world.batch.id).distinct()
    ).all()
    assert sorted(s.region_code for s in shortfalls) == sorted(old_regions)
    assert all(s.renewed < s.previous for s in shortfalls)
    assert "低于上一年度" in str(shortfalls[0])
    old_total = session.scalar(
        select(func.sum(VolumeAllocation.agreed_quantity)).where(VolumeAllocation.batch_id == world.batch.id)
    )
    assert sum(s.previous for s in shortfalls) == old_total


def test_tiling_problems_name_a_gap_and_an_overlap(session: Session) -> None:
    world = published_world(session)
    new = renew(world)
    new.cycle_start_on = date(2027, 5, 3)
    assert tiling_problems(world.batch, new) == ["gap: 2027-04-30 → 2027-05-03"]
    new.cycle_start_on = date(2027, 4, 30)
    assert tiling_problems(world.batch, new) == ["overlap: 2027-04-30 ≤ 2027-04-30"]
    session.expire(new)


def test_a_renewal_keeps_bidding_open_to_non_incumbents(session: Session) -> None:
    world = published_world(session)
    new = renew(world)
    to_bidding(world, new)
    receipt = bid_again(world, new, "G", "0.2500")
    assert receipt.bid.carried_over_award_id is None
    assert receipt.bid.submitted_at == R_DURING_BIDDING
