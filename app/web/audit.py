"""The audit log as a table: who acted (username, name by the privacy rule, organization), when,
on what; searchable, filtered by date range, action and user, exported and printed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select
from sqlalchemy.orm import aliased

from app.db import request_session
from app.web.common import actor, page, web
from app.web.tables import DATETIME, INT, TERM, Column, Table
from core import audit_search, privacy
from core.actors import Actor, Role
from core.audit import AuditEvent
from core.organizations import Organization, User

_user, _org = aliased(User), aliased(Organization)

AUDIT = Table(
    "audit",
    columns=(
        Column("id", "#", sort=AuditEvent.id),
        # Lane and position in the lane's chain (core/audit.py): what `flask audit verify` names.
        Column("lane_seq", _l("Lane"), sort=AuditEvent.lane),
        Column("at", _l("Time"), sort=AuditEvent.at, kind=DATETIME),
        Column("action", _l("Action"), sort=AuditEvent.action),
        Column("subject_type", _l("Subject"), sort=AuditEvent.subject_type),
        Column("subject_id", _l("Subject ID"), export_only=True),
        Column("username", _l("Username"), sort=_user.username),
        Column("actor_name", _l("By")),
        Column("actor_org_id", _l("Organization ID"), kind=INT, export_only=True),
        Column("organization", _l("By organization"), sort=_org.name),
        Column("actor_role", _l("Role"), kind=TERM),
    ),
    search=(AuditEvent.action, AuditEvent.subject_type, AuditEvent.subject_id, _user.username, _org.name),
    ids=(AuditEvent.id,),
    dated=AuditEvent.at,
    # Sequence numbers are per lane: the order across lanes is time, then id.
    default_sort="at",
    tiebreak=AuditEvent.id,
)


@dataclass(frozen=True)
class AuditRow:
    """An event as the viewer may see it (names masked by core.privacy), with who acted."""

    event: privacy.ShownEvent
    username: str | None
    organization: str | None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.event, name)


def audit_events(who: Actor) -> Select[Any]:
    """The events `who` may read, with the acting user's username and organization: the bureau
    all, anyone else those of its own organization (as subject or as actor)."""
    # The API's search (core/audit_search.py): one scoping rule and one order for both.
    return (
        audit_search.search(who)
        .add_columns(_user.username.label("username"), _org.name.label("organization"))
        .outerjoin(_user, _user.id == AuditEvent.actor_user_id)
        .outerjoin(_org, _org.id == AuditEvent.actor_org_id)
    )


def _rows(who: Actor, rows: list[Any]) -> list[AuditRow]:
    # Names shown by the one rule (core.privacy): in full only to their organization's admins.
    shown = privacy.shown_events(request_session(), who, [row.AuditEvent for row in rows])
    return [AuditRow(event, row.username, row.organization) for event, row in zip(shown, rows, strict=True)]


@web.route("/audit")
@page(roles=(Role.ADMIN, Role.AUDITOR))
def audit_log() -> ResponseReturnValue:
    who = actor()
    stmt = audit_events(who)
    action = request.args.get("action", "").strip()[:64]
    subject = request.args.get("subject_type", "").strip()[:64]
    username = request.args.get("user", "").strip()[:64]
    if action:
        stmt = stmt.where(AuditEvent.action.startswith(action, autoescape=True))
    if subject:
        stmt = stmt.where(AuditEvent.subject_type == subject)
    if username:
        stmt = stmt.where(_user.username == username)
    query = AUDIT.query(stmt)
    if query.export_format:
        return query.export(_rows(who, query.all_rows()))
    pager = query.paged()
    pager.items = _rows(who, pager.items)
    return render_template(
        "web/audit.html", pager=pager, query=query, action=action, subject_type=subject, user=username
    )
