"""Three-flow reconciliation and monthly statements (对账单): line statuses with their differences,
totals by status, orphans, stored province runs, statements (generate, confirm or dispute, PDF)
and the public verification of a statement's code."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app
from flask_smorest import Blueprint
from flask_smorest.pagination import PaginationParameters
from sqlalchemy import select

from app.api.common import PAGE, paginate
from app.api.files import file_responses
from app.auth import WRITERS, current_actor, requires
from app.config import Config
from app.db import request_session, unit_of_work
from app.idempotency import idempotent
from app.replica import replica_reads
from core import clock
from core.actors import OrgKind
from core.errors import NotFound
from ledger import reconcile, statements
from ledger.models import ReconciliationFinding, ReconciliationRun
from ledger.reconcile import Options, Slice
from ledger.schemas import (
    FindingQuerySchema,
    FindingSchema,
    GenerationSchema,
    OrphanSchema,
    ReconcileQuerySchema,
    ReconLineSchema,
    ReconRunSchema,
    ReconSummarySchema,
    RunStartSchema,
    StatementDecisionSchema,
    StatementDetailSchema,
    StatementGenerateSchema,
    StatementQuerySchema,
    StatementSchema,
    VerificationSchema,
)
from ledger.scoping import party_scope
from reports import statement_pdf
from reports.statements import to_document

PREFIX = ""
blp = Blueprint(
    "reconciliation", __name__, description="三流合一对账与对账单 (reconciliation and statements)"
)

EVERY_PARTY = (OrgKind.BUREAU, OrgKind.HOSPITAL, OrgKind.DISTRIBUTOR, OrgKind.MANUFACTURER)


def _config() -> Config:
    config: Config = current_app.config["VBP"]
    return config


def _options() -> Options:
    return _config().reconcile_options()  # type: ignore[no-any-return]


@blp.route("/reconciliation/lines", methods=["GET"])
@requires(*EVERY_PARTY)
@blp.arguments(ReconcileQuerySchema, location="query")
@blp.response(200, ReconLineSchema(many=True))
@blp.paginate(**PAGE)
@replica_reads
def lines(query: dict[str, Any], pagination_parameters: PaginationParameters) -> Any:
    """Order lines with their reconciliation status and difference (yours only, unless bureau)."""
    session, actor = request_session(), current_actor()
    as_of = query.get("as_of") or clock.now()
    status = query.get("status")
    where = Slice.of(query)
    pagination_parameters.item_count = reconcile.count_lines(
        session, actor, where, as_of=as_of, options=_options(), status=status
    )
    if pagination_parameters.first_item >= pagination_parameters.item_count:
        return []
    return reconcile.reconcile_lines(
        session,
        actor,
        where,
        as_of=as_of,
        options=_options(),
        status=status,
        limit=pagination_parameters.page_size,
        offset=pagination_parameters.first_item,
    )


@blp.route("/reconciliation/summary", methods=["GET"])
@requires(*EVERY_PARTY)
@blp.arguments(ReconcileQuerySchema, location="query")
@blp.response(200, ReconSummarySchema(many=True))
@replica_reads
def summary(query: dict[str, Any]) -> Any:
    """Lines, ordered amount and differences per status for a slice."""
    return reconcile.summarize(
        request_session(),
        current_actor(),
        Slice.of(query),
        as_of=query.get("as_of") or clock.now(),
        options=_options(),
    )


@blp.route("/reconciliation/orphans", methods=["GET"])
@requires(*EVERY_PARTY)
@blp.arguments(ReconcileQuerySchema, location="query")
@blp.response(200, OrphanSchema(many=True))
@replica_reads
def orphans(query: dict[str, Any]) -> Any:
    """Shipments, receipts, invoices and payments that point at nothing valid, and reused
    invoice numbers."""
    return reconcile.orphans(request_session(), current_actor(), Slice.of(query))


@blp.route("/reconciliation/runs", methods=["POST"])
@requires(OrgKind.BUREAU, roles=WRITERS)
@idempotent()
@blp.arguments(RunStartSchema)
@blp.response(201, ReconRunSchema)
def start_run(data: dict[str, Any]) -> Any:
    """Reconcile a slice (empty body: the province) and store its findings and totals."""
    now = clock.now()
    with unit_of_work() as session:
        return reconcile.run_reconciliation(
            session,
            current_actor(),
            Slice.of(data),
            as_of=data.get("as_of") or now,
            now=now,
            options=_options(),
        )


@blp.route("/reconciliation/runs", methods=["GET"])
@requires(OrgKind.BUREAU)
@blp.response(200, ReconRunSchema(many=True))
@blp.paginate(**PAGE)
@replica_reads
def list_runs(pagination_parameters: PaginationParameters) -> Any:
    """Stored reconciliation runs, newest first (bureau)."""
    stmt = select(ReconciliationRun).order_by(ReconciliationRun.id.desc())
    return paginate(request_session(), stmt, pagination_parameters)


@blp.route("/reconciliation/runs/<int:run_id>/findings", methods=["GET"])
@requires(*EVERY_PARTY)
@blp.arguments(FindingQuerySchema, location="query")
@blp.response(200, FindingSchema(many=True))
@blp.paginate(**PAGE)
@replica_reads
def findings(query: dict[str, Any], run_id: int, pagination_parameters: PaginationParameters) -> Any:
    """A run's open discrepancies; a hospital or enterprise sees those on its own lines."""
    session = request_session()
    if session.get(ReconciliationRun, run_id) is None:
        raise NotFound("对账运行不存在 (run not found)")
    f = ReconciliationFinding
    stmt = party_scope(
        select(f).where(f.run_id == run_id),
        current_actor(),
        hospital=f.hospital_id,
        distributor=f.distributor_id,
        manufacturer=f.manufacturer_id,
    )
    if query.get("status"):
        stmt = stmt.where(f.status == query["status"])
    if query.get("hospital_id"):
        stmt = stmt.where(f.hospital_id == query["hospital_id"])
    if query.get("enterprise_id"):
        stmt = stmt.where(f.distributor_id == query["enterprise_id"])
    return paginate(session, stmt.order_by(f.id), pagination_parameters)


