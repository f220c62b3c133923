"""Who hears of what (站内消息): one rule per audit action, naming the organizations concerned.

Each rule reads only the audit event and the record it names, and sends the record's kind and id,
never an amount or a price: a message tells a party that something happened to a record it can
already open (issue 17). Registered on core.messages.RULES when this module is imported (the app
does it at start-up, app/api/messages.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from bidding.models import BatchStatus, ProcurementBatch
from core.actors import OrgKind
from core.audit import AuditEvent
from core.messages import Delivery, register
from core.organizations import Organization
from ledger.models import SettlementApplication, Statement


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


@register("order.place")
def order_received(session: Session, event: AuditEvent) -> Iterable[Delivery]:
    """The distributor chosen by the hospital receives the order."""
    distributor = _int((event.after or {}).get("distributor_id"))
    if distributor is not None:
        yield Delivery(distributor, "order_received", "order", _int(event.subject_id))


@register("order.accept", "order.refuse")
def order_decided(session: Session, event: AuditEvent) -> Iterable[Delivery]:
    """The hospital hears that its distributor accepted or refused the order."""
    kind = "order_accepted" if event.action == "order.accept" else "order_refused"
    if event.subject_org_id is not None:
        yield Delivery(event.subject_org_id, kind, "order", _int(event.subject_id))


@register("shipment.create")
def delivery_arrived(session: Session, event: AuditEvent) -> Iterable[Delivery]:
    """The hospital hears that a delivery is on its way to be checked in."""
    order_id = _int((event.after or {}).get("order_id"))
    if event.subject_org_id is not None:
        yield Delivery(event.subject_org_id, "delivery_arrived", "order", order_id)


@register("invoice.record")
def invoice_to_confirm(session: Session, event: AuditEvent) -> Iterable[Delivery]:
    """The hospital has invoice lines to confirm."""
    number = (event.after or {}).get("number")
    if event.subject_org_id is not None:
        yield Delivery(
            event.subject_org_id, "invoice_to_confirm", "invoice", _int(event.subject_id), {"number": number}
        )


@register("statement.generate")
def statement_ready(session: Session, event: AuditEvent) -> Iterable[Delivery]:
    """Both parties of a reconciliation statement can read and confirm it."""
    statement = session.get(Statement, _int(event.subject_id))
    if statement is None:
        return
    for org_id in (statement.hospital_id, statement.enterprise_id):
        yield Delivery(org_id, "statement_ready", "statement", statement.id)


@register("settlement.file", "settlement.pay")
def application_moved(session: Session, event: AuditEvent) -> Iterable[Delivery]:
    """Both parties of a direct-settlement application hear that it was filed, then paid."""
    application = session.get(SettlementApplication, _int(event.subject_id))
    if application is None:
        return
    kind = "application_filed" if event.action == "settlement.file" else "application_paid"
    for org_id in (application.hospital_id, application.enterprise_id):
        if org_id != event.actor_org_id:
            yield Delivery(org_id, kind, "settlement_application", application.id)


#: A batch's phase and who it concerns: hospitals report demand, manufacturers bid, and the
#: results are public to both (vbp-rules.md §1–§2).
_BATCH_AUDIENCE = {
    BatchStatus.DEMAND_COLLECTION: ("batch_demand_open", (OrgKind.HOSPITAL,)),
    BatchStatus.BIDDING: ("batch_bidding_open", (OrgKind.MANUFACTURER,)),
    BatchStatus.RESULTS_PUBLISHED: ("batch_published", (OrgKind.HOSPITAL, OrgKind.MANUFACTURER)),
}


@register("batch.transition")
def batch_phase(session: Session, event: AuditEvent) -> Iterable[Delivery]:
    """A batch opening for demand or bids, or publishing its results, reaches those concerned."""
    status = (event.after or {}).get("status")
    audience = _BATCH_AUDIENCE.get(BatchStatus(status)) if status in set(BatchStatus) else None
    batch = session.get(ProcurementBatch, _int(event.subject_id))
    if audience is None or batch is None:
        return
    kind, org_kinds = audience
    orgs = session.scalars(
        select(Organization.id).where(Organization.kind.in_(org_kinds), Organization.active.is_(True))
    )
    for org_id in orgs:
        yield Delivery(org_id, kind, "batch", batch.id, {"name": batch.name})


@register("credit.rate")
def rating_changed(session: Session, event: AuditEvent) -> Iterable[Delivery]:
    """An enterprise hears that its credit rating (医药价格和招采信用评价) changed."""
    if event.subject_org_id is not None:
        grade = (event.after or {}).get("grade")
        yield Delivery(event.subject_org_id, "rating_changed", None, None, {"grade": grade})
