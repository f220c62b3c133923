"""Pure VBP selection rules: rule sets per batch, price ratios, winner selection, agreed volume,
region allocation. No database, no I/O; every number cites vbp-rules.md.

Prices are integers in yuan×10⁴ ("e4", core.money). Thresholds are compared exactly (Decimal, no
rounding); only published values (anchor, fuse line, revival price) are rounded half-up to 4 dp.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import itertools
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, localcontext
from typing import Any

from core.money import E4, MoneyError, parse_decimal, quantize

# --- rule sets -----------------------------------------------------------------------------------


class AnchorRule(enum.StrEnum):
    LOWEST = "lowest"  #: batches 4–10: the lowest unit comparable price (§1.5.2, §1.5.3)
    MAX_LOWEST_HALF_MEAN = "max_lowest_half_mean"  #: batch 11: max(lowest, 0.5 × mean(shortlist)) (§1.5.4)
    MAX_LOWEST_MEAN_MINUS_SIGMA = "max_lowest_mean_minus_sigma"  #: batch 12 (reported, UNVERIFIED, §1.5.5)


class TieBreaker(enum.StrEnum):
    REFERENCE_LISTED = "reference_listed"  #: originator / reference-listed first
    CONSISTENCY_EVALUATED = "consistency_evaluated"  #: passed consistency evaluation first
    SUBMITTED_AT = "submitted_at"  #: earlier submission first
    LOTTERY = "lottery"  #: seeded draw (seed recorded with the rule set)


class AllocationStrategy(enum.StrEnum):
    LARGEST_REMAINING = "largest_remaining"  #: each winner takes the largest region left (E7)
    SEEDED_RANDOM = "seeded_random"  #: draw by lot with a recorded seed (batches 2–6, §1.7)


class RenewalCeiling(enum.StrEnum):
    """Ceiling of a renewed item (续标), from the expiring batch."""

    HIGHEST_WINNING = "highest_winning"  #: the highest winning unit comparable price
    LOWEST_WINNING = "lowest_winning"  #: the lowest winning unit comparable price
    ORIGINAL = "original"  #: the expiring batch's own ceiling


class CarryOver(enum.StrEnum):
    """Which incumbents of an expiring batch may carry their price over into its renewal."""

    ALL = "all"
    NONE = "none"
    WITHIN_SPREAD = "within_spread"  #: price ≤ spread_multiplier × the item's lowest winning price


class Route(enum.StrEnum):
    SPREAD = "spread"  #: ≤ multiplier × anchor
    LOW_PRICE_EXEMPTION = "low_price_exemption"  #: ≤ the dosage form's low-price threshold
    HALF_CEILING = "half_ceiling"  #: cut ≥ 50 % vs the ceiling (batches 4–9 only)
    SHORTLIST_REVIVAL = "shortlist_revival"  #: 入围复活 at the revival price
    NON_SHORTLIST_REVIVAL = "non_shortlist_revival"  #: 未入围复活 (batch 11), no region pick


#: Shortlist cap M by eligible bidders N (vbp-rules.md §1.5.2, S4 ChemLinked, batches 9 and 10).
BATCH_9_TABLE = (1, 2, 2, 3, 4, 4, 5, 6, 7, 8, 9, 9, 10, 10, 10, 10)
BATCH_10_TABLE = (1, 2, 2, 3, 3, 3, 4, 5, 6, 6, 7, 8, 8, 9, 9, 10)
#: Agreed-volume ratio by winner count, batch 7 "for most chemical drugs" (§1.6, S15).
BATCH_7_VOLUME_RATIOS = {1: Decimal("0.50"), 2: Decimal("0.60"), 3: Decimal("0.70"), 4: Decimal("0.80")}
#: 2011 《药品差比价规则》 coefficients (§1.4; UNVERIFIED wording, well-known values).
PRICE_RATIO_COEFFICIENTS = {
    "content": Decimal("1.7"),
    "fill_volume": Decimal("1.9"),
    "pack_count": Decimal("1.95"),
}


@dataclass(frozen=True)
class RuleSet:
    """Every parameter of a batch's selection rules, stored with the batch (to_dict/from_dict)."""

    version: str
    shortlist_table: tuple[int, ...]
    count_invalid_in_n: bool = False  #: E3: validity is checked first, invalid bids are not in N
    spread_multiplier: Decimal = Decimal("1.8")  #: §1.5.2–§1.5.4
    anchor_rule: AnchorRule = AnchorRule.LOWEST
    anchor_mean_share: Decimal = Decimal("0.5")  #: batch 11: 50 % of the shortlisted mean
    #: Dosage-form group → low-price threshold in yuan per unit; "*" = every form.
    low_price_exemptions: Mapping[str, Decimal] = field(default_factory=dict)
    half_ceiling_route: bool = False
    revival: bool = False
    non_shortlist_revival: bool = False
    volume_ratio_table: Mapping[int, Decimal] = field(default_factory=lambda: dict(BATCH_7_VOLUME_RATIOS))
    tie_breakers: tuple[TieBreaker, ...] = (TieBreaker.REFERENCE_LISTED, TieBreaker.SUBMITTED_AT)
    lottery_seed: int = 0
    price_ratio_coefficients: Mapping[str, Decimal] = field(
        default_factory=lambda: dict(PRICE_RATIO_COEFFICIENTS)
    )
    backup_regions: bool = True
    shared_backup_regions: bool = True  #: E7: backup regions may be shared (configurable)
    allocation_strategy: AllocationStrategy = AllocationStrategy.LARGEST_REMAINING
    allocation_seed: int = 0
    # Renewal (续标, supervision-and-interop.md §10): no national formula was found, so these are
    # per-batch parameters; they matter only for a batch that renews another (bidding/renewal.py).
    #: Ceiling of a renewed item: by default the expiring batch's winning price (its highest
    #: winning unit comparable price, so no incumbent is priced out), or its lowest, or the
    #: expiring batch's own ceiling.
    renewal_ceiling: RenewalCeiling = RenewalCeiling.HIGHEST_WINNING
    #: Which incumbents may carry over their expiring price instead of bidding again: all, none,
    #: or those within `spread_multiplier` × the item's lowest expiring winning price (the same
    #: "too high" line the selection draws; higher prices must fall, §10 "too high keep falling").
    renewal_carry_over: CarryOver = CarryOver.WITHIN_SPREAD
    #: Days the proposed results are shown for objections (公示期) in this batch; None = the
    #: platform's setting (VBP_PUBLICITY_DAYS). Yunnan used 7 days (supervision-and-interop.md §8).
    publicity_days: int | None = None

    def max_shortlisted(self, n: int) -> int:
        """M for N eligible bidders; beyond the table its last value applies."""
        if n <= 0:
            return 0
        return self.shortlist_table[min(n, len(self.shortlist_table)) - 1]

    def volume_ratio_for(self, winner_count: int) -> Decimal:
        """Agreed-volume ratio for the number of winners (the largest key covers 'or more')."""
        if winner_count <= 0:
            return Decimal(0)
        keys = sorted(self.volume_ratio_table)
        return self.volume_ratio_table[
            max(k for k in keys if k <= winner_count) if winner_count >= keys[0] else keys[0]
        ]

    def exemption_e4(self, dosage_form_group: str) -> int | None:
        threshold = self.low_price_exemptions.get(dosage_form_group, self.low_price_exemptions.get("*"))
        return None if threshold is None else int(threshold * 10_000)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: Decimals as strings, enums as values."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, Decimal):
                value = str(value)
            elif isinstance(value, enum.Enum):
                value = value.value
            elif isinstance(value, Mapping):
                value = {str(k): str(v) for k, v in value.items()}
            elif isinstance(value, tuple):
                value = [v.value if isinstance(v, enum.Enum) else v for v in value]
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RuleSet:
        """Inverse of to_dict; raises ValueError/TypeError/KeyError on a malformed parameter."""
        unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise KeyError(f"unknown rule parameters: {sorted(unknown)}")
        d = dict(data)
        table = tuple(int(x) for x in d["shortlist_table"])
        if not table or any(x < 1 for x in table) or list(table) != sorted(table):
            raise ValueError("shortlist_table must be a non-decreasing list of positive integers")
        d["shortlist_table"] = table
        for name in ("spread_multiplier", "anchor_mean_share"):
            if name in d:
                d[name] = _positive_decimal(d[name], name)
        if "anchor_rule" in d:
            d["anchor_rule"] = AnchorRule(d["anchor_rule"])
        if "renewal_ceiling" in d:
            d["renewal_ceiling"] = RenewalCeiling(d["renewal_ceiling"])
        if "renewal_carry_over" in d:
            d["renewal_carry_over"] = CarryOver(d["renewal_carry_over"])
        if "allocation_strategy" in d:
            d["allocation_strategy"] = AllocationStrategy(d["allocation_strategy"])
        if "tie_breakers" in d:
            d["tie_breakers"] = tuple(TieBreaker(t) for t in d["tie_breakers"])
        if "low_price_exemptions" in d:
            d["low_price_exemptions"] = {
                str(k): _positive_decimal(v, k) for k, v in d["low_price_exemptions"].items()
            }
        if "volume_ratio_table" in d:
            ratios = {
                int(k): _positive_decimal(v, f"volume_ratio_table.{k}")
                for k, v in d["volume_ratio_table"].items()
            }
            if not ratios or any(r > 1 for r in ratios.values()) or min(ratios) < 1:
                raise ValueError("volume_ratio_table needs winner counts ≥ 1 and ratios in (0, 1]")
            d["volume_ratio_table"] = ratios
        if "price_ratio_coefficients" in d:
            d["price_ratio_coefficients"] = {
                str(k): _positive_decimal(v, k) for k, v in d["price_ratio_coefficients"].items()
            }
        for name in ("count_invalid_in_n", "half_ceiling_route", "revival", "non_shortlist_revival",
                     "backup_regions", "shared_backup_regions"):  # fmt: skip
            if name in d and not isinstance(d[name], bool):
                raise TypeError(f"{name} must be true or false")
        for name in ("lottery_seed", "allocation_seed"):
            if name in d:
                d[name] = int(d[name])
        if d.get("publicity_days") is not None:
            d["publicity_days"] = int(d["publicity_days"])
            if not 0 <= d["publicity_days"] <= 60:
                raise ValueError("publicity_days must be between 0 and 60")
        return cls(**d)


