"""Tendering through the service functions: lifecycle, demand, sealed bids, opening, allocation.

Worked examples from vbp-rules.md §11 (E3–E7, E12) are played end to end here; the pure rule
functions have their own table-driven tests in test_rules.py.
"""

from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bidding import bids, demand, opening, queries, ratings
from bidding.models import (
    Award,
    BatchStatus,
    Bid,
    BidResult,
    BidStatus,
    DosageFormGroup,
    ItemResult,
    RegionAssignment,
    VolumeAllocation,
)
from bidding.sealing import BidContent, SealBroken, receipt_digest
from core.actors import OrgKind
from core.errors import InvalidState, PermissionDenied, RuleViolation, ValidationFailed
from tests.factories import make_org
from tests.tendering import AFTER_DEADLINE, DURING_BIDDING, DURING_DEMAND, T0, TIMELINE, World, e4, make_world


def _bidding(world: World, with_demand: bool = True) -> World:
    hospital = make_org(world.session, OrgKind.HOSPITAL, region_code="510104")
    world.hospitals.append(hospital)
    world.to(BatchStatus.DEMAND_COLLECTION, DURING_DEMAND)
    if with_demand:
        for item in world.items:
            world.report(hospital, item, 1000)
    world.to(BatchStatus.BIDDING, TIMELINE["demand_closes_at"])
    return world


def _winners(session: Session, world: World) -> dict[str, tuple[str, int]]:
    """manufacturer name suffix → (route, winning comparable e4)."""
    names = {org.id: key for key, org in world.manufacturers.items()}
    return {
        names[a.manufacturer_id]: (a.route, a.comparable_e4)
        for a in session.scalars(select(Award).where(Award.batch_id == world.batch.id))
    }


# --- lifecycle ---------------------------------------------------------------------------------


def test_illegal_transition_is_refused(session: Session) -> None:
    world = make_world(session)
    with pytest.raises(InvalidState) as err:
        world.to(BatchStatus.BIDDING, DURING_DEMAND)  # draft → bidding skips demand collection
    assert err.value.code == "illegal_transition"


def test_bidding_cannot_start_while_demand_reporting_is_open(session: Session) -> None:
    world = make_world(session)
    world.to(BatchStatus.DEMAND_COLLECTION, DURING_DEMAND)
    with pytest.raises(RuleViolation) as err:
        world.to(BatchStatus.BIDDING, DURING_DEMAND)
    assert err.value.code == "too_early"


def test_opening_is_refused_before_the_opening_time(session: Session) -> None:
    world = _bidding(make_world(session))
    with pytest.raises(RuleViolation) as err:
        opening.open_bids(
            session,
            world.bureau,
            world.batch.id,
            sealer=__import__("tests.tendering").tendering.SEALER,
            now=TIMELINE["opening_at"] - timedelta(seconds=1),
        )
    assert err.value.code in ("before_opening_time", "too_early")


def test_rules_are_frozen_once_the_batch_leaves_draft(session: Session) -> None:
    from bidding import batches

    world = make_world(session)
    world.to(BatchStatus.DEMAND_COLLECTION, DURING_DEMAND)
    with pytest.raises(InvalidState):
        batches.update_rules(
            session, world.bureau, world.batch.id, overrides={"spread_multiplier": "2"}, now=T0
        )


def test_unknown_rule_parameter_is_named(session: Session) -> None:
    with pytest.raises(ValidationFailed) as err:
        make_world(session, overrides={"spread_multipler": "2"})
    assert "rule_overrides.spread_multipler" in err.value.fields


# --- demand ------------------------------------------------------------------------------------


def test_demand_report_replaces_the_earlier_figure_and_totals_per_region(session: Session) -> None:
    world = make_world(session)
    world.to(BatchStatus.DEMAND_COLLECTION, DURING_DEMAND)
    h1 = make_org(session, OrgKind.HOSPITAL, region_code="510104")
    h2 = make_org(session, OrgKind.HOSPITAL, region_code="510502")
    item = world.items[0]
    world.report(h1, item, 500)
    world.report(h1, item, 700)  # correction
    world.report(h2, item, 300)
    totals = demand.demand_totals(session, world.bureau, world.batch.id)
    assert [(t.region_code, t.hospitals, t.quantity) for t in totals] == [
        ("510100", 1, 700),
        ("510500", 1, 300),
    ]


