"""Corrections and their exits (three-flows.md): withdrawing an invoice dispute, voiding a
red-letter credit, withdrawing a settlement application, the enterprise's refund of a credit
application, the hospital's overdue confirmations, and collecting a fund shortfall (托收)."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from app.auth import WRITERS, current_actor, requires
from app.db import request_session, unit_of_work
from core import clock
from core.actors import OrgKind
from ledger.models import ApplicationStatus, SettlementApplication
from ledger.schemas import (
    ApplicationSchema,
    CollectionCreateSchema,
    CollectionSchema,
    DisputeWithdrawalSchema,
    InvoiceLineSchema,
    PaymentSchema,
    ReasonSchema,
    RefundSchema,
)
from ledger.services import fund, invoicing, settlement, settlement_payments

PREFIX = ""
blp = Blueprint("corrections", __name__, description="更正与出口 (corrections and their exits)")


@blp.route("/invoice-lines/<int:line_id>/dispute-withdrawal", methods=["POST"])
@requires(OrgKind.HOSPITAL, roles=WRITERS)
@blp.arguments(DisputeWithdrawalSchema)
@blp.response(200, InvoiceLineSchema)
def withdraw_dispute(data: dict[str, Any], line_id: int) -> Any:
    """Withdraw the hospital's dispute of an invoice line: the line is confirmed and posted."""
    with unit_of_work() as session:
        return invoicing.withdraw_dispute(
            session, current_actor(), line_id, note=data["note"], now=clock.now()
        )


@blp.route("/invoice-lines/<int:line_id>/void", methods=["POST"])
@requires(OrgKind.DISTRIBUTOR, roles=WRITERS)
@blp.arguments(ReasonSchema)
@blp.response(200, InvoiceLineSchema)
def void_credit(data: dict[str, Any], line_id: int) -> Any:
    """Void a red-letter line the hospital has not confirmed (its issuer)."""
    with unit_of_work() as session:
        return invoicing.void_credit(
            session, current_actor(), line_id, reason=data["reason"], now=clock.now()
        )


@blp.route("/settlement-applications/<int:application_id>/withdrawal", methods=["POST"])
@requires(OrgKind.DISTRIBUTOR, roles=WRITERS)
@blp.arguments(ReasonSchema)
@blp.response(200, ApplicationSchema)
def withdraw_application(data: dict[str, Any], application_id: int) -> Any:
    """Withdraw an application the hospital has not confirmed; its lines can be filed again."""
    with unit_of_work() as session:
        return settlement.withdraw_application(
            session, current_actor(), application_id, reason=data["reason"], now=clock.now()
        )


@blp.route("/settlement-applications/<int:application_id>/refund", methods=["POST"])
@requires(OrgKind.BUREAU, roles=WRITERS)
@blp.arguments(RefundSchema)
@blp.response(201, PaymentSchema)
def record_refund(data: dict[str, Any], application_id: int) -> Any:
    """Record the enterprise's refund of a confirmed credit application (insurance agency)."""
    with unit_of_work() as session:
        return settlement_payments.record_refund(
            session,
            current_actor(),
            application_id,
            bank_reference=data["bank_reference"],
            refunded_on=data["refunded_on"],
            now=clock.now(),
        )


@blp.route("/settlement-applications/confirmation-overdue", methods=["GET"])
@requires(OrgKind.BUREAU, OrgKind.HOSPITAL, OrgKind.DISTRIBUTOR)
@blp.response(200, ApplicationSchema(many=True))
def confirmation_overdue() -> Any:
    """Applications the hospital has not confirmed within its 5 working days (vbp-rules.md §4.3)."""
    today = clock.business_date(clock.now())
    stmt = settlement.applications_visible_to(current_actor()).where(
        SettlementApplication.status == ApplicationStatus.FILED, SettlementApplication.confirm_by < today
    )
    return list(request_session().scalars(stmt.order_by(SettlementApplication.confirm_by)))


@blp.route("/fund-settlements/<int:fund_settlement_id>/collections", methods=["POST"])
@requires(OrgKind.BUREAU, roles=WRITERS)
@blp.arguments(CollectionCreateSchema)
@blp.response(201, CollectionSchema)
def collect_shortfall(data: dict[str, Any], fund_settlement_id: int) -> Any:
    """托收: record money collected from a hospital for a month's shortfall (insurance agency)."""
    with unit_of_work() as session:
        return fund.collect_shortfall(
            session,
            current_actor(),
            fund_settlement_id,
            amount_fen=data["amount"],
            bank_reference=data["bank_reference"],
            collected_on=data["collected_on"],
            now=clock.now(),
        )