def _positive_decimal(value: Any, name: object) -> Decimal:
    if isinstance(value, float | bool):
        raise TypeError(f"{name}: give a decimal string, not a float")
    try:  # plain notation, bounded digits: "1e999999999" would overflow at the opening
        number = parse_decimal(value, places=6, integer_digits=6)
    except MoneyError as exc:
        raise ValueError(f"{name}: {exc}") from exc
    if number <= 0:
        raise ValueError(f"{name} must be a positive number")
    return number


_PRESETS: dict[str, RuleSet] = {
    # Batches 4–9: three routes; 0.10-yuan exemption for every form; cap 10 (§1.5.2, S2).
    "batch_4_9": RuleSet(
        version="batch_4_9",
        shortlist_table=BATCH_9_TABLE,
        low_price_exemptions={"*": Decimal("0.10")},
        half_ceiling_route=True,
    ),
    # Batch 10: 50 % route removed; revival added; exemptions per dosage form, values not found
    # (§1.5.3, S3/S4) → oral solids 0.10 as a default.  TODO verify against the batch's 采购文件
    "batch_10": RuleSet(
        version="batch_10",
        shortlist_table=BATCH_10_TABLE,
        low_price_exemptions={"oral_solid": Decimal("0.10")},
        revival=True,
    ),
    # Batch 11: anchor max(lowest, 0.5 × mean); fuse at 1.8 × anchor; oral solids ≤ 0.10 exempt;
    # 入围复活 and 未入围复活 (§1.5.4, S5–S9); "reverts to the batch-10 table" (S5).
    # Volume ratios "≈ 80 %, lower with ≤ 3 winners" (§1.6, S9): batch-7 table.  TODO verify
    "batch_11": RuleSet(
        version="batch_11",
        shortlist_table=BATCH_10_TABLE,
        anchor_rule=AnchorRule.MAX_LOWEST_HALF_MEAN,
        low_price_exemptions={"oral_solid": Decimal("0.10")},
        revival=True,
        non_shortlist_revival=True,
    ),
    # Batch 12 (reported only, §1.5.5, S48): anchor max(lowest, mean − σ).  TODO verify
    "batch_12": RuleSet(
        version="batch_12",
        shortlist_table=BATCH_10_TABLE,
        anchor_rule=AnchorRule.MAX_LOWEST_MEAN_MINUS_SIGMA,
        low_price_exemptions={"oral_solid": Decimal("0.10")},
        revival=True,
    ),
}


