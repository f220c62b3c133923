"""Delivery confirmation: the distributor accepts/refuses and ships; the hospital confirms
receipt (验收), records returns, or cancels what has not shipped."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from flask_smorest.pagination import PaginationParameters

from app.api.common import PAGE, paginate
from app.auth import WRITERS, current_actor, requires
from app.db import request_session, unit_of_work
from app.idempotency import idempotent
from core import clock
from core.actors import OrgKind
from ledger.models import ShipmentLine
from ledger.schemas import (
    CancelSchema,
    DecisionSchema,
    OrderSchema,
    ReceiptLineCreateSchema,
    ReceiptLineSchema,
    ReturnCreateSchema,
    ReturnSchema,
    ShipmentCreateSchema,
    ShipmentLineSchema,
    ShipmentSchema,
)
from ledger.services import ordering

PREFIX = ""
blp = Blueprint("delivery", __name__, description="配送与验收 (delivery and receipt)")


@blp.route("/orders/<int:order_id>/decision", methods=["POST"])
@requires(OrgKind.DISTRIBUTOR, roles=WRITERS)
@blp.arguments(DecisionSchema)
@blp.response(200, OrderSchema)
def decide(data: dict[str, Any], order_id: int) -> Any:
    """Accept the order, or refuse it with a reason (distributor)."""
    with unit_of_work() as session:
        return ordering.decide_order(
            session, current_actor(), order_id, accept=data["accept"], reason=data["reason"], now=clock.now()
        )


@blp.route("/orders/<int:order_id>/cancel", methods=["POST"])
@requires(OrgKind.HOSPITAL, roles=WRITERS)
@blp.arguments(CancelSchema)
@blp.response(200, OrderSchema)
def cancel(data: dict[str, Any], order_id: int) -> Any:
    """Cancel what remains to deliver: not shipped, or rejected at receipt and not re-shipped
    (hospital); every line, or the lines named."""
    with unit_of_work() as session:
        return ordering.cancel_order(
            session,
            current_actor(),
            order_id,
            reason=data["reason"],
            now=clock.now(),
            order_line_ids=data["order_line_ids"],
        )


@blp.route("/orders/<int:order_id>/shipments", methods=["POST"])
@requires(OrgKind.DISTRIBUTOR, roles=WRITERS)
@idempotent()
@blp.arguments(ShipmentCreateSchema)
@blp.response(201, ShipmentSchema)
def ship(data: dict[str, Any], order_id: int) -> Any:
    """Ship order lines with batch numbers and expiry dates (several shipments per line allowed)."""
    lines = [ordering.ShipRequest(**line) for line in data["lines"]]
    with unit_of_work() as session:
        return ordering.ship(
            session,
            current_actor(),
            order_id,
            lines=lines,
            delivery_note=data["delivery_note"],
            now=clock.now(),
        )


@blp.route("/shipment-lines", methods=["GET"])
@requires()
@blp.response(200, ShipmentLineSchema(many=True))
@blp.paginate(**PAGE)
def list_shipment_lines(pagination_parameters: PaginationParameters) -> Any:
    """Shipment lines the caller may see (a hospital: deliveries to confirm)."""
    stmt = ordering.shipment_lines_visible_to(current_actor()).order_by(ShipmentLine.id.desc())
    return paginate(request_session(), stmt, pagination_parameters)


@blp.route("/shipment-lines/<int:shipment_line_id>/receipt", methods=["POST"])
@requires(OrgKind.HOSPITAL, roles=WRITERS)
@blp.arguments(ReceiptLineCreateSchema)
@blp.response(201, ReceiptLineSchema)
def confirm_receipt(data: dict[str, Any], shipment_line_id: int) -> Any:
    """验收: accept fully, partly (with rejected quantity and reason) or reject a shipment line."""
    with unit_of_work() as session:
        return ordering.confirm_receipt(
            session,
            current_actor(),
            shipment_line_id,
            accepted=data["accepted_quantity"],
            rejected=data["rejected_quantity"],
            reason_code=data["reason_code"],
            accepted_on=data["accepted_on"],
            scanned_codes=data["scanned_codes"],
            now=clock.now(),
        )


@blp.route("/receipt-lines/<int:receipt_line_id>/returns", methods=["POST"])
@requires(OrgKind.HOSPITAL, roles=WRITERS)
@idempotent()
@blp.arguments(ReturnCreateSchema)
@blp.response(201, ReturnSchema)
def record_return(data: dict[str, Any], receipt_line_id: int) -> Any:
    """Return accepted goods (linked to the receipt line)."""
    with unit_of_work() as session:
        return ordering.record_return(
            session,
            current_actor(),
            receipt_line_id,
            quantity=data["quantity"],
            reason=data["reason"],
            now=clock.now(),
            trace_codes=data["trace_codes"],
        )
