"""The contract stage's source: ONE function, `framework_agreements`, that the OCDS releases read.

Until the procurement agreements (带量采购购销协议) exist as records of their own, an agreement is
derived per award from the allocation rows: the winner's framework agreement for the item over the
batch's cycle, at the winning price, for the province-wide agreed volume; hospital orders placed
against the award are its call-offs. To switch to the agreement records, change this function
only: everything downstream takes `FrameworkAgreement` values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bidding.models import Award, BatchStatus, ProcurementBatch, Product, VolumeAllocation
from core.money import e4_to_decimal, to_fen
from ledger.models import Order, OrderLine


@dataclass(frozen=True)
class CallOff:
    """A hospital's order against the agreement (its lines of this award, summed)."""

    order_id: int
    hospital_id: int
    ordered_on: date
    packs: int
    amount_fen: int


@dataclass(frozen=True)
class FrameworkAgreement:
    award_id: int
    item_id: int
    manufacturer_id: int
    product: Product
    unit_price_e4: int
    pack_price_fen: int
    #: Province-wide agreed quantity (minimum units) and its value at the winning unit price.
    agreed_units: int
    agreed_fen: int
    start_on: date
    end_on: date
    #: "active" during the cycle, "terminated" once the batch is closed.
    status: str
    call_offs: list[CallOff] = field(default_factory=list)


def framework_agreements(session: Session, batch: ProcurementBatch) -> list[FrameworkAgreement]:
    """The agreements of a batch, one per award, with their call-offs (see the module note)."""
    agreed = dict(
        session.execute(
            select(VolumeAllocation.award_id, func.sum(VolumeAllocation.agreed_quantity))
            .where(VolumeAllocation.batch_id == batch.id)
            .group_by(VolumeAllocation.award_id)
        ).all()
    )
    calls: dict[int, list[CallOff]] = {}
    for award_id, order_id, hospital_id, ordered_on, packs, amount in session.execute(
        select(
            OrderLine.award_id,
            Order.id,
            Order.hospital_id,
            func.min(OrderLine.ordered_on),
            func.sum(OrderLine.quantity),
            func.sum(OrderLine.amount_fen),
        )
        .join(Order, Order.id == OrderLine.order_id)
        .join(Award, Award.id == OrderLine.award_id)
        .where(Award.batch_id == batch.id)
        .group_by(OrderLine.award_id, Order.id, Order.hospital_id)
        .order_by(Order.id)
    ):
        calls.setdefault(award_id, []).append(
            CallOff(order_id, hospital_id, ordered_on, int(packs), int(amount))
        )
    status = "terminated" if batch.status is BatchStatus.CLOSED else "active"
    out = []
    for award in session.scalars(
        select(Award).where(Award.batch_id == batch.id).order_by(Award.item_id, Award.rank)
    ):
        units = int(agreed.get(award.id) or 0)
        out.append(
            FrameworkAgreement(
                award.id,
                award.item_id,
                award.manufacturer_id,
                award.product,
                award.unit_price_e4,
                award.pack_price_fen,
                units,
                to_fen(e4_to_decimal(award.unit_price_e4) * units),
                batch.cycle_start_on,
                batch.cycle_end_on,
                status,
                calls.get(award.id, []),
            )
        )
    return out
