"""Scheduler job history for the bureau: what ran, for which tick, and how it ended."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from flask_smorest.pagination import PaginationParameters
from marshmallow import fields
from sqlalchemy import select

from app.api.common import PAGE, paginate
from app.auth import requires
from app.db import request_session
from core.actors import OrgKind
from core.jobs import JobRun, JobStatus
from core.validation import BaseSchema

PREFIX = ""
blp = Blueprint("jobs", __name__, description="定时任务 (scheduler jobs)")


class JobSchema(BaseSchema):
    name = fields.String()
    description = fields.String()
    cron = fields.Dict()


class JobRunQuerySchema(BaseSchema):
    job = fields.String()
    status = fields.Enum(JobStatus, by_value=True)


class JobRunSchema(BaseSchema):
    id = fields.Integer()
    job = fields.String()
    tick = fields.DateTime()
    status = fields.Enum(JobStatus, by_value=True)
    started_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)
    worker = fields.String()
    result = fields.Dict(allow_none=True)
    error = fields.String(allow_none=True)


@blp.route("/jobs", methods=["GET"])
@requires(OrgKind.BUREAU)
@blp.response(200, JobSchema(many=True))
def list_jobs() -> Any:
    """The scheduler's jobs and their schedules (China time)."""
    from app.scheduler import JOBS

    return list(JOBS.values())


@blp.route("/jobs/runs", methods=["GET"])
@requires(OrgKind.BUREAU)
@blp.arguments(JobRunQuerySchema, location="query")
@blp.response(200, JobRunSchema(many=True))
@blp.paginate(**PAGE)
def list_runs(query: dict[str, Any], pagination_parameters: PaginationParameters) -> Any:
    """Job history, newest first (bureau)."""
    stmt = select(JobRun).order_by(JobRun.tick.desc(), JobRun.id.desc())
    if query.get("job"):
        stmt = stmt.where(JobRun.job == query["job"])
    if query.get("status"):
        stmt = stmt.where(JobRun.status == query["status"])
    return paginate(request_session(), stmt, pagination_parameters)
