"""The hospital's order form: the listings of its region only, with the distributors authorized
for them; a catalogue search by name, code or manufacturer; any number of lines; a running total
(recomputed on the server on every submit, live with app/web/static/order-form.js); a re-order
from a past order. A refused line is named as people count it (第 3 行) and nothing is written."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import current_app, flash, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import or_, select

from app.db import request_session, unit_of_work
from app.web.common import (
    WRITERS,
    FormFailed,
    actor,
    ascii_int,
    done,
    form_dict,
    org_name,
    page,
    page_lang,
    web,
)
from app.web.form_messages import field_error
from bidding.models import Product
from core import clock
from core.actors import Actor, OrgKind
from core.errors import DomainError
from core.organizations import Organization
from core.validation import flatten_messages
from ledger.models import DistributionAuthorization, Listing, ListingMode, ListingStatus, Order
from ledger.schemas import OrderCreateSchema
from ledger.services import ordering
from ledger.services.listings import covers, listings_visible_to, prefecture, province
from ledger.supervision.listing_facts import annotate

#: Empty rows on a new form, rows added by "more rows", and the most a form carries.
START_ROWS, MORE_ROWS, MAX_ROWS = 5, 5, 300


@dataclass
class FormRow:
    listing_id: str = ""
    quantity: str = ""

    def amount_fen(self, prices: Mapping[int, int]) -> int | None:
        try:
            listing_id, quantity = ascii_int(self.listing_id), ascii_int(self.quantity)
        except ValueError:
            return None
        price = prices.get(listing_id)
        return None if price is None or quantity <= 0 else price * quantity


def orderable(who: Actor) -> list[Listing]:
    """Listed products the hospital may order: its prefecture's and province's listings, and its
    own filed purchases (the same rule place_orders applies)."""
    db = request_session()
    region = db.get_one(Organization, who.org_id).region_code
    rows = db.scalars(
        listings_visible_to(who)
        .join(Product, Product.id == Listing.product_id)
        .where(
            Listing.status == ListingStatus.LISTED,
            or_(
                Listing.mode == ListingMode.FILED,
                Listing.region_code.in_((prefecture(region), province(region))),
            ),
        )
        .order_by(Product.generic_name, Listing.id)
    )
    return [row for row in rows if row.mode is ListingMode.FILED or covers(row.region_code, region)]


def authorized_distributors(who: Actor, choices: list[Listing]) -> list[tuple[int, str]]:
    """Distributors authorized for at least one of these listings in the hospital's region."""
    db = request_session()
    region = db.get_one(Organization, who.org_id).region_code
    pairs = {(row.manufacturer_id, row.product_id) for row in choices}
    auths = db.execute(
        select(
            DistributionAuthorization.distributor_id,
            DistributionAuthorization.manufacturer_id,
            DistributionAuthorization.product_key,
        ).where(
            DistributionAuthorization.active.is_(True),
            DistributionAuthorization.region_code.in_((prefecture(region), province(region))),
            DistributionAuthorization.manufacturer_id.in_({m for m, _ in pairs} or {0}),
        )
    ).all()
    ids = {d for d, m, key in auths if any(m == pm and key in (0, pp) for pm, pp in pairs)}
    return sorted(((d, org_name(d)) for d in ids), key=lambda pair: pair[1])


def search(choices: list[Listing], query: str) -> list[Listing]:
    """Catalogue search by generic name, product code, national-code prefix or manufacturer
    (case-insensitive)."""
    words = query.strip().lower()
    if not words:
        return []
    return [
        row
        for row in choices
        if words in row.product.generic_name.lower()
        or words in row.product.code.lower()
        or (row.product.national_code or "").lower().startswith(words)
        or words in org_name(row.manufacturer_id).lower()
    ]


def form_rows() -> list[FormRow]:
    try:
        count = min(max(ascii_int(request.form.get("rows", "")), 0), MAX_ROWS)
    except ValueError:
        count = START_ROWS
    return [
        FormRow(request.form.get(f"listing-{i}", "").strip(), request.form.get(f"quantity-{i}", "").strip())
        for i in range(count)
    ]


def render(
    who: Actor, rows: list[FormRow], fields: Mapping[str, str], status: int = 200
) -> ResponseReturnValue:
    choices = orderable(who)
    prices = {row.id: row.pack_price_fen for row in choices}
    amounts = [row.amount_fen(prices) for row in rows]
    query = fields.get("q", "")
    recent = list(
        request_session().scalars(ordering.orders_visible_to(who).order_by(Order.id.desc()).limit(5))
    )
    return render_template(
        "web/hospital_order_form.html",
        listings=choices,
        distributors=authorized_distributors(who, choices),
        rows=rows,
        amounts=amounts,
        total=sum(a for a in amounts if a is not None),
        form=fields,
        query=query,
        found=_with_facts(search(choices, query)),
        recent=recent,
    ), status


