"""Who hears of what happens to an agreement (站内消息): both parties when it is generated,
renewed, superseded or terminated; the other party when one side signs. Imported by the app at
start-up (app/api/agreements.py) so the rules are on core.messages.RULES."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from core.audit import AuditEvent
from core.messages import Delivery, register
from ledger.contracts.models import ProcurementAgreement

LINK = "procurement_agreement"
KINDS = {
    "agreement.generate": "agreement_generated",
    "agreement.renew": "agreement_generated",
    "agreement.supersede": "agreement_superseded",
    "agreement.terminate": "agreement_terminated",
}


def _agreement(session: Session, event: AuditEvent) -> ProcurementAgreement | None:
    try:
        return session.get(ProcurementAgreement, int(event.subject_id))
    except (TypeError, ValueError):
        return None


@register(*KINDS)
def agreement_changed(session: Session, event: AuditEvent) -> Iterable[Delivery]:
    """Both parties hear that an agreement was made, replaced or ended."""
    agreement = _agreement(session, event)
    if agreement is not None:
        for org in (agreement.hospital_id, agreement.manufacturer_id):
            yield Delivery(org, KINDS[event.action], LINK, agreement.id)


@register("agreement.sign")
def agreement_signed(session: Session, event: AuditEvent) -> Iterable[Delivery]:
    """The other party hears that one side signed (and both hear when it is signed by both)."""
    agreement = _agreement(session, event)
    if agreement is None:
        return
    party = (event.after or {}).get("party")
    other = agreement.manufacturer_id if party == "hospital" else agreement.hospital_id
    kind = "agreement_signed" if (event.after or {}).get("status") == "signed" else "agreement_to_sign"
    yield Delivery(other, kind, LINK, agreement.id)
