"""The audit search (API and pages read the same select): newest first, scoped to what an actor
may see, filtered by action, subject and a period. The period is on `at`, the column the trail is
partitioned by on PostgreSQL (core/partitions.py), so a period's search reads only its months."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, or_, select

from core.actors import Actor
from core.audit import AuditEvent


def search(
    actor: Actor,
    *,
    action: str | None = None,
    subject_type: str | None = None,
    subject_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Select[tuple[AuditEvent]]:
    """Events for the bureau, otherwise those about or by the actor's organization. Sequence
    numbers are per lane (core/audit.py): across lanes, newest is by time, then id."""
    stmt = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if not actor.is_bureau:
        stmt = stmt.where(
            or_(AuditEvent.subject_org_id == actor.org_id, AuditEvent.actor_org_id == actor.org_id)
        )
    for column, value in (
        (AuditEvent.action, action),
        (AuditEvent.subject_type, subject_type),
        (AuditEvent.subject_id, subject_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if since is not None:
        stmt = stmt.where(AuditEvent.at >= since)
    if until is not None:
        stmt = stmt.where(AuditEvent.at < until)
    return stmt
