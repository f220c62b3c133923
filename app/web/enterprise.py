"""Enterprise pages. Manufacturers: open batches, sealed bids (submit, replace, withdraw) with
their receipt digests, results and allocations. Distributors: accept and ship orders, issue
invoices, file settlement applications, payments received and overdue receivables."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import and_, or_, select

from app import bid_sealer
from app.db import request_session
from app.web.common import (
    ENTERPRISES,
    WRITERS,
    FormFailed,
    actor,
    ascii_int,
    attempt,
    done,
    form_dict,
    load,
    org_name,
    page,
    paged,
    paged_list,
    web,
)
from app.web.enterprise_forms import attempt_rows, load_rows
from bidding import batches, bids, queries
from bidding.models import (
    BatchItem,
    BatchStatus,
    Bid,
    ProcurementBatch,
    Product,
    SelectionSource,
    VolumeAllocation,
)
from bidding.schemas import BidSubmitSchema
from core import clock
from core.actors import OrgKind
from ledger import reconcile
from ledger.models import InvoiceLine, Payment
from ledger.reconcile import Slice, Status
from ledger.schemas import ApplicationFileSchema, DecisionSchema, ShipmentCreateSchema
from ledger.scoping import party_scope
from ledger.services import invoicing, ordering, settlement
from ledger.services.settlement import SettlementCalendar

# --- orders: accept or refuse, ship -------------------------------------------------------------


@web.route("/enterprise/orders/<int:order_id>/decision", methods=["POST"])
@page(OrgKind.DISTRIBUTOR, roles=WRITERS)
def enterprise_order_decision(order_id: int) -> ResponseReturnValue:
    try:
        data = load(DecisionSchema(), form_dict(request.form, bools=("accept",)))
        attempt(
            lambda db: ordering.decide_order(
                db, actor(), order_id, accept=data["accept"], reason=data["reason"], now=clock.now()
            )
        )
    except FormFailed:
        return _back_to(order_id)
    message = _("Order accepted.") if data["accept"] else _("Order refused.")
    return done(message, "web.order_detail", order_id=order_id)


@web.route("/enterprise/orders/<int:order_id>/shipments", methods=["POST"])
@page(OrgKind.DISTRIBUTOR, roles=WRITERS)
def enterprise_ship(order_id: int) -> ResponseReturnValue:
    """Ship the quantities typed; a refused form shows the order again with what was typed and
    names each refused row as it is numbered in the shipment table."""
    order = ordering.get_order(request_session(), actor(), order_id)
    shown = [line.id for line in order.lines if ordering.remaining_to_ship(line) > 0]
    lines: list[dict[str, Any]] = []
    rows: list[int] = []
    for key in request.form:
        if not key.startswith("qty-"):
            continue
        line_id = key.removeprefix("qty-")
        quantity = request.form.get(key, "").strip()
        if quantity in ("", "0"):
            continue  # a line left at 0 is not shipped now
        rows.append(shown.index(int(line_id)) + 1 if line_id.isdigit() and int(line_id) in shown else 0)
        lines.append(
            form_dict(
                {
                    "order_line_id": line_id,
                    "quantity": quantity,
                    "batch_no": request.form.get(f"batch-{line_id}", ""),
                    "expiry_on": request.form.get(f"expiry-{line_id}", ""),
                },
                ints=("order_line_id", "quantity"),
            )
        )
    payload: dict[str, Any] = {"lines": lines}
    if request.form.get("delivery_note", "").strip():
        payload["delivery_note"] = request.form["delivery_note"].strip()
    try:
        data = load_rows(ShipmentCreateSchema(), payload, rows)
        shipment = attempt_rows(
            lambda db: ordering.ship(
                db,
                actor(),
                order_id,
                lines=[ordering.ShipRequest(**line) for line in data["lines"]],
                delivery_note=data["delivery_note"],
                now=clock.now(),
            ),
            rows,
        )
    except FormFailed:
        from app.web.shared import order_detail

        request_session().expire_all()
        return order_detail(order_id=order_id), 422
    return done(_("Shipment %(id)s recorded.", id=shipment.id), "web.order_detail", order_id=order_id)


def _back_to(order_id: int) -> ResponseReturnValue:
    return redirect(url_for("web.order_detail", order_id=order_id))


# --- batches and bids (manufacturers) -----------------------------------------------------------


@web.route("/enterprise/batches")
@page(OrgKind.MANUFACTURER)
def enterprise_batches() -> ResponseReturnValue:
    who = actor()
    stmt = batches.batches_visible_to(who).order_by(ProcurementBatch.id.desc())
    return render_template("web/enterprise_batches.html", pager=paged(stmt))


@web.route("/enterprise/batches/<int:batch_id>")
@page(OrgKind.MANUFACTURER)
def enterprise_batch(batch_id: int) -> ResponseReturnValue:
    return _batch_page(batch_id, None, 200)


@web.route("/enterprise/batches/<int:batch_id>/bids", methods=["POST"])
@page(OrgKind.MANUFACTURER, roles=WRITERS)
def enterprise_bid(batch_id: int) -> ResponseReturnValue:
    """Submit (or replace) the sealed bid for an item; the page shows the receipt once."""
    who = actor()
    try:
        data = load(
            BidSubmitSchema(),
            form_dict(request.form, ints=("item_id", "product_id"), bools=("accepts_revival",))
            | {"accepts_revival": request.form.get("accepts_revival") == "true"},
        )
        receipt = attempt(
            lambda db: bids.submit_bid(
                db,
                who,
                batch_id,
                item_id=data["item_id"],
                product_id=data["product_id"],
                pack_price_fen=data["pack_price"],
                accepts_revival=data["accepts_revival"],
                province=current_app.config["VBP"].province_code,
                sealer=bid_sealer(),
                now=clock.now(),
            )
        )
    except FormFailed:
        return _batch_page(batch_id, None, 422)
    flash(_("Your sealed bid was received. Keep the digest and salt below."), "success")
    return _batch_page(batch_id, receipt, 201)


def _batch_page(batch_id: int, receipt: Any, status: int) -> ResponseReturnValue:
    who = actor()
    db = request_session()
    batch = batches.get_batch(db, who, batch_id)
    items = list(db.scalars(select(BatchItem).where(BatchItem.batch_id == batch.id).order_by(BatchItem.id)))
    mine = list(db.scalars(bids.bids_visible_to(who).where(Bid.batch_id == batch.id).order_by(Bid.id.desc())))
    imported = batch.selection is SelectionSource.IMPORTED  # winners public from the import
    results = queries.results_for(db, who, batch.id) if batch.opened_at or imported else None
    products = _own_products(db, who, items, {b.product_id for b in mine})
    return render_template(
        "web/enterprise_batch.html",
        batch=batch,
        items=items,
        item_names={i.id: f"{i.generic_name} {i.rep_strength_value}{i.rep_strength_unit}" for i in items},
        products=products,
        choices={
            i.id: [p for p in products.values() if p.mah_id == who.org_id and p.active and _fits(i, p)]
            for i in items
        },
        form=request.form if status == 422 else {},
        bids=paged_list(mine),
        bidding=batch.status is BatchStatus.BIDDING and who.role in WRITERS,
        receipt=receipt,
        awards=[a for a in results.awards if a.manufacturer_id == who.org_id] if results else [],
        allocations=paged(queries.allocations_visible_to(db, who, batch.id).order_by(VolumeAllocation.id))
        if results
        else None,
    ), status


def _own_products(db: Any, who: Any, items: list[BatchItem], extra: set[int]) -> dict[int, Product]:
    """The manufacturer's products of the batch's varieties (to pick from), and those its bids name."""
    names = {i.generic_name for i in items}
    stmt = select(Product).where(
        or_(and_(Product.mah_id == who.org_id, Product.generic_name.in_(names)), Product.id.in_(extra))
    )
    return {p.id: p for p in db.scalars(stmt.order_by(Product.spec_text, Product.id))}


def _fits(item: BatchItem, product: Product) -> bool:
    return product.generic_name == item.generic_name and product.dosage_form_group == item.dosage_form_group


@web.route("/enterprise/bids/<int:bid_id>/withdraw", methods=["POST"])
@page(OrgKind.MANUFACTURER, roles=WRITERS)
def enterprise_withdraw(bid_id: int) -> ResponseReturnValue:
    try:
        bid = attempt(lambda db: bids.withdraw_bid(db, actor(), bid_id, now=clock.now()))
    except FormFailed:
        return _batch_page(request.form.get("batch_id", 0, type=ascii_int), None, 409)
    return done(_("Bid withdrawn."), "web.enterprise_batch", batch_id=bid.batch_id)


# --- settlement applications and receivables ----------------------------------------------------


@web.route("/enterprise/settlement", methods=["GET", "POST"])
@page(*ENTERPRISES)
def enterprise_settlement() -> ResponseReturnValue:
    who = actor()
    status = 200
    if request.method == "POST":
        if who.org_kind is not OrgKind.DISTRIBUTOR or who.role not in WRITERS:
            abort(403)
        payload = form_dict(request.form, ints=("hospital_id",))
        if "period_month" in payload and len(payload["period_month"]) == 7:
            payload["period_month"] += "-01"
        try:
            data = load(ApplicationFileSchema(), payload)
            application = attempt(
                lambda db: settlement.file_application(
                    db,
                    who,
                    hospital_id=data["hospital_id"],
                    period_month=data["period_month"],
                    now=clock.now(),
                    calendar=SettlementCalendar.from_terms(current_app.config["VBP"].payment_terms()),
                )
            )
            flash(_("Settlement application %(id)s filed.", id=application.id), "success")
        except FormFailed:
            status = 422
    from app.web.settlement_tables import applications_table

    table, stmt = applications_table(who)
    query = table.query(stmt)
    if query.export_format and request.method == "GET":
        return query.export(query.all_rows())
    pager = query.paged()
    return render_template(
        "web/enterprise_settlement.html",
        pager=pager,
        query=query,
        totals=query.totals(),
        hospitals=_invoiced_hospitals(who),
        form=request.form if status == 422 else {},
        last_month=clock.previous_month(clock.month_start(clock.business_date(clock.now()))).strftime(
            "%Y-%m"
        ),
    ), status


def _invoiced_hospitals(who: Any) -> list[int]:
    """The hospitals this distributor has invoiced: the ones it may file a settlement for."""
    if who.org_kind is not OrgKind.DISTRIBUTOR:
        return []
    stmt = invoicing.invoice_lines_visible_to(who).with_only_columns(InvoiceLine.hospital_id).distinct()
    return sorted(request_session().scalars(stmt), key=org_name)


@web.route("/enterprise/receivables")
@page(*ENTERPRISES)
def enterprise_receivables() -> ResponseReturnValue:
    who = actor()
    db = request_session()
    payments = party_scope(
        select(Payment), who, hospital=Payment.hospital_id, distributor=Payment.enterprise_id
    )
    overdue = reconcile.reconcile_lines(
        db,
        who,
        Slice(),
        as_of=clock.now(),
        options=current_app.config["VBP"].reconcile_options(),
        status=Status.PAYMENT_OVERDUE,
        limit=200,
    )
    return render_template(
        "web/enterprise_receivables.html",
        pager=paged(payments.order_by(Payment.paid_on.desc(), Payment.id.desc())),
        overdue=overdue,
    )


# The enterprise pages that grew into their own modules register themselves when imported.
from app.web import (  # noqa: E402, F401
    enterprise_credits,
    enterprise_documents,
    enterprise_invoices,
    enterprise_settlements,
)