def test_demand_after_the_deadline_is_refused(session: Session) -> None:
    world = make_world(session)
    world.to(BatchStatus.DEMAND_COLLECTION, DURING_DEMAND)
    hospital = make_org(session, OrgKind.HOSPITAL)
    line = demand.DemandLine(item_id=world.items[0].id, quantity=5)
    with pytest.raises(RuleViolation) as err:
        demand.report_demand(
            session, world.actor(hospital), world.batch.id, lines=[line], now=TIMELINE["demand_closes_at"]
        )
    assert err.value.code == "demand_closed"


def test_bad_demand_lines_write_nothing_and_name_each_line(session: Session) -> None:
    world = make_world(session)
    world.to(BatchStatus.DEMAND_COLLECTION, DURING_DEMAND)
    hospital = make_org(session, OrgKind.HOSPITAL)
    lines = [
        demand.DemandLine(item_id=world.items[0].id, quantity=10),
        demand.DemandLine(item_id=999_999, quantity=10),
        demand.DemandLine(item_id=world.items[0].id, quantity=10, region_code="99"),
    ]
    with pytest.raises(ValidationFailed) as err:
        demand.report_demand(session, world.actor(hospital), world.batch.id, lines=lines, now=DURING_DEMAND)
    assert set(err.value.fields) == {"lines.1.item_id", "lines.2.region_code"}
    assert session.scalars(demand.demand_visible_to(world.bureau)).all() == []


def test_manufacturers_cannot_report_or_read_demand(session: Session) -> None:
    world = make_world(session)
    world.to(BatchStatus.DEMAND_COLLECTION, DURING_DEMAND)
    maker = world.actor(world.manufacturer("A"))
    with pytest.raises(PermissionDenied):
        demand.report_demand(session, maker, world.batch.id, lines=[], now=DURING_DEMAND)
    assert session.scalars(demand.demand_visible_to(maker)).all() == []


# --- sealed bids -------------------------------------------------------------------------------


def test_stored_bid_holds_no_plaintext_price(session: Session) -> None:
    world = _bidding(make_world(session))
    world.bid("A", world.items[0], "0.8765")  # 87.65 yuan per pack of 100
    session.flush()
    row = dict(session.execute(text("SELECT * FROM bids")).mappings().one())
    sealed = bytes(row.pop("sealed"))
    rendered = " ".join(str(v) for k, v in row.items() if k not in ("digest", "public_id"))
    for form in ("0.8765", "87.65", "8765", "876500"):
        assert form not in rendered
        assert form.encode() not in sealed
    assert session.execute(text("SELECT COUNT(*) FROM bid_results")).scalar() == 0


def test_receipt_digest_matches_the_opened_bid(session: Session) -> None:
    world = _bidding(make_world(session))
    receipt = world.bid("A", world.items[0], "0.5000")
    world.open()
    result = session.scalars(select(BidResult).where(BidResult.bid_id == receipt.bid.id)).one()
    bid = receipt.bid
    content = BidContent(
        bid.public_id,
        bid.batch_id,
        bid.item_id,
        bid.manufacturer_id,
        bid.product_id,
        result.pack_price_fen,
        bid.accepts_revival,
        bid.submitted_at,
    )
    assert receipt_digest(content, receipt.salt, bid.suite) == receipt.digest == bid.digest
    assert result.pack_price_fen == 5000


def test_tampered_ciphertext_is_detected_at_opening(session: Session) -> None:
    world = _bidding(make_world(session))
    receipt = world.bid("A", world.items[0], "0.5000")
    blob = bytearray(receipt.bid.sealed)
    blob[-1] ^= 0x01
    session.execute(
        text("UPDATE bids SET sealed = :b WHERE id = :i"), {"b": bytes(blob), "i": receipt.bid.id}
    )
    session.expire_all()
    with pytest.raises(SealBroken):
        world.open()


def test_resubmission_replaces_and_withdrawal_removes_the_bid(session: Session) -> None:
    world = _bidding(make_world(session))
    item = world.items[0]
    first = world.bid("A", item, "0.6000")
    second = world.bid("A", item, "0.5500", product_id=first.bid.product_id)
    assert session.get(Bid, first.bid.id).status is BidStatus.REPLACED
    bids.withdraw_bid(session, world.actor(world.manufacturer("A")), second.bid.id, now=DURING_BIDDING)
    assert session.get(Bid, second.bid.id).status is BidStatus.WITHDRAWN
    summary = world.open()
    assert summary.bids == 0


