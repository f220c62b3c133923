"""The receipt and warehousing slip (验收入库单) of a delivery note, as a PDF download
(reports/receipt_slip.py); linked from the deliveries page's confirmed receipts and the order page."""

from __future__ import annotations

from flask import Response
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from app.db import request_session
from app.web.common import actor, page, web
from core.actors import Actor, OrgKind
from ledger.models import ReceiptLine, Shipment, ShipmentLine
from ledger.services import ordering
from reports.receipt_slip import render_receipt_slip, slip_for_shipment

#: Confirmed deliveries listed under the deliveries to confirm, newest first.
RECENT = 10


def received_shipments(who: Actor, *, order_id: int | None = None, limit: int = RECENT) -> list[Shipment]:
    """Delivery notes of which the caller has confirmed at least one line (those with a slip)."""
    ids = (
        ordering.shipment_lines_visible_to(who)
        .join(ReceiptLine, ReceiptLine.shipment_line_id == ShipmentLine.id)
        .with_only_columns(ShipmentLine.shipment_id)
        .distinct()
    )
    stmt = select(Shipment).where(Shipment.id.in_(ids)).order_by(Shipment.id.desc()).limit(limit)
    if order_id is not None:
        stmt = stmt.where(Shipment.order_id == order_id)
    return list(request_session().scalars(stmt))


@web.route("/hospital/shipments/<int:shipment_id>/receipt-slip.pdf")
@page(OrgKind.HOSPITAL)
def hospital_receipt_slip(shipment_id: int) -> ResponseReturnValue:
    slip = slip_for_shipment(request_session(), actor(), shipment_id)  # another's: NotFound (404)
    response = Response(render_receipt_slip(slip), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="receipt-slip-{shipment_id}.pdf"'
    return response
