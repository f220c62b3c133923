"""Money flow: invoices and their confirmation, monthly direct settlement (file → confirm →
approve → pay → deduct), hospitals' self-payment, fund settlements and prepayments."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_smorest import Blueprint
from flask_smorest.pagination import PaginationParameters
from sqlalchemy import select

from app.api.common import PAGE, paginate
from app.auth import WRITERS, current_actor, requires
from app.db import request_session, unit_of_work
from app.idempotency import idempotent
from core import clock
from core.actors import OrgKind
from core.errors import ValidationFailed
from ledger.models import (
    FundSettlement,
    InvoiceLine,
    Payment,
    PaymentSource,
    Prepayment,
    SettlementApplication,
)
from ledger.money_rules import SettlementCalendar, days_late
from ledger.schemas import (
    ApplicationConfirmSchema,
    ApplicationFileSchema,
    ApplicationSchema,
    FundSettlementCreateSchema,
    FundSettlementSchema,
    InvoiceCreateSchema,
    InvoiceDecisionSchema,
    InvoiceLineSchema,
    InvoiceSchema,
    OverdueLineSchema,
    OverdueQuerySchema,
    PaymentSchema,
    PrepaymentCreateSchema,
    PrepaymentSchema,
    RunCreateSchema,
    RunPaySchema,
    RunSchema,
    SavingsQuerySchema,
    SavingsSchema,
    SelfPaySchema,
)
from ledger.scoping import party_scope
from ledger.services import fund, invoicing, settlement, settlement_payments
from ledger.services.invoicing import InvoiceLineRequest

PREFIX = ""
blp = Blueprint("payments", __name__, description="发票与直接结算 (invoices and direct settlement)")


@blp.route("/invoices", methods=["POST"])
@requires(OrgKind.DISTRIBUTOR, roles=WRITERS)
@idempotent()
@blp.arguments(InvoiceCreateSchema)
@blp.response(201, InvoiceSchema)
def record_invoice(data: dict[str, Any]) -> Any:
    """Record a blue or red-letter invoice against accepted receipt lines (distributor)."""
    lines = [
        InvoiceLineRequest(x["receipt_line_id"], x["quantity"], x["amount"], x["credited_line_id"])
        for x in data["lines"]
    ]
    with unit_of_work() as session:
        return invoicing.record_invoice(
            session,
            current_actor(),
            hospital_id=data["hospital_id"],
            invoice_code=data["invoice_code"],
            invoice_number=data["invoice_number"],
            issued_on=data["issued_on"],
            tax_rate=data["tax_rate"],
            kind=data["kind"],
            original_invoice_id=data["original_invoice_id"],
            lines=lines,
            now=clock.now(),
            terms=current_app.config["VBP"].payment_terms(),
        )


@blp.route("/invoice-lines", methods=["GET"])
@requires(OrgKind.BUREAU, OrgKind.HOSPITAL, OrgKind.DISTRIBUTOR)
@blp.response(200, InvoiceLineSchema(many=True))
@blp.paginate(**PAGE)
def list_invoice_lines(pagination_parameters: PaginationParameters) -> Any:
    """Invoice lines: a hospital's payables, an enterprise's receivables, all for the bureau."""
    stmt = invoicing.invoice_lines_visible_to(current_actor()).order_by(InvoiceLine.id)
    return paginate(request_session(), stmt, pagination_parameters)


@blp.route("/invoice-lines/overdue", methods=["GET"])
@requires(OrgKind.BUREAU, OrgKind.HOSPITAL, OrgKind.DISTRIBUTOR)
@blp.arguments(OverdueQuerySchema, location="query")
@blp.response(200, OverdueLineSchema(many=True))
def overdue(query: dict[str, Any]) -> Any:
    """Invoice lines past due on a date (default today) and not yet paid, with their days late."""
    on = query.get("on") or clock.business_date(clock.now())
    return [
        {"line": line, "days_late": days_late(line.due_on, on)}
        for line in invoicing.overdue_lines(request_session(), current_actor(), on=on)
    ]


@blp.route("/invoice-lines/<int:line_id>/decision", methods=["POST"])
@requires(OrgKind.HOSPITAL, roles=WRITERS)
@blp.arguments(InvoiceDecisionSchema)
@blp.response(200, InvoiceLineSchema)
def decide_invoice_line(data: dict[str, Any], line_id: int) -> Any:
    """Confirm an invoice line (posts it to the journal) or dispute it with a reason (hospital)."""
    with unit_of_work() as session:
        return invoicing.decide_invoice_line(
            session, current_actor(), line_id, confirm=data["confirm"], reason=data["reason"], now=clock.now()
        )


@blp.route("/settlement-applications", methods=["POST"])
@requires(OrgKind.DISTRIBUTOR, roles=WRITERS)
@idempotent()
@blp.arguments(ApplicationFileSchema)
@blp.response(201, ApplicationSchema)
def file_application(data: dict[str, Any]) -> Any:
    """File last month's confirmed invoice lines for one hospital (returns netted)."""
    with unit_of_work() as session:
        return settlement.file_application(
            session,
            current_actor(),
            hospital_id=data["hospital_id"],
            period_month=data["period_month"],
            now=clock.now(),
            calendar=SettlementCalendar.from_terms(current_app.config["VBP"].payment_terms()),
        )


