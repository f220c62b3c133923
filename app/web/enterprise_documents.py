"""Documents enterprises print: the delivery note (配送单) of a shipment and the bid receipt
(投标回执). Both are built by reports/ from the caller's own records (another organization's id
answers 404)."""

from __future__ import annotations

from flask import Response, request
from flask.typing import ResponseReturnValue

from app.db import request_session
from app.web.common import actor, page, web
from core.actors import OrgKind
from reports.bid_receipt import bid_receipt, render_bid_receipt
from reports.delivery_note import delivery_note, render_delivery_note

PDF = "application/pdf"


def _pdf(data: bytes, filename: str) -> Response:
    response = Response(data, mimetype=PDF)
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@web.route("/shipments/<int:shipment_id>/delivery-note.pdf")
@page(OrgKind.DISTRIBUTOR, OrgKind.HOSPITAL)
def delivery_note_pdf(shipment_id: int) -> ResponseReturnValue:
    note = delivery_note(request_session(), actor(), shipment_id)
    return _pdf(render_delivery_note(note), f"delivery-note-{note.number}.pdf")


@web.route("/enterprise/bids/<int:bid_id>/receipt.pdf", methods=["POST"])
@page(OrgKind.MANUFACTURER)
def bid_receipt_pdf(bid_id: int) -> ResponseReturnValue:
    """The salt comes in the form body (never the address, which servers log): with the digest
    it would let anyone search the few plausible prices."""
    receipt = bid_receipt(request_session(), actor(), bid_id, salt=request.form.get("salt", "").strip())
    return _pdf(render_bid_receipt(receipt), f"bid-receipt-{receipt.bid}.pdf")