def preset(name: str) -> RuleSet:
    """The published rule set of a batch family (KeyError for an unknown name)."""
    return _PRESETS[name]


def preset_names() -> list[str]:
    return sorted(_PRESETS)


# --- price ratios (§1.4) ---------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def price_ratio_k(coefficient: Decimal, x: Decimal) -> Decimal:
    """K = c^(log₂ X) (2011 rules, §1.4), to 28 significant digits."""
    if x <= 0 or coefficient <= 0:
        raise ValueError("price ratio needs positive quantities")
    if x == 1:
        return Decimal(1)
    with localcontext() as ctx:
        ctx.prec = 40
        k = (x.ln() / Decimal(2).ln() * coefficient.ln()).exp()
        ctx.prec = 28
        return +k


def unit_comparable_e4(
    unit_price_e4: int, *, spec_quantity: Decimal, representative_quantity: Decimal, coefficient: Decimal
) -> int:
    """单位可比价 = unit price ÷ K, half-up to 4 dp (E1: 0.85 @ 20 mg vs 10 mg → 0.5000)."""
    k = price_ratio_k(coefficient, spec_quantity / representative_quantity)
    with localcontext() as ctx:
        ctx.prec = 40
        return int(quantize(Decimal(unit_price_e4) / 10_000 / k, E4) * 10_000)


