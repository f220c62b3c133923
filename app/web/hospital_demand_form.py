"""Demand reporting (报量) by form: batch items picked by name and specification, never by id; any
number of rows; all rows saved or none, a refused row named as people count it (第 3 行). The
spreadsheet upload stays on the demand page for long lists."""

from __future__ import annotations

from flask import flash, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.db import unit_of_work
from app.web.common import WRITERS, FormFailed, actor, ascii_int, done, page, web
from bidding import demand
from bidding.models import BatchItem
from core import clock
from core.actors import Actor, OrgKind
from core.errors import DomainError

START_ROWS, MORE_ROWS, MAX_ROWS = 5, 5, 300
FIELD_WORDS = {"item_id": _l("Item"), "quantity": _l("Annual quantity"), "region_code": _l("Region")}


def item_label(item: BatchItem) -> str:
    """What people call a batch item: its generic name and specification (strengths allowed)."""
    strengths = "/".join(f"{s}{item.rep_strength_unit}" for s in item.allowed_strengths or ())
    spec = strengths or f"{item.rep_strength_value}{item.rep_strength_unit}"
    return f"{item.generic_name} {spec}"


def _rows() -> list[tuple[str, str]]:
    try:
        count = min(max(ascii_int(request.form.get("rows", "")), 0), MAX_ROWS)
    except ValueError:
        count = START_ROWS
    return [
        (request.form.get(f"item-{i}", "").strip(), request.form.get(f"quantity-{i}", "").strip())
        for i in range(count)
    ]


def _flash_rows(exc: DomainError) -> None:
    """The service names a line `row N.<field>` (the row numbers we pass): 第 N 行."""
    flash(exc.message, "error")
    for name, messages in exc.fields.items():
        where, _dot, field = name.partition(".")
        number = where.removeprefix("row ").strip()
        for message in messages:
            word = FIELD_WORDS.get(field, field)
            text = f"{word}: {message}" if word else message
            if number.isdigit():
                flash(_("Row %(n)s: %(message)s", n=number, message=text), "error")
            else:
                flash(f"{name}: {message}", "error")


def _save(who: Actor, batch_id: int, rows: list[tuple[str, str]]) -> int:
    """Report the filled rows, all or none; FormFailed (messages flashed) otherwise."""
    numbers, lines = [], []
    for number, (item, quantity) in enumerate(rows, start=1):
        if not item and not quantity:
            continue
        try:
            lines.append(demand.DemandLine(item_id=ascii_int(item), quantity=ascii_int(quantity)))
        except ValueError:
            text = _("Choose an item and enter a whole number.")
            flash(_("Row %(n)s: %(message)s", n=number, message=text), "error")
            raise FormFailed from None
        numbers.append(number)
    if not lines:
        flash(_("Choose an item and a quantity on at least one row."), "error")
        raise FormFailed
    try:
        with unit_of_work() as db:
            saved = demand.report_demand(db, who, batch_id, lines=lines, now=clock.now(), row_numbers=numbers)
    except DomainError as exc:
        _flash_rows(exc)
        raise FormFailed from exc
    return len(saved)


@web.route("/hospital/demand/form", methods=["GET", "POST"])
@page(OrgKind.HOSPITAL, roles=WRITERS)
def hospital_demand_form() -> ResponseReturnValue:
    from app.web.hospital import _collecting

    who = actor()
    open_batches = _collecting(who)
    chosen_id = request.values.get("batch_id", type=ascii_int)
    batch = next((b for b in open_batches if b.id == chosen_id), open_batches[0] if open_batches else None)
    rows = _rows() if request.method == "POST" else [("", "") for _ in range(START_ROWS)]
    status = 200
    if request.method == "POST" and batch is not None:
        if request.form.get("action") == "more":
            rows += [("", "")] * min(MORE_ROWS, MAX_ROWS - len(rows))
        else:
            try:
                saved = _save(who, batch.id, rows)
                return done(_("%(n)s demand lines saved.", n=saved), "web.hospital_demand", batch_id=batch.id)
            except FormFailed:
                status = 422
    return render_template(
        "web/hospital_demand_form.html",
        batches=open_batches,
        batch=batch,
        items=sorted(batch.items, key=item_label) if batch is not None else [],
        item_label=item_label,
        rows=rows,
    ), status
