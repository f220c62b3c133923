"""Hospital pages that confirm many things at once: deliveries (验收) and invoice lines, ticked on
the list and confirmed together in one unit of work. A refused row names itself as people count
it ("第 3 行") and nothing of the batch is kept."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import request_session, unit_of_work
from app.web.common import PER_PAGE, WRITERS, FormFailed, actor, ascii_int, done, label, page, paged, web
from core import clock
from core.actors import Actor, OrgKind
from core.errors import DomainError
from ledger.models import InvoiceLine, OrderLine, ShipmentLine
from ledger.services import invoicing, ordering
from ledger.services.ordering import REJECTION_REASONS

T = TypeVar("T")


@dataclass(frozen=True)
class Row:
    """One ticked row of a list: its number as the page shows it (1-based) and its record's id."""

    number: int
    id: int


class RowRefused(Exception):
    def __init__(self, number: int, error: DomainError) -> None:
        super().__init__(error.message)
        self.number, self.error = number, error


def row_number(record_id: int, default: int) -> int:
    """The number the page showed for a record's row (`row-<id>`)."""
    try:
        return ascii_int(request.form.get(f"row-{record_id}", ""))
    except ValueError:
        return default


def ticked(field: str = "pick") -> list[Row]:
    """The ticked rows of a bulk form in page order."""
    rows = []
    for text in dict.fromkeys(request.form.getlist(field)):
        try:
            record_id = ascii_int(text)
        except ValueError:
            continue
        rows.append(Row(row_number(record_id, len(rows) + 1), record_id))
    return sorted(rows, key=lambda row: row.number)


def all_or_nothing(rows: Sequence[Row], work: Callable[[Session, Row], T]) -> list[T]:
    """Run `work` for every row in one unit of work; the first refusal is flashed with its row
    number and rolls back the whole batch."""
    if not rows:
        flash(_("Tick at least one row."), "error")
        raise FormFailed
    try:
        with unit_of_work() as db:
            results = []
            for row in rows:
                try:
                    results.append(work(db, row))
                except DomainError as exc:
                    raise RowRefused(row.number, exc) from exc
            return results
    except RowRefused as refused:
        flash(_("Row %(n)s: %(message)s", n=refused.number, message=refused.error.message), "error")
        for name, messages in refused.error.fields.items():
            for message in messages:
                text = name + ": " + message
                flash(_("Row %(n)s: %(message)s", n=refused.number, message=text), "error")
        flash(_("Nothing was confirmed; correct the row and try again."), "error")
        raise FormFailed from refused
    except DomainError as exc:
        flash(exc.message, "error")
        raise FormFailed from exc


def order_lines_by_id(who: Actor, ids: Iterable[int]) -> dict[int, OrderLine]:
    """The caller's order lines (with their product) for the lines a list shows."""
    wanted = set(ids)
    if not wanted:
        return {}
    stmt = ordering.order_lines_visible_to(who).where(OrderLine.id.in_(wanted))
    return {line.id: line for line in request_session().scalars(stmt)}


# --- deliveries to confirm ----------------------------------------------------------------------


def pending_receipts(who: Actor) -> Any:
    """Shipment lines delivered to the hospital and not yet confirmed (验收)."""
    from ledger.models import ReceiptLine

    confirmed = select(ReceiptLine.shipment_line_id)
    return ordering.shipment_lines_visible_to(who).where(ShipmentLine.id.not_in(confirmed))


def _reasons() -> list[tuple[str, str]]:

    return [(code, label(code)) for code in REJECTION_REASONS]


def deliveries_page(status: int = 200) -> ResponseReturnValue:
    from app.web.hospital_slip import received_shipments

    who = actor()
    pager = paged(pending_receipts(who).order_by(ShipmentLine.id))
    return render_template(
        "web/hospital_deliveries.html",
        pager=pager,
        first=(pager.page - 1) * PER_PAGE + 1,
        lines=order_lines_by_id(who, (s.order_line_id for s in pager.items)),
        reasons=_reasons(),
        today=clock.business_date(clock.now()),
        form=request.form if request.method == "POST" else {},
        picked=set(request.form.getlist("pick")) if request.method == "POST" else set(),
        received=received_shipments(who),
    ), status