def _with_facts(found: list[Listing]) -> list[Listing]:
    """Search results with their payment standard and their enterprise's credit grade (issue 18)."""
    annotate(request_session(), found, current_app.config["VBP"].supervision)
    return found


def flash_rows(fields: Mapping[str, list[str]], numbers: list[int]) -> None:
    """Errors on `lines.<i>.<field>` named by the row the form shows (第 3 行 · 数量：…), in the
    page's language (app/web/messages.py), others by their field's label."""
    lang = page_lang()
    for name, messages in fields.items():
        parts = name.split(".")
        if parts[0] == "lines" and len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) < len(numbers):
            parts[1] = str(numbers[int(parts[1])] - 1)  # the row on the form, not among the filled ones
        for message in messages:
            flash(field_error(".".join(parts), message, lang), "error")


def place(who: Actor, rows: list[FormRow]) -> Order:
    numbers, lines = [], []
    for number, row in enumerate(rows, start=1):
        if row.listing_id or row.quantity:
            numbers.append(number)
            lines.append(form_dict(vars(row), ints=("listing_id", "quantity")))
    data_in: dict[str, Any] = form_dict(
        {k: request.form.get(k, "") for k in ("distributor_id", "urgency", "note")}, ints=("distributor_id",)
    )
    data_in["lines"] = lines
    if not lines:
        flash(_("Choose a product and a quantity on at least one row."), "error")
        raise FormFailed
    try:
        data = OrderCreateSchema().load(data_in)
    except ValidationError as exc:
        flash_rows(flatten_messages(exc.messages), numbers)
        raise FormFailed from exc
    try:
        with unit_of_work() as db:
            return ordering.place_orders(
                db,
                who,
                distributor_id=data["distributor_id"],
                lines=[ordering.LineRequest(**line) for line in data["lines"]],
                urgency=data["urgency"],
                note=data["note"],
                now=clock.now(),
                deadlines=current_app.config["VBP"].delivery_deadlines(),
            )
    except DomainError as exc:
        flash(exc.message, "error")
        flash_rows(exc.fields, numbers)
        raise FormFailed from exc


def reorder_rows(who: Actor, order_id: int) -> tuple[list[FormRow], dict[str, str]]:
    """A past order's lines and distributor, for the lines still orderable (others are named)."""
    past = ordering.get_order(request_session(), who, order_id)  # another hospital's: NotFound (404)
    still = {row.id for row in orderable(who)}
    rows = [
        FormRow(str(line.listing_id), str(line.quantity)) for line in past.lines if line.listing_id in still
    ]
    gone = [line for line in past.lines if line.listing_id not in still]
    for line in gone:
        flash(
            _("%(product)s can no longer be ordered and was left out.", product=line.product.generic_name),
            "warning",
        )
    flash(
        _("Lines copied from order #%(id)s: check the quantities, then place the order.", id=past.id), "info"
    )
    return rows + [FormRow() for _ in range(max(START_ROWS - len(rows), 1))], {
        "distributor_id": str(past.distributor_id),
        "urgency": past.urgency.value,
    }


@web.route("/hospital/orders/new", methods=["GET", "POST"])
@page(OrgKind.HOSPITAL, roles=WRITERS)
def hospital_order_form() -> ResponseReturnValue:
    who = actor()
    if request.method == "GET":
        fields: dict[str, str] = {"q": request.args.get("q", "")}
        reorder = request.args.get("reorder", type=ascii_int)
        if reorder is not None:
            rows, copied = reorder_rows(who, reorder)
            return render(who, rows, fields | copied)
        return render(who, [FormRow() for _ in range(START_ROWS)], fields)
    rows, fields = form_rows(), request.form.to_dict()
    add = request.form.get("add_listing", type=ascii_int)
    action = request.form.get("action", "place")
    if add is not None:
        empty = next((row for row in rows if not row.listing_id and not row.quantity), None)
        if empty is None and len(rows) < MAX_ROWS:
            rows.append(empty := FormRow())
        if empty is not None:
            empty.listing_id = str(add)
        return render(who, rows, fields)
    if action == "more":
        return render(who, rows + [FormRow() for _ in range(min(MORE_ROWS, MAX_ROWS - len(rows)))], fields)
    if action in ("search", "recalculate"):
        return render(who, rows, fields)
    try:
        order = place(who, rows)
    except FormFailed:
        return render(who, rows, fields, 422)
    return done(
        _("Order #%(id)s was sent to the distributor.", id=order.id), "web.order_detail", order_id=order.id
    )