def pack_count_cap_fen(
    rep_pack_price_fen: int, *, rep_count: int, count: int, coefficient: Decimal = Decimal("1.95")
) -> int:
    """Listing cap of another pack count: rep price × 1.95^(log₂ X), half-up to the fen (E2)."""
    k = price_ratio_k(coefficient, Decimal(count) / Decimal(rep_count))
    return int(quantize(Decimal(rep_pack_price_fen) * k, Decimal(1)))


def breaches_pack_count_cap(price_fen: int, rep_pack_price_fen: int, *, rep_count: int, count: int,
                            coefficient: Decimal = Decimal("1.95")) -> bool:  # fmt: skip
    """E2: 48 capsules listed at 13.50 breach the cap 13.42 derived from 24 at 6.88."""
    return price_fen > pack_count_cap_fen(
        rep_pack_price_fen, rep_count=rep_count, count=count, coefficient=coefficient
    )


# --- winner selection (§1.5) -----------------------------------------------------------------------


@dataclass(frozen=True)
class BidInput:
    key: str
    bidder: str
    unit_comparable_e4: int
    submitted_at: datetime
    reference_listed: bool = False
    consistency_evaluated: bool = True
    dosage_form_group: str = "oral_solid"
    #: Declared with the bid: accepts a revival price if offered (this platform's way of making
    #: revival reproducible without an on-site confirmation step).
    accepts_revival: bool = True
    #: Brand-specific reported volume for this product (batch 11 non-shortlist revival).
    brand_volume: int = 0