@blp.route("/settlement-applications", methods=["GET"])
@requires(OrgKind.BUREAU, OrgKind.HOSPITAL, OrgKind.DISTRIBUTOR)
@blp.response(200, ApplicationSchema(many=True))
@blp.paginate(**PAGE)
def list_applications(pagination_parameters: PaginationParameters) -> Any:
    """Settlement applications the caller is a party to (all for the bureau)."""
    stmt = settlement.applications_visible_to(current_actor()).order_by(SettlementApplication.id.desc())
    return paginate(request_session(), stmt, pagination_parameters)


@blp.route("/settlement-applications/<int:application_id>", methods=["GET"])
@requires(OrgKind.BUREAU, OrgKind.HOSPITAL, OrgKind.DISTRIBUTOR)
@blp.response(200, ApplicationSchema)
def get_application(application_id: int) -> Any:
    """One application with its lines (404 for another organization's)."""
    return settlement.get_application(request_session(), current_actor(), application_id)


@blp.route("/settlement-applications/<int:application_id>/confirmation", methods=["POST"])
@requires(OrgKind.HOSPITAL, roles=WRITERS)
@blp.arguments(ApplicationConfirmSchema)
@blp.response(200, ApplicationSchema)
def confirm_application(data: dict[str, Any], application_id: int) -> Any:
    """Confirm the application, disputing lines with reasons (hospital)."""
    disputes = {x["line_id"]: x["reason"] for x in data["disputes"]}
    with unit_of_work() as session:
        return settlement.confirm_application(
            session, current_actor(), application_id, disputes=disputes, now=clock.now()
        )


@blp.route("/settlement-applications/<int:application_id>/self-payment", methods=["POST"])
@requires(OrgKind.HOSPITAL, roles=WRITERS)
@blp.arguments(SelfPaySchema)
@blp.response(201, PaymentSchema)
def self_pay(data: dict[str, Any], application_id: int) -> Any:
    """Record that the hospital paid a confirmed application itself (self-pay mode)."""
    with unit_of_work() as session:
        return settlement_payments.pay_application(
            session,
            current_actor(),
            application_id,
            bank_reference=data["bank_reference"],
            paid_on=data["paid_on"],
            now=clock.now(),
            source=PaymentSource.SELF_PAY,
        )


@blp.route("/settlement-runs", methods=["POST"])
@requires(OrgKind.BUREAU, roles=WRITERS)
@blp.arguments(RunCreateSchema)
@blp.response(201, RunSchema)
def approve_run(data: dict[str, Any]) -> Any:
    """Approve the month's run of confirmed applications (insurance agency)."""
    with unit_of_work() as session:
        return settlement.approve_run(
            session, current_actor(), period_month=data["period_month"], now=clock.now()
        )


@blp.route("/settlement-runs/<int:run_id>/payments", methods=["POST"])
@requires(OrgKind.BUREAU, roles=WRITERS)
@blp.arguments(RunPaySchema)
@blp.response(201, PaymentSchema(many=True))
def pay_run(data: dict[str, Any], run_id: int) -> Any:
    """Record the payments of a run (bank references); each application is paid once, ever."""
    with unit_of_work() as session:
        actor, paid = current_actor(), []
        for item in data["payments"]:
            application = settlement.get_application(session, actor, item["application_id"])
            if application.run_id != run_id:
                raise ValidationFailed(
                    fields={"payments": [f"申请 {application.id} 不在该批次 (not in this run)"]}
                )
            paid.append(
                settlement_payments.pay_application(
                    session,
                    actor,
                    application.id,
                    bank_reference=item["bank_reference"],
                    paid_on=data["paid_on"],
                    now=clock.now(),
                    source=data["source"],
                )
            )
        return paid


