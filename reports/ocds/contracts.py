"""The contract stage's source: ONE function, `framework_agreements`, that the OCDS releases read.

The agreements are the procurement agreement records (带量采购购销协议, ledger.contracts): one
OCDS contract per agreement (hospital × winner × cycle year), identified by its number, its items
its lines (agreed yearly quantity at the winning unit price), its period the cycle year, its
status mapped from the agreement's (`CONTRACT_STATUS`). A hospital's orders against the awards
of its agreement's lines, placed within the agreement's cycle year, are the agreement's call-offs
(an order outside every cycle year goes to the nearest year's agreement); payments for those
orders hang off the same agreement (build.py). Orders of a hospital that has no agreement for
the award (it had no allocation of it) are call-offs of no agreement and are not listed.

Fallback: while a published batch has no agreement records yet (generation has not been run),
an agreement is derived per award from the allocation rows, as before the records existed: the
winner's framework agreement for the item over the batch's cycle, at the winning price, for the
province-wide agreed volume, every hospital order against the award being its call-off.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from bidding.models import Award, BatchStatus, ProcurementBatch, Product, VolumeAllocation
from core.money import e4_to_decimal, to_fen
from ledger.contracts.models import AgreementLine, AgreementStatus, ProcurementAgreement
from ledger.models import Order, OrderLine

A = AgreementStatus
#: The agreement's states (ledger.contracts.states) as OCDS 1.1 contract statuses, from the closed
#: contractStatus codelist (https://standard.open-contracting.org/1.1/en/schema/codelists/#contract-status):
#: pending = "not yet in force", active = "signed by all parties and in force", terminated =
#: "no longer in force". Nothing maps to cancelled (a contract never signed and abandoned): an
#: unsigned agreement the bureau terminates still reads terminated, as the platform records it.
CONTRACT_STATUS: dict[AgreementStatus, str] = {
    A.GENERATED: "pending",
    A.SIGNED_BY_HOSPITAL: "pending",
    A.SIGNED_BY_ENTERPRISE: "pending",
    A.SIGNED: "active",
    A.SUPERSEDED: "terminated",
    A.TERMINATED: "terminated",
}


@dataclass(frozen=True)
class CallOff:
    """A hospital's order against one award of the agreement (its lines of that award, summed)."""

    order_id: int
    award_id: int
    hospital_id: int
    ordered_on: date
    packs: int
    amount_fen: int
    pack_price_fen: int


@dataclass(frozen=True)
class ContractLine:
    """One product of the agreement: its agreed quantity (minimum units) at the winning price."""

    award_id: int
    product: Product
    quantity: int
    unit_price_e4: int
    amount_fen: int


@dataclass(frozen=True)
class FrameworkAgreement:
    #: The OCDS contract id: the agreement number (fallback: "agreement-<award id>").
    id: str
    #: The agreement record (None in the per-award fallback).
    agreement_id: int | None
    manufacturer_id: int
    #: The hospital party (None in the fallback: province-wide).
    hospital_id: int | None
    lines: list[ContractLine]
    amount_fen: int
    start_on: date
    end_on: date
    #: OCDS contractStatus (CONTRACT_STATUS).
    status: str
    #: When the second party signed (None until both have).
    signed_at: datetime | None = None
    call_offs: list[CallOff] = field(default_factory=list)

    @property
    def award_ids(self) -> list[int]:
        """The awards its lines come from, in line order, each once."""
        return list(dict.fromkeys(ln.award_id for ln in self.lines))


def award_volumes(session: Session, batch: ProcurementBatch) -> dict[int, int]:
    """Province-wide agreed quantity (minimum units) per award of the batch."""
    return {
        award_id: int(units or 0)
        for award_id, units in session.execute(
            select(VolumeAllocation.award_id, func.sum(VolumeAllocation.agreed_quantity))
            .where(VolumeAllocation.batch_id == batch.id)
            .group_by(VolumeAllocation.award_id)
        )
    }