@dataclass(frozen=True)
class BidDecision:
    key: str
    valid: bool
    invalid_reason: str | None
    rank: int | None
    shortlisted: bool
    fused: bool
    won: bool
    route: Route | None
    winning_price_e4: int
    picks_regions: bool
    tie_breaker: str | None
    reason: str


@dataclass(frozen=True)
class SelectionResult:
    version: str
    eligible_bidders: int  #: N
    max_shortlisted: int  #: M
    lowest_e4: int | None
    anchor_e4: int | None  #: published anchor, 4 dp (comparisons use the exact value)
    fuse_line_e4: int | None
    revival_price_e4: int | None
    decisions: list[BidDecision]

    @property
    def winners(self) -> list[BidDecision]:
        return sorted((d for d in self.decisions if d.won), key=lambda d: d.rank or 0)


def _y(e4: int | Decimal) -> str:
    return f"{Decimal(e4) / 10_000:.4f}"


def _tie_key(bid: BidInput, breaker: TieBreaker, seed: int) -> Any:
    if breaker is TieBreaker.REFERENCE_LISTED:
        return 0 if bid.reference_listed else 1
    if breaker is TieBreaker.CONSISTENCY_EVALUATED:
        return 0 if bid.consistency_evaluated else 1
    if breaker is TieBreaker.SUBMITTED_AT:
        return bid.submitted_at
    return hashlib.sha256(f"{seed}:{bid.key}".encode()).hexdigest()


def _rank(bids: list[BidInput], rules: RuleSet) -> tuple[list[BidInput], dict[str, str]]:
    """Sort by comparable price, then the batch's tie-breakers; name the breaker that decided."""
    breakers = list(rules.tie_breakers)

    def key(b: BidInput) -> tuple[Any, ...]:
        return (b.unit_comparable_e4, *(_tie_key(b, t, rules.lottery_seed) for t in breakers), b.key)

    ranked = sorted(bids, key=key)
    decided: dict[str, str] = {}
    for a, b in itertools.pairwise(ranked):
        if a.unit_comparable_e4 != b.unit_comparable_e4:
            continue
        for t in breakers:
            if _tie_key(a, t, rules.lottery_seed) != _tie_key(b, t, rules.lottery_seed):
                decided.setdefault(a.key, t.value)
                decided[b.key] = t.value
                break
        else:
            decided.setdefault(a.key, "bid_key")
            decided[b.key] = "bid_key"
    return ranked, decided


def _anchor(prices: list[int], rules: RuleSet) -> Decimal:
    lowest = Decimal(min(prices))
    with localcontext() as ctx:
        ctx.prec = 40
        mean = Decimal(sum(prices)) / len(prices)
        if rules.anchor_rule is AnchorRule.MAX_LOWEST_HALF_MEAN:
            return max(lowest, rules.anchor_mean_share * mean)
        if rules.anchor_rule is AnchorRule.MAX_LOWEST_MEAN_MINUS_SIGMA:
            sigma = (sum((Decimal(p) - mean) ** 2 for p in prices) / len(prices)).sqrt()
            return max(lowest, mean - sigma)
    return lowest