@blp.route("/statements/generate", methods=["POST"])
@requires(OrgKind.BUREAU, roles=WRITERS)
@idempotent()
@blp.arguments(StatementGenerateSchema)
@blp.response(201, GenerationSchema)
def generate_statements(data: dict[str, Any]) -> Any:
    """Generate the month's statements: a new version where the data changed, none otherwise."""
    now = clock.now()
    with unit_of_work() as session:
        return statements.generate(
            session,
            current_actor(),
            period=data["period"],
            as_of=data.get("as_of") or now,
            now=now,
            hospital_id=data.get("hospital_id"),
            enterprise_id=data.get("enterprise_id"),
            options=_options(),
        )


@blp.route("/statements", methods=["GET"])
@requires(OrgKind.BUREAU, OrgKind.HOSPITAL, OrgKind.DISTRIBUTOR)
@blp.arguments(StatementQuerySchema, location="query")
@blp.response(200, StatementSchema(many=True))
@blp.paginate(**PAGE)
@replica_reads
def list_statements(query: dict[str, Any], pagination_parameters: PaginationParameters) -> Any:
    """Statements you are a party to (all for the bureau); current versions unless asked."""
    stmt = statements.statements_for(
        current_actor(),
        period=query.get("period"),
        current_only=not query["all_versions"],
    )
    return paginate(request_session(), stmt, pagination_parameters)


@blp.route("/statements/<int:statement_id>", methods=["GET"])
@requires(OrgKind.BUREAU, OrgKind.HOSPITAL, OrgKind.DISTRIBUTOR)
@blp.response(200, StatementDetailSchema)
@replica_reads
def get_statement(statement_id: int) -> Any:
    """One statement with its lines, totals and discrepancies."""
    return statements.get_statement(request_session(), current_actor(), statement_id)


@blp.route("/statements/<int:statement_id>/pdf", methods=["GET"])
@requires(OrgKind.BUREAU, OrgKind.HOSPITAL, OrgKind.DISTRIBUTOR)
@blp.doc(**file_responses("application/pdf", description="对账单 PDF"))
@replica_reads
def statement_pdf_view(statement_id: int) -> Any:
    """The statement as a PDF (Chinese, embedded font, QR code leading to the verification)."""
    session = request_session()
    statement = statements.get_statement(session, current_actor(), statement_id)
    document = to_document(session, statement, verify_url_base=_config().statement_verify_url_base())
    filename = f"{statement.payload['number']}.pdf"
    return Response(
        statement_pdf.render_statement(document),
        mimetype="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@blp.route("/statements/<int:statement_id>/decision", methods=["POST"])
@requires(OrgKind.HOSPITAL, OrgKind.DISTRIBUTOR, roles=WRITERS)
@blp.arguments(StatementDecisionSchema)
@blp.response(200, StatementSchema)
def decide(data: dict[str, Any], statement_id: int) -> Any:
    """Confirm the current version, or dispute it with a reason (hospital or distributor)."""
    with unit_of_work() as session:
        return statements.decide(
            session,
            current_actor(),
            statement_id,
            confirm=data["confirm"],
            reason=data["reason"],
            now=clock.now(),
        )


@blp.route("/statements/verify/<string:code>", methods=["GET"])
@blp.response(200, VerificationSchema)
def verify(code: str) -> Any:
    """Public: does this verification code belong to a stored statement? Says which one and
    whether it is still the current version; shows no amounts."""
    session = request_session()
    statement = statements.verify(session, code)
    if statement is None:
        return {"valid": False}
    return {
        "valid": True,
        "number": statement.payload["number"],
        "period_month": statement.period_month,
        "version": statement.version,
        "current": statements.is_current(session, statement),
        "state": statement.state.value,
    }
