"""Audit trail: search (scoped) and chain verification (bureau)."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from flask_smorest.pagination import PaginationParameters
from sqlalchemy import or_, select

from app.api.common import PAGE, paginate
from app.auth import current_actor, requires
from app.db import request_session
from core import audit, privacy
from core.actors import OrgKind, Role
from core.audit import AuditEvent
from core.schemas import AuditEventSchema, AuditQuerySchema, ChainReportSchema

PREFIX = "/audit-events"
blp = Blueprint("audit", __name__, description="审计日志 (audit trail)")


@blp.route("", methods=["GET"])
@requires(roles=(Role.ADMIN, Role.AUDITOR))
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, AuditEventSchema(many=True))
@blp.paginate(**PAGE)
def list_events(query: dict[str, Any], pagination_parameters: PaginationParameters) -> Any:
    """Audit events, newest first: all for the bureau, otherwise those about or by your organization.
    Personal names (actors', and in payloads) are masked unless you administer their organization."""
    actor = current_actor()
    # Sequence numbers are per lane (core/audit.py): across lanes, newest is by time, then id.
    stmt = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if not actor.is_bureau:
        stmt = stmt.where(
            or_(AuditEvent.subject_org_id == actor.org_id, AuditEvent.actor_org_id == actor.org_id)
        )
    for name in ("action", "subject_type", "subject_id"):
        if name in query:
            stmt = stmt.where(getattr(AuditEvent, name) == query[name])
    if "since" in query:
        stmt = stmt.where(AuditEvent.at >= query["since"])
    if "until" in query:
        stmt = stmt.where(AuditEvent.at < query["until"])
    events = paginate(request_session(), stmt, pagination_parameters)
    return privacy.shown_events(request_session(), actor, events)


@blp.route("/verify", methods=["GET"])
@requires(OrgKind.BUREAU, roles=(Role.ADMIN, Role.AUDITOR))
@blp.response(200, ChainReportSchema)
def verify() -> Any:
    """Recompute every lane's hash chain and every daily root; report the first problem, if any
    (the lane and seq of the event, or the day of the root)."""
    return audit.verify_chain(request_session())