def _call_offs(session: Session, batch: ProcurementBatch) -> list[CallOff]:
    return [
        CallOff(order_id, award_id, hospital_id, ordered_on, int(packs), int(amount), pack_price)
        for award_id, order_id, hospital_id, ordered_on, packs, amount, pack_price in session.execute(
            select(
                Award.id,  # = the line's award (the join), never NULL
                Order.id,
                Order.hospital_id,
                func.min(OrderLine.ordered_on),
                func.sum(OrderLine.quantity),
                func.sum(OrderLine.amount_fen),
                Award.pack_price_fen,
            )
            .join(Order, Order.id == OrderLine.order_id)
            .join(Award, Award.id == OrderLine.award_id)
            .where(Award.batch_id == batch.id)
            .group_by(Award.id, Order.id, Order.hospital_id, Award.pack_price_fen)
            .order_by(Order.id, Award.id)
        )
    ]


class AgreementFinder:
    """Which agreement a hospital's order (or its payment) against an award on a day belongs to:
    the one of that hospital and award whose cycle year holds the day, else the nearest year's."""

    def __init__(self, agreements: list[FrameworkAgreement]) -> None:
        self.by_pair: dict[tuple[int | None, int], list[FrameworkAgreement]] = {}
        for deal in agreements:
            for award_id in deal.award_ids:
                self.by_pair.setdefault((deal.hospital_id, award_id), []).append(deal)

    def find(self, hospital_id: int, award_id: int, on: date) -> FrameworkAgreement | None:
        found = self.by_pair.get((hospital_id, award_id)) or self.by_pair.get((None, award_id))
        if not found:
            return None
        return min(
            found, key=lambda d: (0 if d.start_on <= on <= d.end_on else 1, abs((d.start_on - on).days))
        )


def _records(session: Session, batch: ProcurementBatch) -> list[FrameworkAgreement]:
    agreements = session.scalars(
        select(ProcurementAgreement)
        .where(ProcurementAgreement.batch_id == batch.id)
        .options(selectinload(ProcurementAgreement.lines))
        .order_by(ProcurementAgreement.number)
    ).all()
    award_ids = {ln.award_id for a in agreements for ln in a.lines}
    awards = {a.id: a for a in session.scalars(select(Award).where(Award.id.in_(award_ids or {0})))}
    return [
        FrameworkAgreement(
            id=a.number,
            agreement_id=a.id,
            manufacturer_id=a.manufacturer_id,
            hospital_id=a.hospital_id,
            lines=[_line(ln, awards[ln.award_id]) for ln in a.lines],
            amount_fen=a.amount_fen,
            start_on=a.starts_on,
            end_on=a.ends_on,
            status=CONTRACT_STATUS[a.status],
            signed_at=_signed_at(a),
        )
        for a in agreements
    ]


def _line(line: AgreementLine, award: Award) -> ContractLine:
    return ContractLine(
        line.award_id, award.product, line.agreed_quantity, line.unit_price_e4, line.amount_fen
    )


def _signed_at(agreement: ProcurementAgreement) -> datetime | None:
    both = (agreement.hospital_signed_at, agreement.enterprise_signed_at)
    return max(both) if all(both) else None  # type: ignore[type-var]


def _per_award(session: Session, batch: ProcurementBatch) -> list[FrameworkAgreement]:
    """The fallback (see the module note): one agreement per award, province-wide."""
    agreed = award_volumes(session, batch)
    status = "terminated" if batch.status is BatchStatus.CLOSED else "active"
    out = []
    for award in session.scalars(
        select(Award).where(Award.batch_id == batch.id).order_by(Award.item_id, Award.rank)
    ):
        units = agreed.get(award.id, 0)
        fen = to_fen(e4_to_decimal(award.unit_price_e4) * units)
        out.append(
            FrameworkAgreement(
                id=f"agreement-{award.id}",
                agreement_id=None,
                manufacturer_id=award.manufacturer_id,
                hospital_id=None,
                lines=[ContractLine(award.id, award.product, units, award.unit_price_e4, fen)],
                amount_fen=fen,
                start_on=batch.cycle_start_on,
                end_on=batch.cycle_end_on,
                status=status,
            )
        )
    return out


def framework_agreements(session: Session, batch: ProcurementBatch) -> list[FrameworkAgreement]:
    """The agreements of a batch with their call-offs (see the module note)."""
    deals = _records(session, batch) or _per_award(session, batch)
    finder = AgreementFinder(deals)
    calls: dict[str, list[CallOff]] = {}
    for call in _call_offs(session, batch):
        deal = finder.find(call.hospital_id, call.award_id, call.ordered_on)
        if deal is not None:
            calls.setdefault(deal.id, []).append(call)
    return [replace(deal, call_offs=calls.get(deal.id, [])) for deal in deals]