def test_late_bid_is_refused(session: Session) -> None:
    world = _bidding(make_world(session))
    with pytest.raises(RuleViolation) as err:
        world.bid("A", world.items[0], "0.5000", now=TIMELINE["bid_closes_at"])
    assert err.value.code == "bid_after_deadline"


def test_bid_above_the_ceiling_is_refused_at_submission(session: Session) -> None:
    world = _bidding(make_world(session))
    with pytest.raises(RuleViolation) as err:
        world.bid("G", world.items[0], "1.0001")  # > ceiling 1.0000 by one ten-thousandth
    assert err.value.code == "above_ceiling"
    assert "pack_price" in err.value.fields


def test_non_evaluated_generic_cannot_bid(session: Session) -> None:
    world = _bidding(make_world(session))
    item = world.items[0]
    product = world.product("A", item, consistency_evaluated=False)
    with pytest.raises(RuleViolation) as err:
        world.bid("A", item, "0.5000", product_id=product)
    assert err.value.code == "not_eligible_product"


def test_bid_for_another_makers_product_is_refused(session: Session) -> None:
    world = _bidding(make_world(session))
    item = world.items[0]
    product_of_b = world.product("B", item)
    with pytest.raises(RuleViolation) as err:
        world.bid("A", item, "0.5000", product_id=product_of_b)
    assert err.value.code == "not_mah"


def test_particularly_serious_credit_rating_blocks_the_bid_e12(session: Session) -> None:
    world = _bidding(make_world(session))
    item = world.items[0]
    maker = world.manufacturer("A")
    product = world.product("A", item)
    rating = ratings.record_rating(
        session,
        world.bureau,
        enterprise_id=maker.id,
        province_code="510000",
        cause="bribery",
        amount_fen=1_000_000_00,
        product_ids=[product],
        effective_on=T0.date(),
        now=T0,
    )
    assert rating.grade == "particularly_serious"  # 100万 edge → the higher grade (§7.2)
    with pytest.raises(RuleViolation) as err:
        world.bid("A", item, "0.5000", product_id=product)
    assert err.value.code == "credit_blocked"


def test_bids_are_visible_only_to_their_maker_and_the_bureau(session: Session) -> None:
    world = _bidding(make_world(session))
    receipt = world.bid("A", world.items[0], "0.5000")
    b_actor = world.actor(world.manufacturer("B"))
    hospital_actor = world.actor(world.hospitals[0])
    assert session.scalars(bids.bids_visible_to(b_actor)).all() == []
    assert session.scalars(bids.bids_visible_to(hospital_actor)).all() == []
    assert [b.id for b in session.scalars(bids.bids_visible_to(world.bureau))] == [receipt.bid.id]


def test_results_hide_prices_until_published_except_from_the_bureau(session: Session) -> None:
    world = _bidding(make_world(session))
    world.bid("A", world.items[0], "0.5000")
    maker = world.actor(world.manufacturer("A"))
    assert queries.results_for(session, world.bureau, world.batch.id).bids == []
    world.open()
    assert queries.results_for(session, maker, world.batch.id).awards == []
    assert len(queries.results_for(session, world.bureau, world.batch.id).bids) == 1
    opening.publish_results(
        session, world.bureau, world.batch.id, now=AFTER_DEADLINE + timedelta(days=1), days=0
    )
    assert len(queries.results_for(session, maker, world.batch.id).awards) == 1
    hospital = world.actor(world.hospitals[0])
    published = queries.results_for(session, hospital, world.batch.id)
    assert (len(published.awards), published.bids) == (1, [])


# --- opening: the worked examples --------------------------------------------------------------

E3_BIDS = {"A": "0.2000", "B": "0.3600", "C": "0.4800", "D": "0.5000", "E": "0.5001", "F": "0.9000"}


def test_e3_batch_4_9_three_routes(session: Session) -> None:
    world = _bidding(make_world(session, rule_version="batch_4_9"))
    for name, price in E3_BIDS.items():
        world.bid(name, world.items[0], price)
    world.open()
    assert _winners(session, world) == {
        "A": ("spread", e4("0.2000")),
        "B": ("spread", e4("0.3600")),
        "C": ("half_ceiling", e4("0.4800")),
        "D": ("half_ceiling", e4("0.5000")),
    }
    result = session.scalars(select(ItemResult)).one()
    assert (result.eligible_bidders, result.max_shortlisted, result.lowest_e4) == (6, 4, e4("0.2000"))


