"""Order rows written with the hospital's own item code (院内编码) or a national code instead of a
listing id: the code names a product through the hospital's mapping, the product names the one
listing the hospital may order it from."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.organizations import Organization
from ledger.models import DistributionAuthorization, Listing, ListingMode, ListingStatus
from ledger.services.item_codes import resolve_item_codes
from ledger.services.listings import covers, prefecture, province


def _orderable(session: Session, hospital: Organization, product_ids: set[int]) -> dict[int, list[Listing]]:
    """Listed listings of these products the hospital may order (its region's, or its own filed)."""
    found: dict[int, list[Listing]] = defaultdict(list)
    if not product_ids:
        return found
    rows = session.scalars(
        select(Listing)
        .where(Listing.product_id.in_(product_ids), Listing.status == ListingStatus.LISTED)
        .order_by(Listing.id)
    )
    for listing in rows:
        if listing.mode is ListingMode.FILED:
            if listing.hospital_id == hospital.id:
                found[listing.product_id].append(listing)
        elif covers(listing.region_code, hospital.region_code):
            found[listing.product_id].append(listing)
    return found


def _authorized(
    session: Session, hospital: Organization, distributor_ids: set[int]
) -> set[tuple[int, int, int]]:
    """(distributor, manufacturer, product key) the distributors are authorized for in the region."""
    rows = session.execute(
        select(
            DistributionAuthorization.distributor_id,
            DistributionAuthorization.manufacturer_id,
            DistributionAuthorization.product_key,
        ).where(
            DistributionAuthorization.distributor_id.in_(distributor_ids or {0}),
            DistributionAuthorization.active.is_(True),
            DistributionAuthorization.region_code.in_(
                (prefecture(hospital.region_code), province(hospital.region_code))
            ),
        )
    ).all()
    return {(d, m, p) for d, m, p in rows}


def fill_listing_ids(
    session: Session, hospital_id: int, rows: Sequence[tuple[int, dict[str, Any]]]
) -> dict[str, list[str]]:
    """Set `listing_id` on rows that carry an `item_code` instead; return row errors naming the
    column (`row 3.item_code`). Several listings for the product: those the row's distributor is
    authorized for; still several: the row must give the listing id."""
    coded = [(n, row) for n, row in rows if row.get("listing_id") is None and row.get("item_code")]
    if not coded:
        return {}
    hospital = session.get_one(Organization, hospital_id)
    products = resolve_item_codes(session, hospital_id, {row["item_code"] for _, row in coded})
    listings = _orderable(session, hospital, set(products.values()))
    authorized = _authorized(session, hospital, {row["distributor_id"] for _, row in coded})
    errors: dict[str, list[str]] = {}
    for number, row in coded:
        product_id = products.get(row["item_code"])
        if product_id is None:
            errors[f"row {number}.item_code"] = [
                "未对照的院内编码，也不是平台产品的国家医保编码 "
                "(not a mapped item code nor a product's national code)"
            ]
            continue
        candidates = listings.get(product_id, [])
        if len(candidates) > 1:
            candidates = [
                c
                for c in candidates
                if {(row["distributor_id"], c.manufacturer_id, key) for key in (c.product_id, 0)} & authorized
            ] or candidates
        if not candidates:
            errors[f"row {number}.item_code"] = [
                "该产品在本地区无可下单的挂网 (no orderable listing in your region)"
            ]
        elif len(candidates) > 1:
            ids = "、".join(str(c.id) for c in candidates)
            errors[f"row {number}.item_code"] = [
                f"该产品有多个挂网（{ids}），请填写挂网ID (several listings: give the listing id)"
            ]
        else:
            row["listing_id"] = candidates[0].id
    return errors
