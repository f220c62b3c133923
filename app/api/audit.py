"""Audit trail: search (scoped) and chain verification (bureau)."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from flask_smorest.pagination import PaginationParameters

from app.api.common import PAGE, paginate
from app.auth import current_actor, requires
from app.db import request_session
from core import audit, audit_search, privacy
from core.actors import OrgKind, Role
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
    stmt = audit_search.search(actor, **query)
    events = paginate(request_session(), stmt, pagination_parameters)
    return privacy.shown_events(request_session(), actor, events)


@blp.route("/verify", methods=["GET"])
@requires(OrgKind.BUREAU, roles=(Role.ADMIN, Role.AUDITOR))
@blp.response(200, ChainReportSchema)
def verify() -> Any:
    """Recompute every lane's hash chain and every daily root; report the first problem, if any
    (the lane and seq of the event, or the day of the root)."""
    return audit.verify_chain(request_session())
