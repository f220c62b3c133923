"""Demo: traceability codes on the demo's shipments (issue 19 item 2). The distributor attaches one
code per pack as it ships (domestic 20-digit codes; GS1 codes for every other line, as imported
drugs carry), and the hospital's receipt sends the scan of the packs it kept. Called from the
ordering demo between shipping and receipt, which runs once (it is skipped when orders exist), so a
second `flask demo` attaches nothing twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actors import Actor
from ledger.models import Shipment, ShipmentLine
from ledger.trace.attach import attach_codes
from ledger.trace.formats import gtin_check_digit
from ledger.trace.models import TraceCode

#: A demo GTIN-13 body under the GS1 China prefix 690-699, with its check digit.
_GTIN_BODY = "0690000012345"
GTIN = _GTIN_BODY + str(gtin_check_digit(_GTIN_BODY))


def demo_codes(line: ShipmentLine) -> list[str]:
    if line.id % 2:
        return [f"(01){GTIN}(10){line.batch_no}(21)D{line.id}-{i}" for i in range(line.quantity)]
    return [f"8{line.id:07d}{i:012d}" for i in range(line.quantity)]


def attach_demo_codes(session: Session, distributor: Actor, shipment: Shipment, *, now: datetime) -> int:
    """One code per pack on every line of the shipment; the number attached."""
    attached = 0
    for line in shipment.lines:
        if session.scalar(select(TraceCode.id).where(TraceCode.shipment_line_id == line.id).limit(1)):
            continue
        attached += attach_codes(session, distributor, line.id, codes=demo_codes(line), now=now).count
    return attached


def kept_scan(session: Session, shipment_line_id: int, packs: int) -> list[str]:
    """The first `packs` live codes of a line: the hospital's scan of the packs it keeps at
    receipt, or of the packs it returns."""
    return list(
        session.scalars(
            select(TraceCode.code)
            .where(TraceCode.shipment_line_id == shipment_line_id, TraceCode.live_code.is_not(None))
            .order_by(TraceCode.id)
            .limit(packs)
        )
    )
