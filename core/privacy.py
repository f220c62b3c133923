"""Personal names, shown by one rule everywhere: in full to the admins of the person's own
organization (and to the person), masked (王**) for everyone else: user lists, user records,
and the audit trail (actors' names and names inside event payloads)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actors import Actor, Role
from core.audit import AuditEvent
from core.organizations import User

#: Payload keys whose values are a person's name (audit payloads of user events).
PERSON_NAME_KEYS = frozenset({"display_name"})


def mask_name(name: str) -> str:
    """张三丰 → 张**; a one-character name stays as it is."""
    return name[:1] + "*" * (len(name) - 1)


def sees_names_of(viewer: Actor, org_id: int | None, *, person_id: int | None = None) -> bool:
    """Whether `viewer` sees in full the names of people of organization `org_id`."""
    if person_id is not None and person_id == viewer.user_id:
        return True
    return org_id is not None and viewer.org_id == org_id and viewer.role is Role.ADMIN


def shown_name(viewer: Actor, user: User) -> str:
    """A user's display name as `viewer` may see it."""
    full = sees_names_of(viewer, user.organization_id, person_id=user.id)
    return user.display_name if full else mask_name(user.display_name)


def masked_payload(payload: Any) -> Any:
    """A copy of an audit payload with every person's name masked, at any depth."""
    if isinstance(payload, Mapping):
        return {
            key: mask_name(value)
            if key in PERSON_NAME_KEYS and isinstance(value, str)
            else masked_payload(value)
            for key, value in payload.items()
        }
    if isinstance(payload, list):
        return [masked_payload(value) for value in payload]
    return payload


@dataclass(frozen=True)
class ShownEvent:
    """An audit event as one viewer may see it (names masked by the rule above)."""

    seq: int
    at: datetime
    actor_user_id: int | None
    actor_name: str | None
    actor_org_id: int | None
    actor_role: str
    action: str
    subject_type: str
    subject_id: str
    subject_org_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    hash: str
    suite: str
    #: The event's row id and lane (seq is its position in that lane's chain).
    id: int = 0
    lane: int = 0

    @property
    def lane_seq(self) -> str:
        return f"{self.lane}·{self.seq}"


def shown_events(session: Session, viewer: Actor, events: Sequence[AuditEvent]) -> list[ShownEvent]:
    """Audit events with actors' names, masked where `viewer` may not see them in full."""
    names = _names(session, {e.actor_user_id for e in events if e.actor_user_id is not None})
    shown = []
    for event in events:
        actor_name = names.get(event.actor_user_id) if event.actor_user_id is not None else None
        if actor_name is not None and not sees_names_of(
            viewer, event.actor_org_id, person_id=event.actor_user_id
        ):
            actor_name = mask_name(actor_name)
        # Names in the payload are the subject's (user events), of the subject's organization.
        subject_person = int(event.subject_id) if event.subject_type == "user" else None
        full = sees_names_of(viewer, event.subject_org_id, person_id=subject_person)
        before, after = event.before, event.after
        if not full:
            before, after = masked_payload(before), masked_payload(after)
        shown.append(
            ShownEvent(
                seq=event.seq,
                id=event.id,
                lane=event.lane,
                at=event.at,
                actor_user_id=event.actor_user_id,
                actor_name=actor_name,
                actor_org_id=event.actor_org_id,
                actor_role=event.actor_role,
                action=event.action,
                subject_type=event.subject_type,
                subject_id=event.subject_id,
                subject_org_id=event.subject_org_id,
                before=before,
                after=after,
                hash=event.hash,
                suite=event.suite,
            )
        )
    return shown


def _names(session: Session, user_ids: Iterable[int]) -> dict[int, str]:
    ids = list(user_ids)
    if not ids:
        return {}
    rows = session.execute(select(User.id, User.display_name).where(User.id.in_(ids)))
    return {row.id: row.display_name for row in rows}
