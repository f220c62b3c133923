"""What a listing shows beside its price (issue 18): its enterprise's credit grade in force (and
whether a rating was repaired), and the product's payment standard at that price (§1.9, §7)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from ledger.models import Listing
from ledger.supervision.credit_linkage import standings
from ledger.supervision.payment_standard import standards_for
from ledger.supervision.settings import DEFAULTS, SupervisionSettings


def annotate(session: Session, rows: Sequence[Listing], settings: SupervisionSettings = DEFAULTS) -> None:
    """Set `credit_grade`, `credit_repaired`, `payment_standard_fen` and `payment_standard_unit_e4`
    on each listing (plain attributes the listing schema dumps; not stored)."""
    grades = standings(session, [x.manufacturer_id for x in rows])
    standards = standards_for(session, [(x.product, x.pack_price_fen) for x in rows], settings)
    for listing, std in zip(rows, standards, strict=True):
        standing = grades.get(listing.manufacturer_id)
        listing.credit_grade = standing.grade if standing else None  # type: ignore[attr-defined]
        listing.credit_repaired = bool(standing and standing.repaired)  # type: ignore[attr-defined]
        listing.payment_standard_fen = std.pack_fen if std else None  # type: ignore[attr-defined]
        listing.payment_standard_unit_e4 = std.unit_e4 if std else None  # type: ignore[attr-defined]