def test_e3_batch_10_revives_c_at_the_highest_rule_one_price(session: Session) -> None:
    world = _bidding(make_world(session, rule_version="batch_10"))
    for name, price in E3_BIDS.items():
        world.bid(name, world.items[0], price)
    world.open()
    assert _winners(session, world) == {
        "A": ("spread", e4("0.2000")),
        "B": ("spread", e4("0.3600")),
        "C": ("shortlist_revival", e4("0.3600")),
    }
    award_c = session.scalars(select(Award).where(Award.manufacturer_id == world.manufacturer("C").id)).one()
    assert (award_c.unit_price_e4, award_c.pack_price_fen) == (e4("0.3600"), 3600)


def test_e4_batch_11_anchor_fuse_and_revival(session: Session) -> None:
    world = _bidding(
        make_world(
            session,
            rule_version="batch_11",
            items=({"dosage_form_group": DosageFormGroup.INJECTION_SMALL, "ceiling_e4": e4("0.9000")},),
        )
    )
    # F, G, H make N = 8, so the batch-10 table shortlists five (M = 5), as E4 assumes.
    prices = {
        "A": "0.1000",
        "B": "0.4000",
        "C": "0.4500",
        "D": "0.5000",
        "E": "0.5500",
        "F": "0.8000",
        "G": "0.8500",
        "H": "0.8800",
    }
    for name, price in prices.items():
        world.bid(name, world.items[0], price, accepts_revival=name != "E")
    world.open()
    result = session.scalars(select(ItemResult)).one()
    assert (result.anchor_e4, result.fuse_line_e4, result.revival_price_e4) == (
        e4("0.20"),
        e4("0.36"),
        e4("0.36"),
    )
    assert _winners(session, world) == {
        "A": ("spread", e4("0.1000")),
        "B": ("shortlist_revival", e4("0.3600")),
        "C": ("shortlist_revival", e4("0.3600")),
        "D": ("shortlist_revival", e4("0.3600")),
    }


def test_e5_non_shortlisted_brand_revives_without_picking_regions(session: Session) -> None:
    world = make_world(session, rule_version="batch_11", items=({"ceiling_e4": e4("0.9000")},))
    item = world.items[0]
    # N = 8 → M = 5 (batch-10 table): A–E shortlisted as in E5; X, Y, Z not.
    prices = {
        "A": "0.3000",
        "B": "0.3500",
        "C": "0.5000",
        "D": "0.5600",
        "E": "0.6000",
        "X": "0.7000",
        "Y": "0.8000",
        "Z": "0.8500",
    }
    products = {name: world.product(name, item) for name in prices}
    hospital = make_org(session, OrgKind.HOSPITAL, region_code="510104")
    world.to(BatchStatus.DEMAND_COLLECTION, DURING_DEMAND)
    world.report(hospital, item, 120_000, brand_product_id=products["X"])
    world.report(hospital, item, 80_000, brand_product_id=products["A"])
    world.report(hospital, item, 50_000)
    world.to(BatchStatus.BIDDING, TIMELINE["demand_closes_at"])
    for name, price in prices.items():
        world.bid(name, item, price, product_id=products[name])
    world.open()
    awards = {a.manufacturer_id: a for a in session.scalars(select(Award))}
    x = awards[world.manufacturer("X").id]
    assert (x.route, x.picks_regions) == ("non_shortlist_revival", False)
    assert opening.rederive_item(session, item.id) == []  # reproducible from the stored record
    assert {n for n in "YZ" if world.manufacturer(n).id in awards} == set()  # no brand volume / the highest
    assert {world.manufacturer(n).id for n in "DE"} <= set(awards)  # fused, revived at 0.50
    assert awards[world.manufacturer("D").id].comparable_e4 == e4("0.5000")
    # X's brand volume goes to X; generic volume to the region's primary supplier (A, rank 1).
    allocations = {
        (a.award_id, a.brand_specific): a.agreed_quantity for a in session.scalars(select(VolumeAllocation))
    }
    assert allocations[(x.id, True)] == 96_000  # 120,000 × 80 % (≥ 4 winners)
    assert sum(allocations.values()) == 200_000  # 250,000 × 80 %


