"""Warnings (预警, issue 18): the bureau lists, acknowledges and resolves every warning and runs the
daily rules on demand; a party reads and answers its own. The monthly supervision report."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app
from flask_smorest import Blueprint
from flask_smorest.pagination import PaginationParameters
from marshmallow import fields, validate

import ledger.supervision.warning_messages  # noqa: F401  (who hears of a warning: core.messages.RULES)
from app.api.common import PAGE, paginate
from app.api.files import XLSX, file_responses
from app.auth import WRITERS, current_actor, requires
from app.db import request_session, unit_of_work
from app.idempotency import idempotent
from core import clock
from core.actors import OrgKind
from core.errors import ValidationFailed
from core.uscc import region_code_error
from core.validation import MULTILINE, BaseSchema, Month
from ledger.supervision import dashboard
from ledger.supervision import warnings as engine
from ledger.supervision.models import Severity, WarningState
from reports.supervision_report import build_supervision_report, render_pdf, render_xlsx

PREFIX = ""
blp = Blueprint("warnings", __name__, description="监督预警 (supervision warnings)")


class WarningSchema(BaseSchema):
    id = fields.Integer()
    rule = fields.String()
    rule_label = fields.Method("_label")
    subject_kind = fields.String()
    subject_id = fields.Integer(allow_none=True)
    subject_key = fields.String()
    org_id = fields.Integer(allow_none=True, metadata={"description": "the party concerned"})
    region_code = fields.String(allow_none=True)
    severity = fields.Enum(Severity, by_value=True)
    state = fields.Enum(WarningState, by_value=True)
    value = fields.String(allow_none=True)
    threshold = fields.String(allow_none=True)
    facts = fields.Method("_facts")
    record_count = fields.Method("_count")
    first_seen_on = fields.Date()
    last_seen_on = fields.Date()
    created_at = fields.DateTime()
    acknowledged_at = fields.DateTime(allow_none=True)
    answer = fields.String(allow_none=True)
    answered_at = fields.DateTime(allow_none=True)
    resolution_note = fields.String(allow_none=True)
    resolved_at = fields.DateTime(allow_none=True)

    def _label(self, w: Any) -> str:
        spec = engine.load_rules().get(w.rule)
        return spec.label if spec else w.rule

    def _facts(self, w: Any) -> dict[str, Any]:
        return dict((w.evidence or {}).get("facts", {}))

    def _count(self, w: Any) -> int:
        return int((w.evidence or {}).get("record_count", 0))


class EvidenceSchema(BaseSchema):
    kind = fields.String()
    id = fields.Integer()
    description = fields.String(allow_none=True, metadata={"description": "only where you may see it"})
    link = fields.String(allow_none=True)


class WarningDetailSchema(WarningSchema):
    records = fields.List(fields.Nested(EvidenceSchema))


class WarningQuerySchema(BaseSchema):
    rule = fields.String(validate=validate.Length(min=1, max=40))
    state = fields.Enum(WarningState, by_value=True)
    severity = fields.Enum(Severity, by_value=True)
    region = fields.String(validate=validate.Length(equal=6))
    org_id = fields.Integer(validate=validate.Range(min=1, max=2**63 - 1))


class NoteSchema(BaseSchema):
    note = fields.String(required=True, validate=validate.Length(min=1, max=1000), metadata=MULTILINE)


class AnswerSchema(BaseSchema):
    answer = fields.String(required=True, validate=validate.Length(min=1, max=1000), metadata=MULTILINE)


class ComputeSchema(BaseSchema):
    rules = fields.List(
        fields.String(validate=validate.Length(min=1, max=40)), validate=validate.Length(max=50)
    )


class ComputeResultSchema(BaseSchema):
    day = fields.String()
    raised = fields.Dict(keys=fields.String(), values=fields.Integer())
    seen = fields.Dict(keys=fields.String(), values=fields.Integer())
    cleared = fields.Dict(keys=fields.String(), values=fields.Integer())


class ReportQuerySchema(BaseSchema):
    month = Month(required=True, metadata={"description": "YYYY-MM"})
    format = fields.String(load_default="pdf", validate=validate.OneOf(["pdf", "xlsx"]))


def _filter(query: dict[str, Any]) -> dashboard.WarningFilter:
    region = query.get("region")
    if region is not None and (msg := region_code_error(region)):
        raise ValidationFailed(fields={"region": [msg]})
    return dashboard.WarningFilter(
        rule=query.get("rule"),
        state=query.get("state"),
        severity=query.get("severity"),
        region_code=region,
        org_id=query.get("org_id"),
    )


class _Detail:
    """A warning with its drill-down records, for WarningDetailSchema."""

    def __init__(self, warning: Any) -> None:
        self._warning = warning
        self.records = dashboard.evidence(request_session(), current_actor(), warning)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._warning, name)


@blp.route("/warnings", methods=["GET"])
@requires()
@blp.arguments(WarningQuerySchema, location="query")
@blp.response(200, WarningSchema(many=True))
@blp.paginate(**PAGE)
def list_warnings(query: dict[str, Any], pagination_parameters: PaginationParameters) -> Any:
    """Warnings you may see (the bureau all, a party its own), newest first, filtered by rule,
    state, severity, region (a prefecture or province code takes the regions under it) or party."""
    stmt = dashboard.filtered_warnings(current_actor(), _filter(query))
    return paginate(request_session(), stmt, pagination_parameters)


@blp.route("/warnings/summary", methods=["GET"])
@requires()
@blp.response(200)
def warning_summary() -> Any:
    """Dashboard counts of the warnings you may see: by rule × region × state, by rule, by state,
    and the live ones by severity."""
    return dashboard.summary(request_session(), current_actor())


@blp.route("/warnings/rules", methods=["GET"])
@requires()
@blp.response(200)
def warning_rules() -> Any:
    """Every warning rule: code, label (Chinese first) and the thresholds it reads now."""
    return dashboard.rule_catalogue(current_app.config["VBP"].supervision)


@blp.route("/warnings/compute", methods=["POST"])
@requires(OrgKind.BUREAU, roles=WRITERS)
@idempotent()
@blp.arguments(ComputeSchema)
@blp.response(200, ComputeResultSchema)
def compute(data: dict[str, Any]) -> Any:
    """Run the daily rules now (all, or those named); idempotent within a day."""
    with unit_of_work() as session:
        summary = engine.compute_warnings(
            session,
            now=clock.now(),
            settings=current_app.config["VBP"].supervision,
            rules=data.get("rules") or None,
        )
        return summary.as_dict()


@blp.route("/warnings/<int:warning_id>", methods=["GET"])
@requires()
@blp.response(200, WarningDetailSchema)
def get_warning(warning_id: int) -> Any:
    """One warning with the records behind it (those you may see, each described)."""
    return _Detail(engine.get_warning(request_session(), current_actor(), warning_id))


@blp.route("/warnings/<int:warning_id>/acknowledge", methods=["POST"])
@requires(OrgKind.BUREAU, roles=WRITERS)
@idempotent()
@blp.response(200, WarningSchema)
def acknowledge(warning_id: int) -> Any:
    """The bureau has seen it (已知悉)."""
    with unit_of_work() as session:
        return engine.acknowledge(session, current_actor(), warning_id, now=clock.now())


@blp.route("/warnings/<int:warning_id>/resolve", methods=["POST"])
@requires(OrgKind.BUREAU, roles=WRITERS)
@idempotent()
@blp.arguments(NoteSchema)
@blp.response(200, WarningSchema)
def resolve(data: dict[str, Any], warning_id: int) -> Any:
    """Close it with a note (已处理)."""
    with unit_of_work() as session:
        return engine.resolve(session, current_actor(), warning_id, note=data["note"], now=clock.now())


@blp.route("/warnings/<int:warning_id>/answer", methods=["POST"])
@requires(OrgKind.HOSPITAL, OrgKind.MANUFACTURER, OrgKind.DISTRIBUTOR, roles=WRITERS)
@idempotent()
@blp.arguments(AnswerSchema)
@blp.response(200, WarningSchema)
def answer(data: dict[str, Any], warning_id: int) -> Any:
    """The party concerned explains (说明); a resolved warning takes no more answers."""
    with unit_of_work() as session:
        return engine.answer(session, current_actor(), warning_id, text=data["answer"], now=clock.now())


@blp.route("/reports/supervision", methods=["GET"])
@requires(OrgKind.BUREAU)
@blp.arguments(ReportQuerySchema, location="query")
@blp.doc(**file_responses(XLSX, "application/pdf", description="月度监督报告 (monthly supervision report)"))
def supervision_report(query: dict[str, Any]) -> Response:
    """The monthly supervision report: counts by rule, rankings, trend against the previous month."""
    month = query["month"]
    report = build_supervision_report(request_session(), month, generated_at=clock.now())
    if query["format"] == "xlsx":
        response = Response(render_xlsx(report), mimetype=XLSX)
    else:
        response = Response(render_pdf(report), mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="supervision-{month:%Y%m}.{query["format"]}"'
    )
    return response
