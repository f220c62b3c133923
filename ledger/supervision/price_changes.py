"""调价: a manufacturer changes the price of its own price-linked listing. Every price a listing
has had is kept in `listing_prices` (written here and when a listing is created, ledger/services/
listings.py), which the abnormal price-change rule (`price_increase`, price_rules.py) reads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from core import audit
from core.actors import Actor, OrgKind, Role
from core.errors import InvalidState, PermissionDenied, ValidationFailed
from ledger.models import Listing, ListingMode, ListingStatus
from ledger.services import listings
from ledger.supervision.price_models import ListingPrice


def change_listing_price(
    session: Session, actor: Actor, listing_id: int, *, pack_price_fen: int, now: datetime
) -> Listing:
    """调价: the manufacturer changes the price of its own price-linked listing (the cap applies,
    except on a shortage direct listing). Recorded in the listing's price history (listing_prices)
    that the abnormal price-change rule reads; audited. The same price again changes nothing."""
    if actor.org_kind is not OrgKind.MANUFACTURER or actor.role not in (Role.ADMIN, Role.OPERATOR):
        raise PermissionDenied("仅生产企业可调价 (manufacturers only)")
    listing = listings.get_listing(session, actor, listing_id, for_update=True)
    if pack_price_fen <= 0:
        raise ValidationFailed(fields={"pack_price": ["须大于0 (must be positive)"]})
    if listing.mode is not ListingMode.PRICE_LINKED:
        raise InvalidState("仅价格联动挂网可调价 (only price-linked listings)", code="not_price_linked")
    if listing.status not in (ListingStatus.APPLIED, ListingStatus.LISTED):
        raise InvalidState("挂网已暂停或撤销 (the listing is suspended or delisted)", code="not_listed")
    if pack_price_fen == listing.pack_price_fen:
        return listing
    if not listing.shortage_direct:
        listings.check_linkage_cap(session, listing.product_id, pack_price_fen)
    before = listing.pack_price_fen
    listing.pack_price_fen, listing.updated_at = pack_price_fen, now
    session.add(
        ListingPrice(listing_id=listing.id, pack_price_fen=pack_price_fen, effective_at=now, reason="change")
    )
    session.flush()
    audit.record(
        session,
        actor,
        "listing.price",
        subject_type="listing",
        subject_id=listing.id,
        subject_org_id=listing.manufacturer_id,
        before={"pack_price_fen": before},
        after={"pack_price_fen": pack_price_fen},
        now=now,
    )
    return listing