@web.route("/hospital/deliveries/received")
@page(OrgKind.HOSPITAL)
def hospital_received() -> ResponseReturnValue:
    """Every delivered line the hospital has confirmed: searched, dated, totalled, exported."""
    from app.web.ledger_tables import received_table

    table, stmt = received_table(actor())
    query = table.query(stmt)
    if query.export_format:
        return query.export(query.all_rows())
    return render_template(
        "web/hospital_received.html", pager=query.paged(), query=query, totals=query.totals()
    )


def _receipt(db: Session, who: Actor, row: Row) -> Any:
    def number(name: str, default: int = 0) -> int:
        text = request.form.get(f"{name}-{row.id}", "").strip()
        if not text:
            return default
        try:
            return ascii_int(text)
        except ValueError:
            from core.errors import ValidationFailed

            raise ValidationFailed(fields={name: [_("Enter a whole number.")]}) from None

    accepted_on: date | None = None
    day = request.form.get(f"on-{row.id}", "").strip()
    if day:
        try:
            accepted_on = date.fromisoformat(day)
        except ValueError:
            from core.errors import ValidationFailed

            raise ValidationFailed(fields={"accepted_on": [_("Enter a date as YYYY-MM-DD.")]}) from None
    return ordering.confirm_receipt(
        db,
        who,
        row.id,
        accepted=number("accepted"),
        rejected=number("rejected"),
        reason_code=request.form.get(f"reason-{row.id}", "").strip() or None,
        accepted_on=accepted_on,
        now=clock.now(),
    )


@web.route("/hospital/deliveries/confirm", methods=["POST"])
@page(OrgKind.HOSPITAL, roles=WRITERS)
def hospital_receipts_bulk() -> ResponseReturnValue:
    """Confirm every ticked delivery with its accepted / rejected quantity, all or none."""
    who = actor()
    # A row's own button (`only`) confirms that row alone, whatever else is ticked.
    only = request.form.get("only", type=ascii_int)
    rows = [Row(row_number(only, 1), only)] if only is not None else ticked()
    try:
        receipts = all_or_nothing(rows, lambda db, row: _receipt(db, who, row))
    except FormFailed:
        return deliveries_page(422)
    if only is not None:
        return done(
            _(
                "Receipt of shipment line %(id)s recorded: %(a)s accepted, %(r)s rejected.",
                id=only,
                a=receipts[0].accepted_quantity,
                r=receipts[0].rejected_quantity,
            ),
            "web.hospital_deliveries",
        )
    return done(_("%(n)s deliveries confirmed.", n=len(receipts)), "web.hospital_deliveries")


# --- invoices to confirm ------------------------------------------------------------------------


def invoices_page(status: int = 200) -> ResponseReturnValue:
    from app.web.ledger_tables import invoices_table

    who = actor()
    table, stmt = invoices_table(who)
    # A refused bulk confirmation shows the pending lines again, with the ticks kept.
    chosen = request.args.get("status", "pending" if request.method == "POST" else "")
    if chosen in ("pending", "confirmed", "disputed"):
        stmt = stmt.where(InvoiceLine.status == chosen)
    else:
        chosen = ""
    query = table.query(stmt)
    if query.export_format:
        return query.export(query.all_rows())
    pager = query.paged()
    return render_template(
        "web/invoices.html",
        pager=pager,
        query=query,
        totals=query.totals(),
        status=chosen,
        first=(pager.page - 1) * query.per_page + 1,
        picked=set(request.form.getlist("pick")) if request.method == "POST" else set(),
    ), status


@web.route("/invoice-lines/confirm", methods=["POST"])
@page(OrgKind.HOSPITAL, roles=WRITERS)
def invoice_lines_bulk() -> ResponseReturnValue:
    """Confirm every ticked invoice line (posting each), all or none."""
    who = actor()
    try:
        confirmed = all_or_nothing(
            ticked(),
            lambda db, row: invoicing.decide_invoice_line(
                db, who, row.id, confirm=True, reason=None, now=clock.now()
            ),
        )
    except FormFailed:
        return invoices_page(422)
    flash(_("%(n)s invoice lines confirmed.", n=len(confirmed)), "success")
    return redirect(url_for("web.invoices", status="pending"))
