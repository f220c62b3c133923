"""Background jobs (后台任务): long work handed to the task queue's workers. A request answers
202 with the job and its Location; the job is followed there (status, units done of total),
by the requesting organization and the bureau only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Response, current_app, request, send_file, url_for
from flask_smorest import Blueprint
from marshmallow import fields

from app.api.files import XLSX, file_responses
from app.api.warnings import ComputeSchema
from app.auth import WRITERS, current_actor, requires
from app.background import enqueue, enqueue_statements
from app.db import request_session
from app.queue_kinds import RECONCILIATION, WARNINGS, reconciliation_params
from app.report_jobs import KIND as REPORTS
from app.report_jobs import report_params
from core import clock
from core.actors import Actor, OrgKind
from core.background import BackgroundJob, BackgroundJobStatus, get_job
from core.errors import NotFound
from core.validation import BaseSchema, Month
from ledger.schemas import RunStartSchema, StatementGenerateSchema

PREFIX = ""
blp = Blueprint("background_jobs", __name__, description="后台任务 (background jobs)")


class StatementJobSchema(StatementGenerateSchema):
    class Meta:
        exclude = ("enterprise_id",)


class BackgroundJobSchema(BaseSchema):
    id = fields.Integer()
    kind = fields.String()
    status = fields.Enum(BackgroundJobStatus, by_value=True)
    progress_done = fields.Integer()
    progress_total = fields.Integer()
    attempts = fields.Integer()
    result = fields.Dict(allow_none=True)
    error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    page = fields.Method("_page", allow_none=True)

    def _page(self, job: BackgroundJob) -> str | None:
        # The progress page is the bureau's (app/web/background_jobs.py); others follow the API.
        if not current_actor().is_bureau:
            return None
        return url_for("web.background_job_page", job_id=job.id)


def _accepted(job: BackgroundJob) -> Any:
    location = url_for("background_jobs.get_background_job", job_id=job.id)
    return job, 202, {"Location": location}


@blp.route("/background-jobs/statements", methods=["POST"])
@requires(OrgKind.BUREAU, roles=WRITERS)
@blp.arguments(StatementJobSchema)
@blp.response(202, BackgroundJobSchema)
def start_statements(data: dict[str, Any]) -> Any:
    """The month's statements and their PDFs for every hospital × distributor, on the workers.
    A retried request with the same Idempotency-Key gets the same job."""
    actor, now = current_actor(), clock.now()
    job = enqueue_statements(
        actor,
        data["period"],
        as_of=data.get("as_of") or now,
        now=now,
        hospital_id=data.get("hospital_id"),
        idempotency_key=_key(actor),
    )
    return _accepted(job)


def _key(actor: Actor) -> str | None:
    """The request's Idempotency-Key, scoped to the caller: one organization's key never names
    another's job."""
    key = request.headers.get("Idempotency-Key")
    return f"api:{actor.org_id}:{actor.user_id}:{key}"[:200] if key else None


@blp.route("/background-jobs/reconciliation-runs", methods=["POST"])
@requires(OrgKind.BUREAU, roles=WRITERS)
@blp.arguments(RunStartSchema)
@blp.response(202, BackgroundJobSchema)
def start_reconciliation_run(data: dict[str, Any]) -> Any:
    """A stored reconciliation run of a slice (empty body: the province), on the workers."""
    actor, now = current_actor(), clock.now()
    params = reconciliation_params(data, as_of=data.get("as_of") or now, now=now)
    return _accepted(enqueue(actor, RECONCILIATION, params, idempotency_key=_key(actor)))


@blp.route("/background-jobs/warnings", methods=["POST"])
@requires(OrgKind.BUREAU, roles=WRITERS)
@blp.arguments(ComputeSchema)
@blp.response(202, BackgroundJobSchema)
def start_warnings(data: dict[str, Any]) -> Any:
    """The daily warning rules (all, or those named), on the workers: one unit per rule."""
    actor = current_actor()
    params = {"now": clock.now().isoformat(), "rules": data.get("rules") or None}
    return _accepted(enqueue(actor, WARNINGS, params, idempotency_key=_key(actor)))


class ReportJobSchema(BaseSchema):
    period = Month(required=True, metadata={"description": "YYYY-MM"})


@blp.route("/background-jobs/reports", methods=["POST"])
@requires(OrgKind.BUREAU, roles=WRITERS)
@blp.arguments(ReportJobSchema)
@blp.response(202, BackgroundJobSchema)
def start_reports(data: dict[str, Any]) -> Any:
    """The month's indicator reports (PDF and xlsx, by month, region and hospital) and the
    supervision report, on the workers: one unit per file. The finished job lists its files,
    downloaded at /background-jobs/{id}/files/{name}."""
    actor = current_actor()
    period = data["period"]
    out_dir = Path(current_app.instance_path) / "reports"
    params = report_params(period=period, now=clock.now(), out_dir=out_dir)
    return _accepted(enqueue(actor, REPORTS, params, idempotency_key=_key(actor)))


def _job_file(job_id: int, name: str) -> Response:
    """A file a finished job wrote: only a name its result lists (no path reaches the disk)."""
    job = get_job(request_session(), current_actor(), job_id)
    result = job.result or {}
    if job.status is not BackgroundJobStatus.SUCCEEDED or name not in result.get("files", []):
        raise NotFound("文件不存在 (no such file of this job)")
    return send_file(Path(result["folder"]) / name, as_attachment=True, download_name=name)


@blp.route("/background-jobs/<int:job_id>/files/<string:stem>.pdf", methods=["GET"])
@requires(OrgKind.BUREAU)
@blp.doc(**file_responses("application/pdf"))
def job_file_pdf(job_id: int, stem: str) -> Response:
    """A PDF a finished job wrote (bureau)."""
    return _job_file(job_id, f"{stem}.pdf")


@blp.route("/background-jobs/<int:job_id>/files/<string:stem>.xlsx", methods=["GET"])
@requires(OrgKind.BUREAU)
@blp.doc(**file_responses(XLSX))
def job_file_xlsx(job_id: int, stem: str) -> Response:
    """An xlsx workbook a finished job wrote (bureau)."""
    return _job_file(job_id, f"{stem}.xlsx")


@blp.route("/background-jobs/<int:job_id>", methods=["GET"])
@requires()
@blp.response(200, BackgroundJobSchema)
def get_background_job(job_id: int) -> Any:
    """A job's status and progress (the requesting organization and the bureau)."""
    return get_job(request_session(), current_actor(), job_id)
