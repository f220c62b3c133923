"""Pickers, never ids: the options a form offers for hospitals, enterprises, products and regions,
labelled so a person recognises them (name, specification, manufacturer, national code; region
names), and the JSON search behind `static/picker.js`.

Every option list and every search is scoped by the same rules as the pages: organizations are
listed to the bureau only, the catalogue to anyone signed in (bidding.catalogue), regions to anyone.
The macro that renders them is `templates/web/pickers.html`.
"""

from __future__ import annotations

from typing import NamedTuple

from flask import abort, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.db import request_session
from app.web.common import actor, ascii_int, page, page_lang, web
from bidding import batches, catalogue
from bidding.models import BatchItem, Product
from core import regions
from core.actors import Actor, OrgKind
from core.glossary import term
from core.organizations import Organization

#: The most options one search answers; the page's <select> is bounded the same way.
LIMIT = 50


class Option(NamedTuple):
    value: str
    label: str


@web.app_template_filter("region")
def region(code: str | None) -> str:
    """510100 → 成都市, 510104 → 成都市锦江区; an unknown code shows as itself."""
    return regions.full_name(code)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def organization_options(db: Session, who: Actor, kind: OrgKind, query: str = "") -> list[Option]:
    """Organizations of one kind, as "name · region · USCC" (the bureau's pickers only)."""
    if who.org_kind is not OrgKind.BUREAU:
        return []
    stmt = select(Organization).where(Organization.kind == kind, Organization.active.is_(True))
    if query.strip():
        pattern = _like(query.strip())
        stmt = stmt.where(
            or_(
                Organization.name.like(pattern, escape="\\"),
                Organization.uscc.like(pattern, escape="\\"),
                Organization.region_code.in_([c for c, _ in regions.search(query.strip(), limit=200)]),
            )
        )
    return [
        Option(str(o.id), f"{o.name} · {regions.full_name(o.region_code)} · {o.uscc}")
        for o in db.scalars(stmt.order_by(Organization.name, Organization.id).limit(LIMIT))
    ]


def product_label(product: Product) -> str:
    """ "阿莫西林胶囊 0.25g*24粒 · 某某药业 · 国家代码" — what a person recognises a product by."""
    return f"{product.generic_name} {product.spec_text} · {product.mah.name} · {product.code}"


def product_options(db: Session, who: Actor, query: str = "") -> list[Option]:
    """Catalogue products (generic name, specification, manufacturer, national code)."""
    stmt = catalogue.products_visible_to(who)
    if query.strip():
        pattern = _like(query.strip())
        stmt = stmt.join(Organization, Organization.id == Product.mah_id).where(
            or_(
                Product.generic_name.like(pattern, escape="\\"),
                Product.code.like(pattern, escape="\\"),
                Product.spec_text.like(pattern, escape="\\"),
                Organization.name.like(pattern, escape="\\"),
            )
        )
    products = db.scalars(stmt.order_by(Product.generic_name, Product.id).limit(LIMIT))
    return [Option(str(p.id), product_label(p)) for p in products]


def generic_name_options(db: Session, who: Actor) -> list[Option]:
    """Generic names from the catalogue (value) with a product that bears each (label), for the
    batch item form: an item names a variety, not a product."""
    seen: dict[str, Option] = {}
    for p in db.scalars(catalogue.products_visible_to(who).order_by(Product.generic_name, Product.id)):
        seen.setdefault(p.generic_name, Option(p.generic_name, product_label(p)))
        if len(seen) >= 200:
            break
    return list(seen.values())


def region_options(query: str = "", *, codes: list[str] | None = None) -> list[Option]:
    return [
        Option(code, f"{name} ({code})") for code, name in regions.search(query, codes=codes, limit=LIMIT)
    ]


def item_options(db: Session, who: Actor, batch_id: int, query: str = "") -> list[Option]:
    """A batch's items as "通用名 10mg · 口服常释剂型", in a batch the caller may see (NotFound
    otherwise, which the page shows as 404)."""
    batch = batches.get_batch(db, who, batch_id)
    stmt = select(BatchItem).where(BatchItem.batch_id == batch.id)
    if query.strip():
        stmt = stmt.where(BatchItem.generic_name.like(_like(query.strip()), escape="\\"))
    return [
        Option(str(i.id), f"{i.generic_name} {i.rep_strength_value}{i.rep_strength_unit} · {_group(i)}")
        for i in db.scalars(stmt.order_by(BatchItem.generic_name, BatchItem.id).limit(LIMIT))
    ]


def _group(item: BatchItem) -> str:
    return term(item.dosage_form_group, page_lang())


KINDS = {
    "hospitals": OrgKind.HOSPITAL,
    "distributors": OrgKind.DISTRIBUTOR,
    "manufacturers": OrgKind.MANUFACTURER,
}


@web.route("/pickers/<string:what>")
@page()
def picker_search(what: str) -> ResponseReturnValue:
    """JSON [{value, label}] of what matches ?q=, scoped to the caller (picker.js asks here)."""
    who, query = actor(), request.args.get("q", "")[:100]
    db = request_session()
    if what in KINDS:
        if who.org_kind is not OrgKind.BUREAU:
            abort(403)
        found = organization_options(db, who, KINDS[what], query)
    elif what == "products":
        found = product_options(db, who, query)
    elif what == "items":
        found = item_options(db, who, request.args.get("batch_id", 0, type=ascii_int), query)
    elif what == "regions":
        found = region_options(query)
    else:
        abort(404)
    return jsonify([o._asdict() for o in found])
