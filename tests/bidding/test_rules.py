"""The pure selection rules, table-driven, with every worked example of vbp-rules.md §11."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from bidding import rules
from bidding.rules import BidInput, Route, RuleSet, TieBreaker

T = datetime(2026, 3, 9, tzinfo=UTC)


def e4(text: str) -> int:
    return int(Decimal(text) * 10_000)


def bids(prices: dict[str, str], **kw: object) -> list[BidInput]:
    return [
        BidInput(key=k, bidder=k, unit_comparable_e4=e4(p), submitted_at=T, **kw) for k, p in prices.items()
    ]  # type: ignore[arg-type]


def select(
    prices: dict[str, str],
    version: str,
    *,
    ceiling: str = "1.0000",
    group: str = "oral_solid",
    ruleset: RuleSet | None = None,
    inputs: list[BidInput] | None = None,
) -> rules.SelectionResult:
    return rules.select_winners(
        inputs or bids(prices),
        ceiling_e4=e4(ceiling),
        rules=ruleset or rules.preset(version),
        dosage_form_group=group,
    )


def won(result: rules.SelectionResult) -> dict[str, tuple[str, str]]:
    return {
        d.key: (d.route.value, f"{Decimal(d.winning_price_e4) / 10_000:.4f}")
        for d in result.winners
        if d.route
    }


# --- E1, E2: price ratios ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit_price", "spec", "expected"),
    [
        ("0.8500", "20", "0.5000"),
        ("0.3000", "5", "0.5100"),
        ("0.9500", "30", "0.4097"),
        ("0.5200", "10", "0.5200"),
    ],
)
def test_e1_unit_comparable_price_by_content_ratio(unit_price: str, spec: str, expected: str) -> None:
    got = rules.unit_comparable_e4(
        e4(unit_price),
        spec_quantity=Decimal(spec),
        representative_quantity=Decimal("10"),
        coefficient=Decimal("1.7"),
    )
    assert got == e4(expected)


def test_e1_ranking_after_conversion_is_30mg_20mg_5mg() -> None:
    comparable = {
        spec: rules.unit_comparable_e4(
            e4(p),
            spec_quantity=Decimal(spec),
            representative_quantity=Decimal(10),
            coefficient=Decimal("1.7"),
        )
        for spec, p in {"20": "0.8500", "5": "0.3000", "30": "0.9500"}.items()
    }
    assert sorted(comparable, key=comparable.__getitem__) == ["30", "20", "5"]


@pytest.mark.parametrize(
    ("coefficient", "x", "k"),
    [
        ("1.7", "2", "1.7"),
        ("1.7", "0.5", "0.588235"),
        ("1.7", "3", "2.318745"),
        ("1.9", "2", "1.9"),
        ("1.9", "3", "2.765757"),
    ],
)
def test_price_ratio_k_is_c_to_the_log2_x(coefficient: str, x: str, k: str) -> None:
    assert rules.price_ratio_k(Decimal(coefficient), Decimal(x)).quantize(Decimal("0.000001")) == Decimal(k)


def test_e2_pack_count_caps() -> None:
    assert rules.pack_count_cap_fen(688, rep_count=24, count=48) == 1342  # 6.88 × 1.95 = 13.416 → 13.42
    assert rules.pack_count_cap_fen(688, rep_count=24, count=12) == 353  # 6.88 × 0.512821 → 3.53
    assert rules.breaches_pack_count_cap(1350, 688, rep_count=24, count=48)  # 13.50 > 13.42 (linear: 13.76)
    assert not rules.breaches_pack_count_cap(1342, 688, rep_count=24, count=48)


# --- E3: batches 4–9 and 10 -------------------------------------------------------------------------

E3 = {"A": "0.2000", "B": "0.3600", "C": "0.4800", "D": "0.5000", "E": "0.5001", "F": "0.9000", "G": "1.0001"}


def test_e3_batch_4_9_three_routes_and_invalid_g() -> None:
    result = select(E3, "batch_4_9")
    assert (result.eligible_bidders, result.max_shortlisted) == (6, 4)
    assert won(result) == {
        "A": ("spread", "0.2000"),
        "B": ("spread", "0.3600"),
        "C": ("half_ceiling", "0.4800"),
        "D": ("half_ceiling", "0.5000"),
    }
    g = next(d for d in result.decisions if d.key == "G")
    assert (g.valid, g.invalid_reason, g.rank) == (False, "above_ceiling", None)
    e = next(d for d in result.decisions if d.key == "E")
    assert (e.shortlisted, e.won) == (False, False)


def test_e3_counting_invalid_bids_in_n_is_configurable() -> None:
    ruleset = RuleSet.from_dict({**rules.preset("batch_4_9").to_dict(), "count_invalid_in_n": True})
    assert select(E3, "", ruleset=ruleset).max_shortlisted == 5  # N = 7 → M = 5 (batch-9 table)


def test_e3_batch_10_revives_c_at_the_highest_rule_one_price() -> None:
    result = select(E3, "batch_10")
    assert result.max_shortlisted == 3
    assert won(result) == {
        "A": ("spread", "0.2000"),
        "B": ("spread", "0.3600"),
        "C": ("shortlist_revival", "0.3600"),
    }
    assert result.revival_price_e4 == e4("0.3600")


def test_e3_ten_fen_route() -> None:
    result = select({"L": "0.0300", "M": "0.0900", "N": "0.9000", "O": "0.9500"}, "batch_4_9")
    assert won(result)["M"] == ("low_price_exemption", "0.0900")  # 0.09 > 1.8 × 0.03 but ≤ 0.10


def test_batch_10_single_rule_one_winner_revival_is_multiplier_times_its_price() -> None:
    result = select(
        {"A": "0.1000", "B": "0.5000", "C": "0.6000", "D": "0.7000"}, "batch_10", group="injection_small"
    )
    assert result.revival_price_e4 == e4("0.1800")
    assert won(result) == {
        "A": ("spread", "0.1000"),
        "B": ("shortlist_revival", "0.1800"),
        "C": ("shortlist_revival", "0.1800"),
    }


def test_a_bidder_that_declines_revival_does_not_win() -> None:
    inputs = [
        *bids({"A": "0.2000", "B": "0.3600"}),
        BidInput(key="C", bidder="C", unit_comparable_e4=e4("0.4800"), submitted_at=T, accepts_revival=False),
        BidInput(key="D", bidder="D", unit_comparable_e4=e4("0.9000"), submitted_at=T),
    ]
    result = select({}, "batch_10", inputs=inputs)
    assert set(won(result)) == {"A", "B"}


# --- E4, E5: batch 11 ----------------------------------------------------------------------------


def test_e4_anchor_is_half_the_shortlisted_mean_and_revival_is_line_price() -> None:
    # Three high bids make N = 8, so the batch-10 table shortlists the five prices of E4.
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
    result = select(prices, "batch_11", group="injection_small")
    assert (result.anchor_e4, result.fuse_line_e4, result.revival_price_e4) == (
        e4("0.20"),
        e4("0.36"),
        e4("0.36"),
    )
    assert [d.key for d in result.decisions if d.fused] == ["B", "C", "D", "E"]
    assert won(result) == {"A": ("spread", "0.1000"), **{k: ("shortlist_revival", "0.3600") for k in "BCDE"}}
    batch_10 = select(prices, "batch_10", group="injection_small")
    assert (batch_10.anchor_e4, batch_10.revival_price_e4) == (e4("0.1000"), e4("0.1800"))  # half of batch 11


def test_e5_normal_anchor_and_non_shortlist_revival() -> None:
    inputs = bids({"A": "0.3000", "B": "0.3500", "C": "0.5000", "D": "0.5600", "E": "0.6000", "Y": "0.8000"})
    inputs += [
        BidInput(key="X", bidder="X", unit_comparable_e4=e4("0.7000"), submitted_at=T, brand_volume=120_000),
        BidInput(key="W", bidder="W", unit_comparable_e4=e4("0.7500"), submitted_at=T, brand_volume=80_000),
    ]
    result = select({}, "batch_11", inputs=inputs)
    assert (result.anchor_e4, result.fuse_line_e4, result.revival_price_e4) == (
        e4("0.30"),
        e4("0.54"),
        e4("0.50"),
    )
    decisions = {d.key: d for d in result.decisions}
    assert (decisions["X"].route, decisions["X"].winning_price_e4, decisions["X"].picks_regions) == (
        Route.NON_SHORTLIST_REVIVAL,
        e4("0.5000"),
        False,
    )
    assert not decisions["W"].won  # brand volume 80,000 < average 100,000
    assert not decisions["Y"].won  # no brand volume (and the highest bid)
    assert {k for k in "DE" if decisions[k].route is Route.SHORTLIST_REVIVAL} == {"D", "E"}


def test_batch_11_oral_solid_at_ten_fen_is_not_fused() -> None:
    # Shortlist .03 .09 .10: anchor = max(.03, .5 × .0733) = .0367, line .066 → B and C exempt.
    result = select({"A": "0.0300", "B": "0.0900", "C": "0.1000", "D": "0.9000"}, "batch_11")
    assert won(result) == {
        "A": ("spread", "0.0300"),
        "B": ("low_price_exemption", "0.0900"),
        "C": ("low_price_exemption", "0.1000"),
    }
    injection = select(
        {"A": "0.0300", "B": "0.0900", "C": "0.1000", "D": "0.9000"}, "batch_11", group="injection_small"
    )
    assert {k: v[0] for k, v in won(injection).items()} == {
        "A": "spread",
        "B": "shortlist_revival",
        "C": "shortlist_revival",
    }


# --- ties, tables, edges ---------------------------------------------------------------------------


def test_ties_are_broken_by_the_configured_order_and_recorded() -> None:
    inputs = [
        BidInput(
            key="late-ref",
            bidder="1",
            unit_comparable_e4=5000,
            submitted_at=T + timedelta(hours=1),
            reference_listed=True,
        ),
        BidInput(key="early", bidder="2", unit_comparable_e4=5000, submitted_at=T),
        BidInput(key="late", bidder="3", unit_comparable_e4=5000, submitted_at=T + timedelta(hours=2)),
        BidInput(key="other", bidder="4", unit_comparable_e4=6000, submitted_at=T),
    ]
    result = select({}, "batch_4_9", inputs=inputs)
    ranks = {d.key: (d.rank, d.tie_breaker) for d in result.decisions}
    assert ranks["late-ref"] == (1, "reference_listed")
    assert ranks["early"][0] == 2
    assert ranks["late"] == (3, "submitted_at")
    assert ranks["other"] == (4, None)
    only_time = RuleSet.from_dict(
        {**rules.preset("batch_4_9").to_dict(), "tie_breakers": [TieBreaker.SUBMITTED_AT]}
    )
    assert (
        next(d for d in select({}, "", inputs=inputs, ruleset=only_time).decisions if d.rank == 1).key
        == "early"
    )


@pytest.mark.parametrize(
    ("n", "batch_9", "batch_10"),
    [(1, 1, 1), (3, 2, 2), (6, 4, 3), (8, 6, 5), (15, 10, 9), (16, 10, 10), (40, 10, 10)],
)
def test_shortlist_tables(n: int, batch_9: int, batch_10: int) -> None:
    assert rules.preset("batch_4_9").max_shortlisted(n) == batch_9
    assert rules.preset("batch_10").max_shortlisted(n) == batch_10


def test_no_valid_bids_means_no_winner() -> None:
    result = select({"A": "1.2000"}, "batch_11")
    assert (result.winners, result.lowest_e4, result.eligible_bidders) == ([], None, 0)


@pytest.mark.parametrize("version", ["batch_4_9", "batch_10", "batch_11"])
def test_every_batch_4_9_style_winner_meets_a_route_with_other_numbers(version: str) -> None:
    prices = {f"P{i}": f"0.{i * 7 % 90 + 10:02d}00" for i in range(1, 14)}
    result = select(prices, version)
    for d in result.winners:
        p = d.winning_price_e4
        assert (
            p * 10 <= 18 * (result.anchor_e4 or 0) + 10  # within the line (rounding of a published anchor)
            or p <= 1000
            or (version == "batch_4_9" and 2 * p <= 10_000)
            or d.route in (Route.SHORTLIST_REVIVAL, Route.NON_SHORTLIST_REVIVAL)
        )


def test_rule_set_round_trips_through_json_and_rejects_bad_parameters() -> None:
    for name in rules.preset_names():
        ruleset = rules.preset(name)
        assert RuleSet.from_dict(ruleset.to_dict()) == ruleset
    with pytest.raises(TypeError):
        RuleSet.from_dict({**rules.preset("batch_10").to_dict(), "spread_multiplier": 1.8})  # float refused
    with pytest.raises(ValueError, match="shortlist_table"):
        RuleSet.from_dict({**rules.preset("batch_10").to_dict(), "shortlist_table": [3, 2]})


# --- E6, E7: volumes and regions ---------------------------------------------------------------


def test_e6_per_region_rounding() -> None:
    bases = {"R1": 100_001, "R2": 200_001, "R3": 296_325}
    one = rules.agreed_volume_by_region(bases, rules.preset("batch_4_9").volume_ratio_for(1))
    assert one == {"R1": 50_001, "R2": 100_001, "R3": 148_163}
    assert sum(one.values()) == 298_165
    four = rules.agreed_volume_by_region(bases, rules.preset("batch_4_9").volume_ratio_for(6))
    assert sum(four.values()) == 477_062
    assert rules.completion_pct(10_000, 11_500) == Decimal("115.00")


def test_e7_round_robin_with_shared_backups() -> None:
    volumes = {"P1": 500, "P2": 400, "P3": 300, "P4": 200, "P5": 100}
    result = rules.allocate_regions(["A", "B", "C"], volumes, rules.preset("batch_4_9"))
    assert result.primary == {"A": ["P1", "P4"], "B": ["P2", "P5"], "C": ["P3"]}
    assert result.backup == {"A": ["P2"], "B": ["P1"], "C": ["P1"]}
    assert [(e["round"], e["winner"], e["region"]) for e in result.log if e["kind"] == "primary"] == [
        (1, "A", "P1"),
        (1, "B", "P2"),
        (1, "C", "P3"),
        (2, "A", "P4"),
        (2, "B", "P5"),
    ]


def test_unshared_backups_and_single_winner_and_seeded_draw() -> None:
    volumes = {"P1": 500, "P2": 400, "P3": 300, "P4": 200, "P5": 100}
    unshared = RuleSet.from_dict({**rules.preset("batch_4_9").to_dict(), "shared_backup_regions": False})
    assert rules.allocate_regions(["A", "B", "C"], volumes, unshared).backup == {
        "A": ["P2"],
        "B": ["P1"],
        "C": ["P4"],
    }
    single = rules.allocate_regions(["A"], volumes, rules.preset("batch_4_9"))
    assert (single.primary, single.backup) == ({"A": sorted(volumes)}, {"A": []})
    drawn = RuleSet.from_dict(
        {**rules.preset("batch_4_9").to_dict(), "allocation_strategy": "seeded_random", "allocation_seed": 7}
    )
    first = rules.allocate_regions(["A", "B"], volumes, drawn)
    assert first == rules.allocate_regions(["A", "B"], volumes, drawn)  # reproducible from the recorded seed
    assert sorted(r for rs in first.primary.values() for r in rs) == sorted(volumes)
