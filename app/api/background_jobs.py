"""Background jobs (后台任务): long work handed to the task queue's workers. A request answers
202 with the job and its Location; the job is followed there (status, units done of total),
by the requesting organization and the bureau only."""

from __future__ import annotations

from typing import Any

from flask import request, url_for
from flask_smorest import Blueprint
from marshmallow import fields

from app.auth import WRITERS, current_actor, requires
from app.background import enqueue_statements
from app.db import request_session
from core import clock
from core.actors import OrgKind
from core.background import BackgroundJob, BackgroundJobStatus, get_job
from core.validation import BaseSchema
from ledger.schemas import StatementGenerateSchema

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
    page = fields.Method("_page")

    def _page(self, job: BackgroundJob) -> str:
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
    key = request.headers.get("Idempotency-Key")
    job = enqueue_statements(
        actor,
        data["period"],
        as_of=data.get("as_of") or now,
        now=now,
        hospital_id=data.get("hospital_id"),
        # Scoped to the caller: one organization's key never names another's job.
        idempotency_key=f"api:{actor.org_id}:{actor.user_id}:{key}"[:200] if key else None,
    )
    return _accepted(job)


@blp.route("/background-jobs/<int:job_id>", methods=["GET"])
@requires()
@blp.response(200, BackgroundJobSchema)
def get_background_job(job_id: int) -> Any:
    """A job's status and progress (the requesting organization and the bureau)."""
    return get_job(request_session(), current_actor(), job_id)
