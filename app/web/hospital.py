"""Hospital pages: demand report (form and spreadsheet), order form, deliveries to confirm,
agreed-volume progress. Orders, invoices, statements and indicators are shared pages."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, render_template, request, session
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import Select, select

from app.api.files import uploaded_table, validated_rows
from app.db import request_session
from app.web.common import (
    WRITERS,
    FormFailed,
    actor,
    ascii_int,
    attempt,
    done,
    form_dict,
    label,
    load,
    page,
    paged,
    paged_list,
    web,
)
from app.web.messages import field_error, row_error
from bidding import batches, demand
from bidding.models import BatchStatus, ProcurementBatch
from bidding.schemas import DemandRowSchema
from core import clock
from core.actors import Actor, OrgKind
from core.errors import ValidationFailed
from core.spreadsheets import SpreadsheetError
from ledger import queries
from ledger.models import DistributionAuthorization, Listing, ListingStatus, ShipmentLine
from ledger.schemas import OrderCreateSchema, ReceiptLineCreateSchema
from ledger.services import listings, ordering
from ledger.services.ordering import REJECTION_REASONS


def _lang() -> str:
    return "en" if session.get("lang") == "en" else "zh"


#: Rows on the order form; more lines go through the spreadsheet upload.
ORDER_FORM_LINES = 5


def pending_receipts(who: Actor) -> Select[tuple[ShipmentLine]]:
    """Shipment lines delivered to the hospital and not yet confirmed (验收)."""
    from ledger.models import ReceiptLine

    confirmed = select(ReceiptLine.shipment_line_id)
    return ordering.shipment_lines_visible_to(who).where(ShipmentLine.id.not_in(confirmed))


# --- deliveries ---------------------------------------------------------------------------------


@web.route("/hospital/deliveries")
@page(OrgKind.HOSPITAL)
def hospital_deliveries() -> ResponseReturnValue:
    stmt = pending_receipts(actor()).order_by(ShipmentLine.id)
    return render_template(
        "web/hospital_deliveries.html",
        pager=paged(stmt),
        reasons=[(code, label(code)) for code in REJECTION_REASONS],
        today=clock.business_date(clock.now()),
    )


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
        return render_template(
            "web/hospital_deliveries.html",
            pager=paged(pending_receipts(actor()).order_by(ShipmentLine.id)),
            reasons=[(code, label(code)) for code in REJECTION_REASONS],
            today=clock.business_date(clock.now()),
        ), 422
    return done(
        _(
            "Receipt of shipment line %(id)s recorded: %(a)s accepted, %(r)s rejected.",
            id=shipment_line_id,
            a=data["accepted_quantity"],
            r=data["rejected_quantity"],
        ),
        "web.hospital_deliveries",
    )


# --- order form ---------------------------------------------------------------------------------


def _order_choices(who: Actor) -> tuple[list[Listing], list[tuple[int, str]]]:
    """Listings the hospital may order from, and distributors authorized in its region."""
    db = request_session()
    rows = list(
        db.scalars(
            listings.listings_visible_to(who)
            .where(Listing.status == ListingStatus.LISTED)
            .order_by(Listing.id)
        )
    )
    manufacturers = {row.manufacturer_id for row in rows}
    distributor_ids = db.scalars(
        select(DistributionAuthorization.distributor_id)
        .where(
            DistributionAuthorization.active.is_(True),
            DistributionAuthorization.manufacturer_id.in_(manufacturers or {0}),
        )
        .distinct()
    ).all()
    from app.web.common import org_name

    return rows, sorted(((d, org_name(d)) for d in distributor_ids), key=lambda pair: pair[1])


@web.route("/hospital/orders/new", methods=["GET", "POST"])
@page(OrgKind.HOSPITAL, roles=WRITERS)
def hospital_order_form() -> ResponseReturnValue:
    who = actor()
    choices, distributors = _order_choices(who)
    if request.method == "GET":
        return render_template(
            "web/hospital_order_form.html",
            listings=choices,
            distributors=distributors,
            lines=ORDER_FORM_LINES,
            form={},
        )
    lines = []
    for i in range(ORDER_FORM_LINES):
        listing_id, quantity = (
            request.form.get(f"listing-{i}", "").strip(),
            request.form.get(f"quantity-{i}", "").strip(),
        )
        if not listing_id and not quantity:
            continue
        lines.append(
            form_dict({"listing_id": listing_id, "quantity": quantity}, ints=("listing_id", "quantity"))
        )
    data_in: dict[str, Any] = form_dict(
        {k: request.form.get(k, "") for k in ("distributor_id", "urgency", "note")}, ints=("distributor_id",)
    )
    data_in["lines"] = lines
    try:
        data = load(OrderCreateSchema(), data_in)
        order = attempt(
            lambda db: ordering.place_orders(
                db,
                who,
                distributor_id=data["distributor_id"],
                lines=[ordering.LineRequest(**line) for line in data["lines"]],
                urgency=data["urgency"],
                note=data["note"],
                now=clock.now(),
                deadlines=current_app.config["VBP"].delivery_deadlines(),
            )
        )
    except FormFailed:
        return render_template(
            "web/hospital_order_form.html",
            listings=choices,
            distributors=distributors,
            lines=ORDER_FORM_LINES,
            form=request.form,
        ), 422
    return done(
        _("Order #%(id)s was sent to the distributor.", id=order.id), "web.order_detail", order_id=order.id
    )


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
            row_errors = [row_error(err.row, err.column, err.message, _lang()) for err in exc.errors]
            status = 422
        except ValidationFailed as exc:
            fields = exc.fields.items()
            row_errors = [field_error(name, m, _lang()) for name, messages in fields for m in messages] or [
                exc.message
            ]
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
    return render_template(
        "web/hospital_demand.html",
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