def select_winners(
    bids: Sequence[BidInput], *, ceiling_e4: int, rules: RuleSet, dosage_form_group: str
) -> SelectionResult:
    """Run the §1.5 pipeline: validity → ranking → shortlist → anchor → routes → revivals."""
    decisions: dict[str, dict[str, Any]] = {}
    valid = [b for b in bids if b.unit_comparable_e4 <= ceiling_e4]
    for b in bids:
        ok = b.unit_comparable_e4 <= ceiling_e4
        decisions[b.key] = {
            "valid": ok,
            "invalid_reason": None if ok else "above_ceiling",
            "rank": None,
            "shortlisted": False,
            "fused": False,
            "won": False,
            "route": None,
            "winning_price_e4": b.unit_comparable_e4,
            "picks_regions": False,
            "tie_breaker": None,
            "reason": ""
            if ok
            else f"单位可比价 {_y(b.unit_comparable_e4)} 高于最高有效申报价 {_y(ceiling_e4)}，无效",
        }
    counted = bids if rules.count_invalid_in_n else valid
    n = len({b.bidder for b in counted})
    m = rules.max_shortlisted(n)
    if not valid:
        return SelectionResult(
            rules.version, n, m, None, None, None, None, [_decision(k, d) for k, d in decisions.items()]
        )

    ranked, decided = _rank(valid, rules)
    for rank, b in enumerate(ranked, start=1):
        decisions[b.key]["rank"] = rank
        decisions[b.key]["tie_breaker"] = decided.get(b.key)
    shortlist = ranked[:m]
    prices = [b.unit_comparable_e4 for b in shortlist]
    lowest = min(prices)
    anchor = _anchor(prices, rules)
    fuse_line = rules.spread_multiplier * anchor
    exemption = rules.exemption_e4(dosage_form_group)

    rule1: list[BidInput] = []
    for b in shortlist:
        d, p = decisions[b.key], b.unit_comparable_e4
        d["shortlisted"] = True
        if p <= fuse_line:
            d.update(
                won=True,
                route=Route.SPREAD,
                reason=f"单位可比价 {_y(p)} ≤ {rules.spread_multiplier} × 锚点价 {_y(anchor)}"
                f" = {_y(fuse_line)}",
            )
        elif exemption is not None and p <= exemption:
            d.update(
                won=True,
                route=Route.LOW_PRICE_EXEMPTION,
                reason=f"单位可比价 {_y(p)} ≤ 低价豁免线 {_y(exemption)}",
            )
        elif rules.half_ceiling_route and 2 * p <= ceiling_e4:
            d.update(
                won=True,
                route=Route.HALF_CEILING,
                reason=f"单位可比价 {_y(p)} ≤ 50% × 最高有效申报价 {_y(ceiling_e4)}（降幅≥50%）",
            )
        else:
            d.update(fused=True, reason=f"单位可比价 {_y(p)} > {_y(fuse_line)}，未满足中选条件（熔断）")
        if d["won"]:
            d["picks_regions"] = True
            rule1.append(b)

    revival_price: int | None = None
    if rules.revival:
        # Batch 10 / 11: the highest rule-1 (non-fused) price, or multiplier × anchor when only one
        # bid passed rule 1 (§1.5.3: 1.8 × that winner's price; §1.5.4: 1.8 × anchor).
        if len(rule1) >= 2:
            revival_price = max(b.unit_comparable_e4 for b in rule1)
        else:
            revival_price = int(quantize(fuse_line / 10_000, E4) * 10_000)
        for b in shortlist:
            d = decisions[b.key]
            if d["won"]:
                continue
            if b.accepts_revival:
                d.update(
                    won=True,
                    route=Route.SHORTLIST_REVIVAL,
                    winning_price_e4=revival_price,
                    picks_regions=True,
                    reason=d["reason"] + f"；接受复活价 {_y(revival_price)} 中选（入围复活）",
                )
            else:
                d["reason"] += "；未接受复活价"

    if rules.non_shortlist_revival and revival_price is not None:
        _non_shortlist_revival(ranked[m:], valid, decisions, shortlist)
    return SelectionResult(
        rules.version,
        n,
        m,
        lowest,
        int(quantize(anchor / 10_000, E4) * 10_000),
        int(quantize(fuse_line / 10_000, E4) * 10_000),
        revival_price,
        [_decision(k, d) for k, d in decisions.items()],
    )


