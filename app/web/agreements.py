"""Agreements (采购协议) per cycle year, for hospitals, manufacturers and the bureau: each sees the
agreements it is party to (ledger/agreements.py), by batch and calendar year."""

from __future__ import annotations

from flask import render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from app.db import request_session
from app.web.common import actor, ascii_int, page, paged_list, web
from bidding import batches
from bidding.models import BatchItem, ProcurementBatch, Product
from core.actors import OrgKind
from ledger.agreements import agreements_visible_to


@web.route("/agreements")
@page(OrgKind.BUREAU, OrgKind.HOSPITAL, OrgKind.MANUFACTURER)
def agreements_page() -> ResponseReturnValue:
    who, db = actor(), request_session()
    batch_id = request.args.get("batch_id", None, type=ascii_int)
    year = request.args.get("year", None, type=ascii_int)
    if year is not None and not 2000 <= year <= 2100:
        year = None
    found = agreements_visible_to(db, who, batch_id=batch_id, year=year)
    pager = paged_list(found)
    shown_batches = {a.batch_id for a in pager.items}
    names = dict(
        db.execute(
            batches.batches_visible_to(who)
            .with_only_columns(ProcurementBatch.id, ProcurementBatch.name)
            .where(ProcurementBatch.id.in_(shown_batches | ({batch_id} if batch_id else set())))
        ).all()
    )
    items = dict(
        db.execute(
            select(BatchItem.id, BatchItem.generic_name).where(
                BatchItem.id.in_({a.item_id for a in pager.items})
            )
        ).all()
    )
    products = {
        p.id: f"{p.generic_name} {p.spec_text}"
        for p in db.scalars(select(Product).where(Product.id.in_({a.product_id for a in pager.items})))
    }
    return render_template(
        "web/agreements.html",
        pager=pager,
        batch_id=batch_id,
        year=year,
        batch_names=names,
        item_names=items,
        product_names=products,
    )
