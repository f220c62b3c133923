"""Retained savings (医保资金结余留用, vbp-rules.md §4.4, E9) per hospital, batch and cycle year, from
the ledger: the inputs are gathered here once and the tested pure rule
`ledger.money_rules.retained_savings` turns them into money.

* Budget: Σ over the hospital's allocations of agreed units × the item's pre-VBP unit price.
* Actual spend: what the hospital bought (purchases.bought_fen: accepted less returned packs × the
  frozen pack price, exact) of the batch's varieties — winners and non-winners of the same generic
  name alike (Guangxi, S42) — in the cycle year up to and including the day judged.
* Completion: completed units (purchases.completed_units) ÷ agreed units, exactly: 99.997 % has not
  completed the agreed volume.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from bidding.models import BatchItem, ProcurementBatch, Product, VolumeAllocation
from core.actors import Actor
from core.money import E4_PER_YUAN, FEN_PER_YUAN
from ledger.figures.cycle import CycleYear, cycle_year
from ledger.figures.purchases import bought_fen, completed_units, in_cycle_year, purchase_flows
from ledger.models import OrderLine
from ledger.money_rules import RetainedSavings, SavingsFormula, retained_savings
from ledger.scoping import party_scope

E4_PER_FEN = E4_PER_YUAN // FEN_PER_YUAN


@dataclass(frozen=True)
class HospitalSavings:
    """One hospital's retained savings for a batch's cycle year, as of a day, with its inputs."""

    hospital_id: int
    batch_id: int
    year: CycleYear
    as_of: date
    agreed_units: int
    completed_units: int
    budget_e4: int  #: Σ agreed units × pre-VBP unit price (yuan×10⁴), before the fund's ratios
    spend_fen: int  #: actual spend on the batch's varieties
    result: RetainedSavings

    @property
    def year_start(self) -> date:
        return self.year.first_day

    @property
    def year_end(self) -> date:
        return self.year.last_day


@dataclass(frozen=True)
class BatchSavings:
    """Retained savings of the hospitals of one batch; none when an item lacks its pre-VBP price."""

    batch_id: int
    year: CycleYear
    #: Generic names without a pre-VBP price: the budget cannot be computed.
    unpriced: tuple[str, ...]
    by_hospital: dict[int, HospitalSavings] = field(default_factory=dict)


def batch_retained_savings(
    session: Session,
    actor: Actor,
    *,
    batch: ProcurementBatch,
    on: date,
    formula: SavingsFormula,
    hospital_id: int | None = None,
) -> BatchSavings:
    """Retained savings of every hospital with an allocation in the batch (or of `hospital_id`,
    allocation or not), in the cycle year containing `on`, counted up to and including `on`; only
    hospitals the actor may see (a hospital itself, the bureau all)."""
    year = cycle_year(batch.cycle_start_on, batch.cycle_end_on, on)
    items = session.execute(
        select(BatchItem.generic_name, BatchItem.pre_vbp_unit_price_e4).where(BatchItem.batch_id == batch.id)
    ).all()
    unpriced = tuple(sorted(name for name, price in items if price is None))
    if unpriced:
        return BatchSavings(batch.id, year, unpriced)
    va, ol = VolumeAllocation, OrderLine

    def scoped(stmt: Select[Any], hospital: Any) -> Select[Any]:
        if hospital_id is not None:
            stmt = stmt.where(hospital == hospital_id)
        return party_scope(stmt, actor, hospital=hospital)

    agreed = {
        hospital: (int(units or 0), int(budget or 0))
        for hospital, units, budget in session.execute(
            scoped(
                select(
                    va.hospital_id,
                    func.sum(va.agreed_quantity),
                    func.sum(va.agreed_quantity * BatchItem.pre_vbp_unit_price_e4),
                )
                .join(BatchItem, BatchItem.id == va.item_id)
                .where(va.batch_id == batch.id)
                .group_by(va.hospital_id),
                va.hospital_id,
            )
        )
    }
    completed: dict[int, int] = {}
    for (hospital, _award), units in completed_units(
        session, actor, batch_id=batch.id, year=year, on=on, hospital_id=hospital_id
    ).items():
        completed[hospital] = completed.get(hospital, 0) + units
    flows = purchase_flows(in_cycle_year(year, on))
    spend = {
        hospital: int(fen or 0)
        for hospital, fen in session.execute(
            scoped(
                select(ol.hospital_id, func.sum(bought_fen(flows)))
                .select_from(flows)
                .join(ol, ol.id == flows.c.order_line_id)
                .join(Product, Product.id == ol.product_id)
                .where(Product.generic_name.in_([name for name, _ in items]))
                .group_by(ol.hospital_id),
                ol.hospital_id,
            )
        )
    }
    hospitals = set(agreed)
    if hospital_id is not None and (actor.is_bureau or actor.org_id == hospital_id):
        hospitals.add(hospital_id)  # asked for by name: its figures even without an allocation
    result = BatchSavings(batch.id, year, ())
    for hospital in sorted(hospitals):
        units, budget_e4 = agreed.get(hospital, (0, 0))
        done = completed.get(hospital, 0)
        spent = spend.get(hospital, 0)
        result.by_hospital[hospital] = HospitalSavings(
            hospital_id=hospital,
            batch_id=batch.id,
            year=year,
            as_of=on,
            agreed_units=units,
            completed_units=done,
            budget_e4=budget_e4,
            spend_fen=spent,
            result=retained_savings(
                # The budget is per item (agreed × that item's pre-VBP price) and spend per order
                # line: both are passed as exact totals, so the rule rounds each figure once.
                agreed_quantity=1,
                pre_vbp_unit_price_e4=budget_e4,
                purchased=[(1, spent * E4_PER_FEN)],
                completion_pct=Decimal(done) * 100 / units if units else Decimal(0),
                formula=formula,
            ),
        )
    return result