def _non_shortlist_revival(
    outside: list[BidInput],
    valid: list[BidInput],
    decisions: dict[str, dict[str, Any]],
    shortlist: list[BidInput],
) -> None:
    """未入围复活 (§1.5.4, S8): brand volume ≥ the average per brand, not the highest bid, and the
    bidder lowers to the shortlisted winners' level (here: the highest shortlisted winning price)."""
    branded = [b.brand_volume for b in valid if b.brand_volume > 0]
    if not branded:
        return
    average = Decimal(sum(branded)) / len(branded)
    highest = max(b.unit_comparable_e4 for b in valid)
    level = max(decisions[b.key]["winning_price_e4"] for b in shortlist if decisions[b.key]["won"])
    for b in outside:
        d = decisions[b.key]
        if b.brand_volume <= 0 or b.brand_volume < average:
            d["reason"] = f"未入围（厂牌报量 {b.brand_volume} 低于平均 {average:.0f}）"
        elif b.unit_comparable_e4 >= highest:
            d["reason"] = "未入围（首轮报价为最高价，不得复活）"
        elif not b.accepts_revival:
            d["reason"] = "未入围（未接受复活价）"
        else:
            d.update(
                won=True,
                route=Route.NON_SHORTLIST_REVIVAL,
                winning_price_e4=level,
                picks_regions=False,
                reason=f"未入围复活：厂牌报量 {b.brand_volume} ≥ 平均 {average:.0f}，"
                f"降至 {_y(level)}，不选择供应地区",
            )


def _decision(key: str, d: dict[str, Any]) -> BidDecision:
    if d["valid"] and not d["reason"]:
        d["reason"] = "未入围 (not shortlisted)"
    return BidDecision(key=key, **d)


# --- agreed volume (§1.6) -------------------------------------------------------------------------


def agreed_volume_by_region(bases: Mapping[str, int], ratio: Decimal) -> dict[str, int]:
    """ratio × base per region, rounded half-up per region; the total is their sum (E6)."""
    return {region: int(quantize(ratio * base, Decimal(1))) for region, base in bases.items()}


def completion_pct(agreed: int, bought: int) -> Decimal:
    """约定采购量完成率 in % to 2 dp (E6 over-volume: 11,500 of 10,000 → 115.00)."""
    if agreed <= 0:
        return Decimal("0.00")
    return quantize(Decimal(bought) * 100 / agreed, Decimal("0.01"))


# --- region allocation (§1.7) ---------------------------------------------------------------------


@dataclass(frozen=True)
class RegionAllocation:
    strategy: str
    seed: int
    primary: dict[str, list[str]]
    backup: dict[str, list[str]]
    log: list[dict[str, Any]]

    def round_of(self, region: str, winner: str) -> int:
        return next(e["round"] for e in self.log if e["region"] == region and e["winner"] == winner)

    def log_as_json(self) -> list[dict[str, Any]]:
        return [{"strategy": self.strategy, "seed": self.seed}, *self.log]


def allocate_regions(
    winners: Sequence[str], region_volumes: Mapping[str, int], rules: RuleSet
) -> RegionAllocation:
    """Primary regions picked in rounds by rank, then one backup each (E7; batch-7 process)."""
    if rules.allocation_strategy is AllocationStrategy.SEEDED_RANDOM:
        order = sorted(region_volumes)
        random.Random(rules.allocation_seed).shuffle(order)  # noqa: S311 (a recorded public draw)
    else:
        order = sorted(region_volumes, key=lambda r: (-region_volumes[r], r))
    primary: dict[str, list[str]] = {w: [] for w in winners}
    backup: dict[str, list[str]] = {w: [] for w in winners}
    log: list[dict[str, Any]] = []
    remaining = list(order)
    round_no = 0
    while remaining and winners:
        round_no += 1
        for w in winners:
            if not remaining:
                break
            region = remaining.pop(0)
            primary[w].append(region)
            log.append({"round": round_no, "winner": w, "region": region, "kind": "primary"})
    if rules.backup_regions and len(winners) > 1:
        taken: set[str] = set()
        for w in winners:
            options = [
                r for r in order if r not in primary[w] and (rules.shared_backup_regions or r not in taken)
            ]
            if options:
                backup[w].append(options[0])
                taken.add(options[0])
                log.append({"round": 0, "winner": w, "region": options[0], "kind": "backup"})
    for w in winners:
        primary[w].sort()
    return RegionAllocation(rules.allocation_strategy.value, rules.allocation_seed, primary, backup, log)
