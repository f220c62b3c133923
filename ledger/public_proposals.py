"""Proposed results in their publicity period (公示), as anyone may read them without login.

supervision-and-interop.md §8: proposed results are published for a public-notice period during
which objections may be lodged. Once a batch is opened its prices are no longer sealed, so a
proposal shows its winners with their winning prices and supply regions, exactly as the proposal
recorded them (its snapshot, bidding/publicity.py). It never shows the excluded bids, the
objections or the reasons, which concern the bidders and the bureau only, nor internal ids.
A batch's own public page (ledger/disclosure.py) appears only once its results are final.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bidding.publicity import public_proposals
from core.regions import region_name
from ledger.disclosure import Page


@dataclass(frozen=True)
class ProposedWinner:
    manufacturer: str
    product_code: str
    spec: str
    rank: int
    #: Decimal text as the proposal recorded it (yuan per minimum unit, 4 places; yuan per pack).
    unit_price: str
    pack_price: str
    primary_regions: list[dict[str, str]]
    backup_regions: list[dict[str, str]]


@dataclass(frozen=True)
class ProposedItem:
    generic_name: str
    winners: list[ProposedWinner]


@dataclass(frozen=True)
class ProposedResults:
    batch_name: str
    #: 1 for the first proposal of a batch; a sustained objection leads to the next one.
    seq: int
    kind: str
    period_starts_at: datetime
    period_ends_at: datetime
    items: list[ProposedItem]


def _regions(codes: list[str]) -> list[dict[str, str]]:
    return [{"code": code, "name": region_name(code)} for code in codes]


def _winner(w: dict[str, Any]) -> ProposedWinner:
    return ProposedWinner(
        manufacturer=str(w["manufacturer"]),
        product_code=str(w["product_code"]),
        spec=str(w["spec"]),
        rank=int(w["rank"]),
        unit_price=str(w["unit_price"]),
        pack_price=str(w["pack_price"]),
        primary_regions=_regions(list(w.get("primary_regions", []))),
        backup_regions=_regions(list(w.get("backup_regions", []))),
    )


def proposal_page(session: Session, *, now: datetime, page: int, page_size: int) -> Page:
    """Proposals under publicity at `now`, newest first, one page of them."""
    found = public_proposals(session, now)
    rows = [
        ProposedResults(
            batch_name=p.batch_name,
            seq=p.seq,
            kind=p.kind,
            period_starts_at=p.period_starts_at,
            period_ends_at=p.period_ends_at,
            items=[
                ProposedItem(str(item["generic_name"]), [_winner(w) for w in item["winners"]])
                for item in p.items
            ],
        )
        for p in found
    ]
    start = (page - 1) * page_size
    return Page(rows[start : start + page_size], len(rows), page, page_size)
