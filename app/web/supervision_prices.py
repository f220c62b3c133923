"""Bureau price-governance page (issue 18 items 2 and 4): import other provinces' listed prices and
the shortage-prone list (the services behind POST /api/v1/prices/other-provinces and
/api/v1/shortage-list), and the listings' price-risk table, sortable by level."""

from __future__ import annotations

from flask import current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import case

from app.web.common import WRITERS, FormFailed, actor, attempt, done, page, paged, web
from core import clock
from core.actors import OrgKind
from ledger.models import Listing, ListingStatus
from ledger.services import listings
from ledger.supervision import prices, shortage
from ledger.supervision.price_models import PriceRisk

LEVEL_ORDER = case(
    {PriceRisk.RED.value: 0, PriceRisk.YELLOW.value: 1, PriceRisk.GREEN.value: 2},
    value=Listing.price_risk,
    else_=3,
)
SORTS = {
    "level": (LEVEL_ORDER, Listing.id),
    "price": (Listing.pack_price_fen.desc(), Listing.id),
    "id": (Listing.id,),
}


@web.route("/bureau/price-governance")
@page(OrgKind.BUREAU)
def bureau_price_governance() -> ResponseReturnValue:
    """价格治理: imports and every listing's risk level, red line and shortage flag."""
    sort = request.args.get("sort", "level")
    sort = sort if sort in SORTS else "level"
    level = request.args.get("level", "")
    stmt = listings.listings_visible_to(actor()).where(
        Listing.status.in_((ListingStatus.APPLIED, ListingStatus.LISTED))
    )
    if level in {r.value for r in PriceRisk}:
        stmt = stmt.where(Listing.price_risk == level)
    else:
        level = ""
    return render_template(
        "web/supervision_prices_governance.html",
        pager=paged(stmt.order_by(*SORTS[sort])),
        sort=sort,
        level=level,
        levels=list(PriceRisk),
    )


def _upload(kind: str) -> ResponseReturnValue:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return done(_("Choose a file (xlsx or csv)."), "web.bureau_price_governance")
    data = upload.read(current_app.config["VBP"].spreadsheet_limits().max_bytes + 1)
    name = upload.filename
    importer = prices.import_other_province_prices if kind == "prices" else shortage.import_shortage_list
    settings = current_app.config["VBP"].supervision
    try:
        rows = attempt(
            lambda db: importer(db, actor(), data=data, filename=name, settings=settings, now=clock.now())
        )
    except FormFailed:
        return redirect(url_for("web.bureau_price_governance"))
    return done(
        _("%(n)s rows imported; every listing was compared again.", n=rows), "web.bureau_price_governance"
    )


@web.route("/bureau/price-governance/prices", methods=["POST"])
@page(OrgKind.BUREAU, roles=WRITERS)
def bureau_import_prices() -> ResponseReturnValue:
    return _upload("prices")


@web.route("/bureau/price-governance/shortage", methods=["POST"])
@page(OrgKind.BUREAU, roles=WRITERS)
def bureau_import_shortage() -> ResponseReturnValue:
    return _upload("shortage")
