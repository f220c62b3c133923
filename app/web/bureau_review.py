"""The bureau's review of price-linked listings (价格联动挂网): every application with its price,
the lowest reference price the platform holds and the high-price warning, flagged ones first.
A flagged application waits, `applied`, for this review (`listings.HOLD_FLAGGED_FOR_REVIEW`):
approve it (listed) or refuse it (delisted, confirmed); a listing may be suspended, relisted or
delisted (irreversible, confirmed).

The decisions call `ledger.services.listings.change_listing_status`, the service behind the API's
POST /listings/{id}/status.
"""

from __future__ import annotations

from flask import render_template, request
from flask.typing import ResponseReturnValue

from app.web.bureau_pickers import region_options
from app.web.common import WRITERS, actor, page, paged, web
from core.actors import OrgKind
from ledger.models import Listing, ListingMode, ListingStatus
from ledger.services import listings

#: What the review offers from each status (the service refuses anything else as well).
DECISIONS = {
    ListingStatus.APPLIED: (ListingStatus.LISTED, ListingStatus.DELISTED),
    ListingStatus.LISTED: (ListingStatus.SUSPENDED, ListingStatus.DELISTED),
    ListingStatus.SUSPENDED: (ListingStatus.LISTED, ListingStatus.DELISTED),
    ListingStatus.DELISTED: (),
}


@web.route("/bureau/listings/price-linked")
@page(OrgKind.BUREAU)
def bureau_price_linked() -> ResponseReturnValue:
    """Price-linked listings to review: awaiting approval and flagged (above the reference) first."""
    who = actor()
    stmt = listings.listings_visible_to(who).where(Listing.mode == ListingMode.PRICE_LINKED)
    region = request.args.get("region_code", "")
    if region:
        stmt = stmt.where(Listing.region_code == region)
    stmt = stmt.order_by(
        (Listing.status == ListingStatus.APPLIED).desc(), Listing.price_flagged.desc(), Listing.id.desc()
    )
    return render_template(
        "web/bureau_price_linked.html",
        pager=paged(stmt),
        decisions=DECISIONS,
        regions=region_options(),
        region_code=region,
        can_write=who.role in WRITERS,
        holds_flagged=listings.HOLD_FLAGGED_FOR_REVIEW,
    )


@web.route("/bureau/listings/price-linked/<int:listing_id>", methods=["POST"])
@page(OrgKind.BUREAU, roles=WRITERS)
def bureau_price_linked_decide(listing_id: int) -> ResponseReturnValue:
    """One decision on one price-linked listing, with its reason (recorded in the audit trail)."""
    back = {"region_code": request.args["region_code"]} if request.args.get("region_code") else {}
    from app.web.bureau import change_listing_status

    return change_listing_status(listing_id, "web.bureau_price_linked", back)
