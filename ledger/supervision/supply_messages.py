"""Who hears of supply-guarantee events (站内消息, core/messages.py): registered when imported (the
app imports it at start-up with its API, app/api/supervision_supply.py). As ledger/messaging.py,
a message names the record, never an amount or a price."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from bidding.models import Award
from core.audit import AuditEvent
from core.messages import Delivery, register
from ledger.models import Order
from ledger.supervision.supply_models import BackupActivation, VolumeMove


def _int(value: object) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


@register("order_line.out_of_stock")
def out_of_stock(session: Session, event: AuditEvent) -> Iterable[Delivery]:
    """The hospital hears that a line of its order is out of stock (缺货)."""
    order_id = _int((event.after or {}).get("order_id"))
    if event.subject_org_id is not None:
        yield Delivery(event.subject_org_id, "stock_out_marked", "order", order_id)


@register("order.void")
def voided(session: Session, event: AuditEvent) -> Iterable[Delivery]:
    """Both parties hear that lines of an order were voided (作废); the hospital may buy elsewhere."""
    order = session.get(Order, _int(event.subject_id))
    if order is None:
        return
    for org_id in (order.hospital_id, order.distributor_id):
        yield Delivery(org_id, "lines_voided", "order", order.id)


@register("supply_failure.record")
def supply_failure(session: Session, event: AuditEvent) -> Iterable[Delivery]:
    """The winner hears that the bureau recorded a supply failure (断供) against it."""
    if event.subject_org_id is not None:
        yield Delivery(
            event.subject_org_id, "supply_failure_recorded", "supply_failure", _int(event.subject_id)
        )


@register("backup.activate", "backup.reverse")
def backup_switched(session: Session, event: AuditEvent) -> Iterable[Delivery]:
    """The region's hospitals whose volume moved, and both winners, hear of the switch."""
    activation = session.get(BackupActivation, _int(event.subject_id))
    if activation is None:
        return
    hospitals = session.scalars(
        select(VolumeMove.hospital_id).where(VolumeMove.activation_id == activation.id).distinct()
    ).all()
    makers = session.scalars(
        select(Award.manufacturer_id).where(Award.id.in_((activation.from_award_id, activation.to_award_id)))
    ).all()
    for org_id in dict.fromkeys([*sorted(hospitals), *makers]):
        yield Delivery(org_id, "backup_activated", "backup_activation", activation.id)
