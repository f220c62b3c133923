"""Hospital pages: demand report (form and spreadsheet), deliveries to confirm, agreed-volume
progress. The order form, bulk confirmations, settlement and the receipt slip are in hospital_*.py;
orders, invoices, statements and indicators are shared pages."""

from __future__ import annotations

from flask import abort, flash, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from app.api.files import uploaded_table, validated_rows
from app.db import request_session
from app.web import hospital_demand_form, hospital_order, hospital_settlement, hospital_slip  # noqa: F401
from app.web.common import (
    WRITERS,
    FormFailed,
    actor,
    ascii_int,
    attempt,
    done,
    form_dict,
    load,
    page,
    page_lang,
    paged_list,
    web,
)
from app.web.form_messages import field_error, row_error

# The bulk pages register themselves on importing; the dashboard counts with pending_receipts.
from app.web.hospital_bulk import pending_receipts  # noqa: F401
from bidding import batches, demand
from bidding.models import BatchStatus, ProcurementBatch
from bidding.schemas import DemandRowSchema
from core import clock
from core.actors import Actor, OrgKind
from core.errors import ValidationFailed
from core.spreadsheets import SpreadsheetError
from ledger import queries
from ledger.schemas import ReceiptLineCreateSchema
from ledger.services import ordering

# --- deliveries ---------------------------------------------------------------------------------


@web.route("/hospital/deliveries")
@page(OrgKind.HOSPITAL)
def hospital_deliveries() -> ResponseReturnValue:
    """Deliveries to confirm, each with its product; tick several and confirm them together."""
    from app.web.hospital_bulk import deliveries_page

    return deliveries_page()


@web.route("/hospital/deliveries/<int:shipment_line_id>", methods=["POST"])
@page(OrgKind.HOSPITAL, roles=WRITERS)
def hospital_receipt(shipment_line_id: int) -> ResponseReturnValue:
    """Accept fully, partly (rejected quantity and reason) or reject a delivered line."""
    form = form_dict(request.form, ints=("accepted_quantity", "rejected_quantity"))
    try:
        data = load(ReceiptLineCreateSchema(), form)
        attempt(
            lambda db: ordering.confirm_receipt(
                db,
                actor(),
                shipment_line_id,
                accepted=data["accepted_quantity"],
                rejected=data["rejected_quantity"],
                reason_code=data["reason_code"],
                accepted_on=data["accepted_on"],
                now=clock.now(),
            )
        )
    except FormFailed:
        from app.web.hospital_bulk import deliveries_page

        return deliveries_page(422)
    return done(
        _(
            "Receipt of shipment line %(id)s recorded: %(a)s accepted, %(r)s rejected.",
            id=shipment_line_id,
            a=data["accepted_quantity"],
            r=data["rejected_quantity"],
        ),
        "web.hospital_deliveries",
    )


# --- order form: app/web/hospital_order.py ------------------------------------------------------


# --- demand report ------------------------------------------------------------------------------


def _collecting(who: Actor) -> list[ProcurementBatch]:
    return list(
        request_session().scalars(
            batches.batches_visible_to(who)
            .where(ProcurementBatch.status == BatchStatus.DEMAND_COLLECTION)
            .order_by(ProcurementBatch.id.desc())
        )
    )


@web.route("/hospital/demand", methods=["GET", "POST"])
@page(OrgKind.HOSPITAL)
def hospital_demand() -> ResponseReturnValue:
    who = actor()
    open_batches = _collecting(who)
    chosen = request.values.get("batch_id", type=ascii_int) or (open_batches[0].id if open_batches else None)
    row_errors: list[str] = []
    status = 200
    if request.method == "POST":
        if who.role not in WRITERS:
            abort(403)
        try:
            if chosen is None:
                raise ValidationFailed(fields={"batch_id": [_("Choose a batch that is collecting demand.")]})
            from app.api.tendering import DEMAND_COLUMNS

            rows = validated_rows(uploaded_table(DEMAND_COLUMNS), DemandRowSchema())
            lines = [demand.DemandLine(**data) for _, data in rows]
            batch_id = chosen
            saved = attempt(
                lambda db: demand.report_demand(
                    db, who, batch_id, lines=lines, now=clock.now(), row_numbers=[n for n, _ in rows]
                )
            )
            flash(_("%(n)s demand lines saved.", n=len(saved)), "success")
        except SpreadsheetError as exc:
            row_errors = [row_error(err.row, err.column, err.message, page_lang()) for err in exc.errors]
            status = 422
        except ValidationFailed as exc:
            fields = exc.fields.items()
            row_errors = [
                field_error(name, m, page_lang()) for name, messages in fields for m in messages
            ] or [exc.message]
            status = 422
        except FormFailed:
            status = 422
    reports = []
    if chosen is not None:
        from bidding.models import DemandReport

        reports = list(
            request_session().scalars(
                demand.demand_visible_to(who).where(DemandReport.batch_id == chosen).order_by(DemandReport.id)
            )
        )
    from app.web.hospital_demand_form import item_label

    names = {item.id: item_label(item) for b in open_batches if b.id == chosen for item in b.items}
    from bidding.models import Product

    brand_ids = {r.brand_product_id for r in reports if r.brand_product_id}
    brands = {
        p.id: f"{p.generic_name} {p.spec_text}"
        for p in request_session().scalars(select(Product).where(Product.id.in_(brand_ids or {0})))
    }
    return render_template(
        "web/hospital_demand.html",
        item_names=names,
        brand_names=brands,
        batches=open_batches,
        chosen=chosen,
        pager=paged_list(reports),
        row_errors=row_errors,
    ), status


# --- agreed-volume progress ---------------------------------------------------------------------


@web.route("/hospital/progress")
@page(OrgKind.HOSPITAL)
def hospital_progress() -> ResponseReturnValue:
    rows = queries.agreed_volume_progress(request_session(), actor(), on=clock.business_date(clock.now()))
    return render_template("web/hospital_progress.html", pager=paged_list(rows))
