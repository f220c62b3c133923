"""Who hears of a warning (站内消息): the party concerned when one is raised about it and when the
bureau resolves it. Registered on core.messages.RULES when imported (by the rule modules, so the
daily job has it, and by the app at start-up)."""

from __future__ import annotations

from collections.abc import Iterable

from core.audit import AuditEvent
from core.messages import Delivery, register


@register("warning.raise", "warning.resolve")
def warning_to_party(_session: object, event: AuditEvent) -> Iterable[Delivery]:
    """A party hears of a warning about it (raised) and of its closing by the bureau (resolved);
    the bureau's own warnings (no party) and the daily job's automatic clearing send nothing."""
    if event.subject_org_id is None or event.subject_id is None:
        return
    kind = "warning_raised" if event.action == "warning.raise" else "warning_resolved"
    rule = (event.after or {}).get("rule")
    yield Delivery(
        event.subject_org_id, kind, "warning", int(event.subject_id), {"rule": rule} if rule else {}
    )
