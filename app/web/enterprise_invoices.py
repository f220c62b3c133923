"""The distributor's invoice form: accepted deliveries not yet invoiced, each row with its order,
product, specification and batch, chosen by ticking; a refused form keeps the ticks and names the
refused row as 第 N 行."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app, flash, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from app.db import request_session
from app.web.common import WRITERS, FormFailed, actor, done, form_dict, page, web
from app.web.enterprise_forms import attempt_rows, load_rows
from core import clock
from core.actors import Actor, OrgKind
from core.money import fen_to_str
from ledger import flows
from ledger.models import Invoice, InvoiceLine, OrderLine, ReceiptLine, ShipmentLine
from ledger.schemas import InvoiceCreateSchema
from ledger.services import invoicing


@dataclass(frozen=True)
class ReceiptRow:
    """One accepted delivery as the invoice form shows it."""

    number: int  #: the row's number in the table (第 N 行)
    receipt: ReceiptLine
    order_line: OrderLine
    batch_no: str
    quantity: int  #: accepted − returned: what this invoice line bills
    amount_fen: int

    @property
    def product(self) -> str:
        return f"{self.order_line.product.generic_name} {self.order_line.product.spec_text}"


def uninvoiced_rows(who: Actor) -> list[ReceiptRow]:
    """This distributor's accepted receipt lines with no invoice line yet, with what they bill."""
    db = request_session()
    rows = db.execute(
        select(ReceiptLine, OrderLine, ShipmentLine.batch_no)
        .join(OrderLine, OrderLine.id == ReceiptLine.order_line_id)
        .join(ShipmentLine, ShipmentLine.id == ReceiptLine.shipment_line_id)
        .where(
            ReceiptLine.distributor_id == who.org_id,
            ReceiptLine.accepted_quantity > 0,
            ReceiptLine.id.not_in(select(InvoiceLine.receipt_line_id)),
        )
        .order_by(ReceiptLine.hospital_id, ReceiptLine.id)
        .limit(200)
    ).all()
    returned = flows.returned_quantity(db, [r.ReceiptLine.id for r in rows])
    out = []
    for n, (receipt, order_line, batch_no) in enumerate(rows, start=1):
        quantity = receipt.accepted_quantity - returned.get(receipt.id, 0)
        out.append(
            ReceiptRow(n, receipt, order_line, batch_no, quantity, quantity * order_line.pack_price_fen)
        )
    return [row for row in out if row.quantity > 0]


@web.route("/enterprise/invoices/new", methods=["GET", "POST"])
@page(OrgKind.DISTRIBUTOR, roles=WRITERS)
def enterprise_invoice_form() -> ResponseReturnValue:
    who = actor()
    rows = uninvoiced_rows(who)

    def form_page(status: int = 200, chosen: frozenset[int] = frozenset()) -> ResponseReturnValue:
        form = request.form if request.method == "POST" else {}
        return render_template(
            "web/enterprise_invoice_form.html", rows=rows, form=form, chosen=chosen
        ), status

    if request.method == "GET":
        return form_page()
    by_id = {row.receipt.id: row for row in rows}
    picked = [
        by_id.get(int(v))
        for v in request.form.getlist("receipt_line_id")
        if v.strip().isascii() and v.strip().isdigit()
    ]
    chosen_rows = [row for row in picked if row is not None]
    chosen = frozenset(row.receipt.id for row in chosen_rows)
    numbers = [row.number for row in chosen_rows]
    payload: dict[str, Any] = form_dict(
        {k: request.form.get(k, "") for k in ("invoice_code", "invoice_number", "issued_on", "tax_rate")}
    )
    payload["lines"] = [
        {"receipt_line_id": row.receipt.id, "quantity": row.quantity, "amount": fen_to_str(row.amount_fen)}
        for row in chosen_rows
    ]
    hospitals = {row.receipt.hospital_id for row in chosen_rows}
    if len(hospitals) == 1:
        payload["hospital_id"] = hospitals.pop()
    try:
        if not chosen_rows:
            flash(_("Tick the deliveries this invoice bills."), "error")
            raise FormFailed
        if len(hospitals) > 1:
            flash(_("One invoice is for one hospital: choose lines of a single hospital."), "error")
            raise FormFailed
        data = load_rows(InvoiceCreateSchema(), payload, numbers)
        invoice = record_from_form(who, data, numbers)
    except FormFailed:
        return form_page(422, chosen)
    return done(_("Invoice %(number)s recorded.", number=invoice.invoice_number), "web.invoices")


def record_from_form(who: Actor, data: dict[str, Any], numbers: list[int]) -> Invoice:
    """A loaded invoice form (blue, or red-letter with the lines it credits) recorded as one unit of
    work; a refused line is named by its row on the form."""
    return attempt_rows(
        lambda db: invoicing.record_invoice(
            db,
            who,
            hospital_id=data["hospital_id"],
            invoice_code=data["invoice_code"],
            invoice_number=data["invoice_number"],
            issued_on=data["issued_on"],
            tax_rate=data["tax_rate"],
            lines=[
                invoicing.InvoiceLineRequest(
                    x["receipt_line_id"], x["quantity"], x["amount"], x.get("credited_line_id")
                )
                for x in data["lines"]
            ],
            now=clock.now(),
            terms=current_app.config["VBP"].payment_terms(),
            **{k: data[k] for k in ("kind", "original_invoice_id") if data.get(k) is not None},
        ),
        numbers,
    )
