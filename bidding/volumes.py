"""Agreed volumes per hospital and supplier from reported demand (vbp-rules.md §1.6), the one
computation behind a batch selected here, a batch executed from results decided elsewhere, and
an alliance lead's figures for its member provinces.

Hospitals and suppliers are keyed by what every platform shares, the hospital's USCC and the
winning product's code, never by database ids: the largest-remainder split breaks ties by key,
so a member province that imports the lead's results and its own hospitals' demand gets the same
figures to the unit (issue 22's round trip).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any, NamedTuple

from bidding.allocation import region_agreed_volume, split_by_largest_remainder


class Demand(NamedTuple):
    """One demand report: hospital USCC, its region, the named brand's product code or None.
    (Named tuples, not frozen dataclasses: a province's opening makes a million of each.)"""

    hospital: str
    region: str
    brand: str | None
    quantity: int


class AgreedVolume(NamedTuple):
    """A hospital's agreed quantity from one supplier (a winning product's code) in a region."""

    hospital: str
    region: str
    supplier: str
    base_quantity: int
    agreed_quantity: int
    brand_specific: bool


def agreed_volumes(
    demand: Iterable[Demand],
    ratio: Decimal,
    *,
    primary_of: Callable[[str], str | None],
    winners: Mapping[str, object] | frozenset[str] | set[str],
) -> list[AgreedVolume]:
    """Demand → agreed volumes. Brand demand goes to the named brand if it won, otherwise, like
    generic demand, to the primary supplier of the hospital's region (`primary_of(region)`;
    §1.5.4 按厂牌报量, §1.7). Per region, ratio × the region's base is rounded once and shared by
    largest remainder (§1.6: per-region rounding, then summing). Demand with no supplier is left
    out (a region no winner supplies)."""
    weights: dict[str, dict[tuple[str, str, bool], int]] = defaultdict(lambda: defaultdict(int))
    for row in demand:
        named = row.brand if row.brand is not None and row.brand in winners else None
        supplier = named or primary_of(row.region)
        if supplier is None:
            continue
        weights[row.region][(row.hospital, supplier, named is not None)] += row.quantity
    out: list[AgreedVolume] = []
    for region, parts in sorted(weights.items()):
        total = region_agreed_volume(sum(parts.values()), ratio)
        agreed = split_by_largest_remainder(total, parts, ratio)
        merged: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
        for (hospital, supplier, brand), qty in parts.items():
            entry = merged[(hospital, supplier)]
            entry[0] += qty
            entry[1] += agreed[(hospital, supplier, brand)]
            entry[2] |= int(brand)
        for (hospital, supplier), (base, qty, brand) in sorted(merged.items()):
            out.append(AgreedVolume(hospital, region, supplier, base, qty, bool(brand)))
    return out


def allocation_rows(
    batch_id: int,
    item_id: int,
    volumes: Iterable[AgreedVolume],
    *,
    hospital_of: Mapping[str, int],
    award_of: Mapping[str, Any],
) -> list[dict[str, object]]:
    """The volume_allocations rows of an item's agreed volumes (USCC and product code back to ids)."""
    return [
        {
            "batch_id": batch_id,
            "item_id": item_id,
            "hospital_id": hospital_of[v.hospital],
            "region_code": v.region,
            "award_id": award_of[v.supplier].id,
            "base_quantity": v.base_quantity,
            "agreed_quantity": v.agreed_quantity,
            "brand_specific": v.brand_specific,
        }
        for v in volumes
    ]
