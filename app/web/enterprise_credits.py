"""Red-letter invoices (红字发票) from the distributor's pages: the invoice lines that need a credit
— the hospital disputed them, or packs were returned after they were invoiced — grouped by the
invoice they correct (one red-letter invoice corrects one invoice), each row with its product;
and the red-letter lines not yet confirmed, which their issuer may void (作废)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from flask import flash, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.db import request_session
from app.web.common import WRITERS, FormFailed, actor, ascii_int, attempt, done, form_dict, load, page, web
from app.web.enterprise_forms import load_rows
from app.web.enterprise_invoices import record_from_form
from core import clock
from core.actors import Actor, OrgKind
from core.money import fen_to_str
from ledger import flows
from ledger.models import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceLineStatus,
    OrderLine,
    ReceiptLine,
    ReturnLine,
    ReturnStatus,
)
from ledger.schemas import InvoiceCreateSchema, ReasonSchema
from ledger.services import invoicing


@dataclass(frozen=True)
class CreditRow:
    """An invoice line that needs a red-letter credit, as the form shows it."""

    number: int  #: 第 N 行 within its invoice's form
    line: InvoiceLine
    order_line: OrderLine
    remaining: int  #: packs of the line not yet credited (pending credits included)
    suggested: int  #: packs to credit now
    why: str  #: "disputed" or "returned"
    note: str  #: the hospital's dispute reason or return reason

    @property
    def product(self) -> str:
        return f"{self.order_line.product.generic_name} {self.order_line.product.spec_text}"


def credit_rows(who: Actor) -> dict[Invoice, list[CreditRow]]:
    """The distributor's blue invoice lines disputed or with returns still invoiced, by invoice."""
    db = request_session()
    lines = list(
        db.scalars(
            invoicing.invoice_lines_visible_to(who)
            .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
            .where(
                Invoice.kind == InvoiceKind.NORMAL,
                InvoiceLine.enterprise_id == who.org_id,
                InvoiceLine.quantity > 0,
                InvoiceLine.status.in_(invoicing.CREDITABLE),
            )
            .order_by(InvoiceLine.invoice_id, InvoiceLine.id)
            .limit(500)
        )
    )
    if not lines:
        return {}
    ids = [x.id for x in lines]
    receipts = {x.receipt_line_id for x in lines}
    credits = dict(
        db.execute(
            select(InvoiceLine.credited_line_id, func.sum(InvoiceLine.quantity))
            .where(InvoiceLine.credited_line_id.in_(ids), InvoiceLine.status != InvoiceLineStatus.VOIDED)
            .group_by(InvoiceLine.credited_line_id)
        ).all()
    )
    pending = dict(
        db.execute(
            select(InvoiceLine.receipt_line_id, -func.sum(InvoiceLine.quantity))
            .where(
                InvoiceLine.receipt_line_id.in_(receipts),
                InvoiceLine.quantity < 0,
                InvoiceLine.status == InvoiceLineStatus.PENDING,
            )
            .group_by(InvoiceLine.receipt_line_id)
        ).all()
    )
    waiting: dict[int, list[str]] = defaultdict(list)
    for ret in db.scalars(
        select(ReturnLine).where(
            ReturnLine.receipt_line_id.in_(receipts), ReturnLine.status == ReturnStatus.AWAITING_CREDIT
        )
    ):
        waiting[ret.receipt_line_id].append(f"{ret.quantity} ({ret.reason})")
    invoiced = flows.invoiced_quantity(db, receipts)
    returned = flows.returned_quantity(db, receipts)
    accepted = dict(
        db.execute(
            select(ReceiptLine.id, ReceiptLine.accepted_quantity).where(ReceiptLine.id.in_(receipts))
        ).all()
    )
    order_lines = {
        o.id: o
        for o in db.scalars(select(OrderLine).where(OrderLine.id.in_({x.order_line_id for x in lines})))
    }
    grouped: dict[Invoice, list[CreditRow]] = defaultdict(list)
    for x in lines:
        remaining = x.quantity + int(credits.get(x.id, 0))
        if remaining <= 0:
            continue
        if x.status is InvoiceLineStatus.DISPUTED:
            why, note, suggested = "disputed", x.dispute_reason or "", remaining
        elif waiting.get(x.receipt_line_id):
            r = x.receipt_line_id
            kept = accepted[r] - returned.get(r, 0)
            need = invoiced.get(r, 0) - kept - int(pending.get(r, 0))
            if need <= 0:
                continue
            why, note, suggested = "returned", "; ".join(waiting[r]), min(remaining, need)
        else:
            continue
        rows = grouped[x.invoice]
        rows.append(
            CreditRow(len(rows) + 1, x, order_lines[x.order_line_id], remaining, suggested, why, note)
        )
    return dict(grouped)