@blp.route("/payments", methods=["GET"])
@requires(OrgKind.BUREAU, OrgKind.HOSPITAL, OrgKind.DISTRIBUTOR)
@blp.response(200, PaymentSchema(many=True))
@blp.paginate(**PAGE)
def list_payments(pagination_parameters: PaginationParameters) -> Any:
    """Payments: an enterprise's received, a hospital's made on its behalf, all for the bureau."""
    stmt = party_scope(
        select(Payment), current_actor(), hospital=Payment.hospital_id, distributor=Payment.enterprise_id
    )
    return paginate(request_session(), stmt.order_by(Payment.id), pagination_parameters)


@blp.route("/fund-settlements", methods=["POST"])
@requires(OrgKind.BUREAU, roles=WRITERS)
@blp.arguments(FundSettlementCreateSchema)
@blp.response(201, FundSettlementSchema)
def record_fund_settlement(data: dict[str, Any]) -> Any:
    """Record a hospital's monthly fund settlement; direct payments are deducted from it."""
    with unit_of_work() as session:
        row = fund.record_fund_settlement(
            session,
            current_actor(),
            hospital_id=data["hospital_id"],
            period_month=data["period_month"],
            gross_fen=data["gross"],
            now=clock.now(),
        )
        return _fund_row(row)


def _fund_row(row: FundSettlement) -> dict[str, Any]:
    return {
        "id": row.id,
        "hospital_id": row.hospital_id,
        "period_month": row.period_month,
        "gross_fen": row.gross_fen,
        "deducted_fen": row.deducted_fen,
        "net": fund.net_fund_settlement_fen(row),
        "shortfall": fund.shortfall_fen(row),
        "collected_fen": row.collected_fen,
        "outstanding_shortfall": fund.outstanding_shortfall_fen(row),
    }


@blp.route("/fund-settlements", methods=["GET"])
@requires(OrgKind.BUREAU, OrgKind.HOSPITAL)
@blp.response(200, FundSettlementSchema(many=True))
def list_fund_settlements() -> Any:
    """Fund settlements with what was deducted: a hospital's own, all for the bureau."""
    stmt = party_scope(select(FundSettlement), current_actor(), hospital=FundSettlement.hospital_id)
    return [_fund_row(r) for r in request_session().scalars(stmt.order_by(FundSettlement.period_month))]


@blp.route("/prepayments", methods=["POST"])
@requires(OrgKind.BUREAU, roles=WRITERS)
@blp.arguments(PrepaymentCreateSchema)
@blp.response(201, PrepaymentSchema)
def grant_prepayment(data: dict[str, Any]) -> Any:
    """Prepay a share (default 30 %) of the hospital's agreed amount for a year its agreements cover."""
    extra = {"share": data["share"]} if data["share"] is not None else {}
    with unit_of_work() as session:
        return fund.grant_prepayment(
            session,
            current_actor(),
            hospital_id=data["hospital_id"],
            year=data["year"],
            now=clock.now(),
            **extra,
        )


@blp.route("/prepayments/<int:prepayment_id>/clearing", methods=["POST"])
@requires(OrgKind.BUREAU, roles=WRITERS)
@blp.response(200, PrepaymentSchema)
def clear_prepayment(prepayment_id: int) -> Any:
    """Year-end clearing: return the undrawn remainder to the fund."""
    with unit_of_work() as session:
        return fund.clear_prepayment(session, current_actor(), prepayment_id, now=clock.now())


@blp.route("/prepayments", methods=["GET"])
@requires(OrgKind.BUREAU, OrgKind.HOSPITAL)
@blp.response(200, PrepaymentSchema(many=True))
def list_prepayments() -> Any:
    """Prepayments: a hospital's own, all for the bureau."""
    stmt = party_scope(select(Prepayment), current_actor(), hospital=Prepayment.hospital_id)
    return list(request_session().scalars(stmt.order_by(Prepayment.id)))


@blp.route("/retained-savings", methods=["GET"])
@requires(OrgKind.BUREAU, OrgKind.HOSPITAL)
@blp.arguments(SavingsQuerySchema, location="query")
@blp.response(200, SavingsSchema)
def retained_savings(query: dict[str, Any]) -> Any:
    """结余留用 of a hospital for a batch, in the cycle year containing `on` (or starting on
    `year_start`), counted up to that day, with the province's formula parameters (E9)."""
    from ledger.schemas import savings_formula
    from ledger.services.savings import hospital_retained_savings

    return hospital_retained_savings(
        request_session(),
        current_actor(),
        hospital_id=query["hospital_id"],
        batch_id=query["batch_id"],
        formula=savings_formula(query),
        on=query.get("on"),
        year_start=query.get("year_start"),
        year_end=query.get("year_end"),
        today=clock.business_date(clock.now()),
    )
