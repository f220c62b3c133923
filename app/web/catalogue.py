"""The catalogue page (产品目录: search by name, catalogue code or national code) and the
hospital's item-code mapping page (院内编码对照: upload, list, download)."""

from __future__ import annotations

from flask import abort, flash, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from app.api.files import uploaded_table, validated_rows
from app.db import unit_of_work
from app.web.common import WRITERS, actor, page, page_lang, paged, web
from app.web.form_messages import field_error, row_error
from bidding import catalogue
from bidding.models import Product
from core import clock
from core.actors import OrgKind
from core.errors import ValidationFailed
from core.spreadsheets import SpreadsheetError
from ledger.models import HospitalItemCode
from ledger.services import item_codes


@web.route("/catalogue")
@page()
def catalogue_page() -> ResponseReturnValue:
    query = request.args.get("q", "").strip()[:200]
    stmt = catalogue.search_products(
        catalogue.products_visible_to(actor()).order_by(Product.generic_name, Product.id), q=query or None
    )
    return render_template("web/catalogue.html", pager=paged(stmt), query=query)


@web.route("/hospital/item-codes", methods=["GET", "POST"])
@page(OrgKind.HOSPITAL)
def hospital_item_codes() -> ResponseReturnValue:
    who = actor()
    row_errors: list[str] = []
    status = 200
    if request.method == "POST":
        if who.role not in WRITERS:
            abort(403)
        from app.api.item_codes import ITEM_CODE_COLUMNS, ItemCodeRowSchema

        try:
            rows = validated_rows(uploaded_table(ITEM_CODE_COLUMNS), ItemCodeRowSchema())
            mapped = [(n, item_codes.MappingRow(**data)) for n, data in rows]
            with unit_of_work() as db:  # row errors are listed below, so not attempt()'s one flash
                created, remapped, unchanged = item_codes.import_mappings(
                    db, who, rows=mapped, now=clock.now()
                )
            flash(
                _(
                    "%(created)s item codes mapped, %(remapped)s remapped, %(unchanged)s unchanged.",
                    created=created,
                    remapped=remapped,
                    unchanged=unchanged,
                ),
                "success",
            )
        except SpreadsheetError as exc:
            row_errors = [row_error(err.row, err.column, err.message, page_lang()) for err in exc.errors]
            status = 422
        except ValidationFailed as exc:
            row_errors = [
                field_error(name, m, page_lang()) for name, messages in exc.fields.items() for m in messages
            ] or [exc.message]
            status = 422
    stmt = item_codes.item_codes_visible_to(who).order_by(HospitalItemCode.item_code)
    return render_template("web/hospital_item_codes.html", pager=paged(stmt), row_errors=row_errors), status