def pending_credits(who: Actor) -> list[tuple[InvoiceLine, str]]:
    """Red-letter lines of this distributor the hospital has not confirmed (voidable), with
    their product."""
    db = request_session()
    lines = list(
        db.scalars(
            invoicing.invoice_lines_visible_to(who)
            .where(
                InvoiceLine.enterprise_id == who.org_id,
                InvoiceLine.quantity < 0,
                InvoiceLine.status == InvoiceLineStatus.PENDING,
            )
            .order_by(InvoiceLine.id.desc())
            .limit(200)
        )
    )
    products = {
        o.id: f"{o.product.generic_name} {o.product.spec_text}"
        for o in db.scalars(select(OrderLine).where(OrderLine.id.in_({x.order_line_id for x in lines})))
    }
    return [(x, products[x.order_line_id]) for x in lines]


def _page(who: Actor, status: int = 200) -> ResponseReturnValue:
    typed = request.form if request.method == "POST" else {}
    return render_template(
        "web/enterprise_credits.html",
        groups=credit_rows(who),
        pending=pending_credits(who),
        typed=typed,
        typed_invoice=typed.get("original_invoice_id", ""),
        today=clock.business_date(clock.now()).isoformat(),
    ), status


@web.route("/enterprise/credits", methods=["GET", "POST"])
@page(OrgKind.DISTRIBUTOR, roles=WRITERS)
def enterprise_credits() -> ResponseReturnValue:
    """Issue a red-letter invoice against one invoice's lines (their packs, as negative lines)."""
    who = actor()
    if request.method == "GET":
        return _page(who)
    original_id = request.form.get("original_invoice_id", "", type=str).strip()
    groups = {str(invoice.id): (invoice, rows) for invoice, rows in credit_rows(who).items()}
    try:
        if original_id not in groups:
            flash(_("Choose lines of one of your invoices listed below."), "error")
            raise FormFailed
        original, rows = groups[original_id]
        lines: list[dict[str, Any]] = []
        numbers: list[int] = []
        for row in rows:
            if str(row.line.id) not in request.form.getlist("line_id"):
                continue
            text = request.form.get(f"qty-{row.line.id}", "").strip()
            try:
                packs = ascii_int(text)
            except ValueError:
                flash(
                    _("Row %(n)s", n=row.number) + ": " + _("Enter the packs to credit as a whole number."),
                    "error",
                )
                raise FormFailed from None
            numbers.append(row.number)
            lines.append(
                {
                    "receipt_line_id": row.line.receipt_line_id,
                    "quantity": -packs,
                    "amount": fen_to_str(-packs * row.line.pack_price_fen),
                    "credited_line_id": row.line.id,
                }
            )
        if not lines:
            flash(_("Tick the lines this red-letter invoice credits."), "error")
            raise FormFailed
        payload = form_dict(
            {k: request.form.get(k, "") for k in ("invoice_code", "invoice_number", "issued_on", "tax_rate")}
        ) | {
            "hospital_id": original.hospital_id,
            "kind": "red",
            "original_invoice_id": original.id,
            "lines": lines,
        }
        data = load_rows(InvoiceCreateSchema(), payload, numbers)
        invoice = record_from_form(who, data, numbers)
    except FormFailed:
        request_session().expire_all()
        return _page(who, 422)
    return done(
        _("Red-letter invoice %(number)s recorded.", number=invoice.invoice_number), "web.enterprise_credits"
    )


@web.route("/enterprise/credits/<int:line_id>/void", methods=["POST"])
@page(OrgKind.DISTRIBUTOR, roles=WRITERS)
def enterprise_void_credit(line_id: int) -> ResponseReturnValue:
    """Void a red-letter line the hospital has not confirmed; its packs may be credited again."""
    who = actor()
    try:
        data = load(ReasonSchema(), form_dict(request.form))
        attempt(lambda db: invoicing.void_credit(db, who, line_id, reason=data["reason"], now=clock.now()))
    except FormFailed:
        return _page(who, 422)
    return done(_("The red-letter line was voided."), "web.enterprise_credits")
