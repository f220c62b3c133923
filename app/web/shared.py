"""Pages every kind of user has: login, language, dashboard, orders, invoices, statements and
indicators (each scoped to the caller's organization by the domain queries)."""

from __future__ import annotations

import math
from datetime import date
from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from marshmallow import fields, validate

from app.auth import LoginThrottled, login_session, logout_session, optional_actor, password_login
from app.db import request_session, unit_of_work
from app.web.common import (
    LANGUAGES,
    WRITERS,
    FormFailed,
    actor,
    attempt,
    done,
    form_dict,
    load,
    page,
    web,
)
from core import clock
from core.actors import OrgKind
from core.errors import AuthenticationRequired
from core.validation import BaseSchema
from ledger import statements
from ledger.models import OrderStatus
from ledger.order_views import order_view
from ledger.schemas import StatementDecisionSchema
from ledger.services import invoicing, ordering
from ledger.supervision import supply


class LoginForm(BaseSchema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, validate=validate.Length(min=1, max=256))


def _safe_next(target: str | None) -> str | None:
    """Only paths on this site: never an open redirect to somewhere else."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@web.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if request.method == "GET":
        if optional_actor() is not None:
            return redirect(url_for("web.dashboard"))
        return render_template("web/login.html", next=_safe_next(request.args.get("next")))
    target = _safe_next(request.form.get("next"))
    try:
        typed = {
            "username": request.form.get("username", "").strip(),
            "password": request.form.get("password", ""),
        }
        data = load(LoginForm(), {k: v for k, v in typed.items() if v})
    except FormFailed:
        return render_template("web/login.html", next=target), 422
    try:
        user = password_login(data["username"], data["password"])
    except LoginThrottled as exc:
        minutes = max(1, math.ceil(exc.seconds / 60))
        message = _("Too many failed logins from here. Please try again in %(minutes)s min.", minutes=minutes)
        flash(message, "error")
        page = render_template("web/login.html", next=target, username=data["username"])
        return page, 429, {"Retry-After": str(exc.seconds)}
    except AuthenticationRequired:
        flash(_("Wrong username or password."), "error")
        return render_template("web/login.html", next=target, username=data["username"]), 401
    login_session(user)
    return redirect(target or url_for("web.dashboard"))


@web.route("/logout", methods=["POST"])
def logout() -> ResponseReturnValue:
    logout_session()
    flash(_("You have logged out."), "success")
    return redirect(url_for("web.login"))


@web.route("/language", methods=["POST"])
def language() -> ResponseReturnValue:
    chosen = request.form.get("lang", "")
    if chosen in LANGUAGES:
        session["lang"] = chosen
    return redirect(_safe_next(request.form.get("next")) or url_for("web.dashboard"))


# --- orders (every party sees its own) -----------------------------------------------------------


@web.route("/orders/<int:order_id>")
@page()
def order_detail(order_id: int) -> ResponseReturnValue:
    who = actor()
    found = ordering.get_order(request_session(), who, order_id)
    if who.org_kind is OrgKind.DISTRIBUTOR and found.first_read_at is None:
        with unit_of_work(request_session()) as db:  # the distributor's first read (supervision §1)
            supply.note_first_read(db, who, found, now=clock.now())
    # A manufacturer sees only its products' lines of a shared order (ledger/order_views.py).
    order = order_view(request_session(), who, found)
    shipments = list(
        request_session().scalars(
            ordering.shipment_lines_visible_to(who)
            .where(ordering.ShipmentLine.order_line_id.in_([line.id for line in order.lines]))
            .order_by(ordering.ShipmentLine.id)
        )
    )
    can_ship = (
        who.org_kind is OrgKind.DISTRIBUTOR
        and who.role in WRITERS
        and order.status in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_SHIPPED)
    )
    return render_template(
        "web/order_detail.html",
        order=order,
        shipments=shipments,
        can_decide=who.org_kind is OrgKind.DISTRIBUTOR
        and who.role in WRITERS
        and order.status == OrderStatus.SUBMITTED,
        can_ship=can_ship,
        can_mark_stock_out=can_ship,
        stock_outs=supply.stock_outs_of(request_session(), order.id)
        if who.is_bureau or who.org_kind in (OrgKind.HOSPITAL, OrgKind.DISTRIBUTOR)
        else {},
        can_cancel=who.org_kind is OrgKind.HOSPITAL
        and who.role in WRITERS
        and order.status in (OrderStatus.SUBMITTED, OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_SHIPPED),
        today=clock.business_date(clock.now()),
    )


@web.route("/orders/<int:order_id>/cancel", methods=["POST"])
@page(OrgKind.HOSPITAL, roles=WRITERS)
def order_cancel(order_id: int) -> ResponseReturnValue:
    from ledger.schemas import CancelSchema

    try:
        data = load(CancelSchema(), form_dict(request.form))
        attempt(
            lambda db: ordering.cancel_order(db, actor(), order_id, reason=data["reason"], now=clock.now())
        )
    except FormFailed:
        return redirect(url_for("web.order_detail", order_id=order_id))
    return done(_("The order's unshipped quantities were cancelled."), "web.order_detail", order_id=order_id)


# --- invoices -----------------------------------------------------------------------------------


@web.route("/invoices")
@page(OrgKind.HOSPITAL, OrgKind.DISTRIBUTOR, OrgKind.MANUFACTURER, OrgKind.BUREAU)
def invoices() -> ResponseReturnValue:
    # The hospital's invoices-to-confirm page and its bulk confirmation: app/web/hospital_bulk.py.
    from app.web.hospital_bulk import invoices_page

    return invoices_page()


@web.route("/invoice-lines/<int:line_id>/decision", methods=["POST"])
@page(OrgKind.HOSPITAL, roles=WRITERS)
def invoice_decision(line_id: int) -> ResponseReturnValue:
    from ledger.schemas import InvoiceDecisionSchema

    try:
        data = load(InvoiceDecisionSchema(), form_dict(request.form, bools=("confirm",)))
        attempt(lambda db: invoicing.decide_invoice_line(db, actor(), line_id, now=clock.now(), **data))
    except FormFailed:
        return redirect(url_for("web.invoices", status="pending"))
    return done(_("Your decision on the invoice line was recorded."), "web.invoices", status="pending")


# --- statements ---------------------------------------------------------------------------------


@web.route("/statements/<int:statement_id>/decision", methods=["POST"])
@page(OrgKind.HOSPITAL, OrgKind.DISTRIBUTOR, roles=WRITERS)
def statement_decision(statement_id: int) -> ResponseReturnValue:
    try:
        data = load(StatementDecisionSchema(), form_dict(request.form, bools=("confirm",)))
        attempt(lambda db: statements.decide(db, actor(), statement_id, now=clock.now(), **data))
    except FormFailed:
        return redirect(url_for("web.statements_page"))
    return done(_("Your decision on the statement was recorded."), "web.statements_page")


# --- indicators ---------------------------------------------------------------------------------


@web.route("/indicators")
@page(OrgKind.HOSPITAL, OrgKind.BUREAU, OrgKind.DISTRIBUTOR, OrgKind.MANUFACTURER)
def indicators_page() -> ResponseReturnValue:
    from reports.indicators import DRUG_ONLINE_TARGET, HVC_ONLINE_TARGET, GroupBy, compute_indicators

    today = clock.business_date(clock.now())
    month = request.args.get("month", "") or clock.previous_month(clock.month_start(today)).strftime("%Y-%m")
    group_by = request.args.get("group_by", "province")
    try:
        start = date.fromisoformat(month + "-01")
        if not 2000 <= start.year <= 2099:
            raise ValueError(month)
        grouping = GroupBy(group_by)
    except ValueError:
        flash(_("Choose a month as YYYY-MM and a grouping from the list."), "error")
        return render_template(
            "web/indicators.html", month=month, group_by=group_by, report=None, groupings=list(GroupBy)
        ), 422
    report = compute_indicators(
        request_session(),
        actor(),
        period_from=start,
        period_before=clock.next_month(start),
        group_by=grouping,
        as_of=today,
    )
    return render_template(
        "web/indicators.html",
        month=month,
        group_by=group_by,
        report=report,
        groupings=list(GroupBy),
        targets={"drug": DRUG_ONLINE_TARGET, "hvc": HVC_ONLINE_TARGET},
    )
