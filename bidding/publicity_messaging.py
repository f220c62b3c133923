"""Who hears of the publicity period and its objections (站内消息, core/messages.py): the batch's
bidders when results are proposed or a proposal is void, the objector and the bureau when an
objection is lodged, answered or withdrawn, the bureau when results become final (everyone else
hears it from the batch's own "results published" message, ledger/messaging.py). Each links to the
batch, whose page leads to its publicity page. Registered when
this module is imported (the app does it at start-up, app/api/publicity.py). Messages name the
record only, never a price.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from bidding.models import Bid, ProcurementBatch
from bidding.publicity_models import Objection, ResultProposal
from core.audit import AuditEvent
from core.messages import Delivery, register


def _id(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def _bidders(session: Session, batch_id: int) -> list[int]:
    return list(session.scalars(select(Bid.manufacturer_id).where(Bid.batch_id == batch_id).distinct()))


@register("proposal.propose", "proposal.void", "proposal.finalize")
def proposal_moved(session: Session, event: AuditEvent) -> Iterable[Delivery]:
    """Proposed or void: every bidder of the batch; final: the bureau that runs the batch."""
    proposal = session.get(ResultProposal, _id(event.subject_id))
    batch = session.get(ProcurementBatch, proposal.batch_id) if proposal else None
    if proposal is None or batch is None:
        return
    data = {"name": batch.name, "seq": proposal.seq}
    if event.action == "proposal.finalize":
        yield Delivery(batch.created_by_org_id, "results_final", "batch", batch.id, data)
        return
    kind = "results_proposal" if event.action == "proposal.propose" else "proposal_void"
    for org_id in _bidders(session, batch.id):
        yield Delivery(org_id, kind, "batch", batch.id, data)


@register("objection.lodge", "objection.answer", "objection.withdraw")
def objection_moved(session: Session, event: AuditEvent) -> Iterable[Delivery]:
    """The objector and the bureau that runs the batch."""
    objection = session.get(Objection, _id(event.subject_id))
    batch = session.get(ProcurementBatch, objection.batch_id) if objection else None
    if objection is None or batch is None:
        return
    kind = {
        "objection.lodge": "objection_lodged",
        "objection.answer": "objection_answered",
        "objection.withdraw": "objection_withdrawn",
    }[event.action]
    for org_id in (objection.objector_org_id, batch.created_by_org_id):
        yield Delivery(org_id, kind, "batch", batch.id, {"name": batch.name, "objection_id": objection.id})