def test_e6_agreed_volume_is_rounded_per_region_then_summed(session: Session) -> None:
    world = make_world(session, rule_version="batch_4_9")
    item = world.items[0]
    world.to(BatchStatus.DEMAND_COLLECTION, DURING_DEMAND)
    bases = {"510100": 100_001, "510300": 200_001, "510500": 296_325}
    for region, qty in bases.items():
        world.report(make_org(session, OrgKind.HOSPITAL, region_code=region[:4] + "02"), item, qty)
    world.to(BatchStatus.BIDDING, TIMELINE["demand_closes_at"])
    world.bid("A", item, "0.5000")  # a single winner: 50 %
    world.open()
    per_region = {a.region_code: a.agreed_quantity for a in session.scalars(select(VolumeAllocation))}
    assert per_region == {"510100": 50_001, "510300": 100_001, "510500": 148_163}
    assert sum(per_region.values()) == 298_165
    assert session.scalars(select(ItemResult.volume_ratio)).one() in ("0.5", "0.50")


def test_hospital_shares_of_a_region_sum_to_the_rounded_region_figure(session: Session) -> None:
    world = make_world(session, rule_version="batch_4_9")
    item = world.items[0]
    world.to(BatchStatus.DEMAND_COLLECTION, DURING_DEMAND)
    for qty in (3, 3, 3):  # 9 × 50 % = 4.5 → 5 for the region; 1.5 each → 2, 2, 1 by largest remainder
        world.report(make_org(session, OrgKind.HOSPITAL, region_code="510104"), item, qty)
    world.to(BatchStatus.BIDDING, TIMELINE["demand_closes_at"])
    world.bid("A", item, "0.5000")
    world.open()
    shares = sorted(a.agreed_quantity for a in session.scalars(select(VolumeAllocation)))
    assert shares == [1, 2, 2]


def test_e7_regions_are_picked_in_rounds_by_rank(session: Session) -> None:
    world = make_world(session, rule_version="batch_4_9", overrides={"shared_backup_regions": True})
    item = world.items[0]
    world.to(BatchStatus.DEMAND_COLLECTION, DURING_DEMAND)
    regions = {"510100": 500, "510300": 400, "510400": 300, "510500": 200, "510600": 100}  # P1..P5
    for region, qty in regions.items():
        world.report(make_org(session, OrgKind.HOSPITAL, region_code=region[:4] + "02"), item, qty)
    world.to(BatchStatus.BIDDING, TIMELINE["demand_closes_at"])
    # D makes N = 4, so the batch-9 table shortlists three (M = 3); D itself wins by no route.
    for name, price in {"A": "0.3000", "B": "0.3200", "C": "0.3400", "D": "0.9000"}.items():
        world.bid(name, item, price)
    world.open()
    names = {world.manufacturer(n).id: n for n in "ABC"}
    award_maker = {a.id: names[a.manufacturer_id] for a in session.scalars(select(Award))}
    picks: dict[str, dict[str, list[str]]] = {"primary": {}, "backup": {}}
    for ra in session.scalars(select(RegionAssignment).order_by(RegionAssignment.region_code)):
        picks[ra.kind].setdefault(award_maker[ra.award_id], []).append(ra.region_code)
    assert picks["primary"] == {"A": ["510100", "510500"], "B": ["510300", "510600"], "C": ["510400"]}
    assert picks["backup"] == {"A": ["510300"], "B": ["510100"], "C": ["510100"]}
    log = session.scalars(select(ItemResult.allocation_log)).one()
    assert log  # the pick order is recorded for the audit trail


def test_a_changed_stored_input_makes_the_rederivation_disagree(session: Session) -> None:
    world = _bidding(make_world(session, rule_version="batch_4_9"))
    for name, price in E3_BIDS.items():
        world.bid(name, world.items[0], price)
    world.open()
    assert opening.rederive_item(session, world.items[0].id) == []
    c = session.scalars(
        select(BidResult).where(BidResult.manufacturer_id == world.manufacturer("C").id)
    ).one()
    c.comparable_e4 = e4("0.5200")  # someone edits the opening record
    session.flush()
    assert opening.rederive_item(session, world.items[0].id) != []
