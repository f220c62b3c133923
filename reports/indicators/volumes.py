"""Agreed-volume completion against 序时进度 and retained savings (vbp-rules.md §1.6, §4.4, §6), per
batch (each has its own cycle year), from the one derivation of each figure (ledger.figures), folded
from hospital × award into the report's groups."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from bidding.models import Award, ProcurementBatch, VolumeAllocation
from core.organizations import Organization
from ledger.figures import batch_retained_savings, completed_units, cycle_year, time_elapsed_pct
from ledger.money_rules import SavingsFormula
from reports.indicators.builder import Builder


def agreed_volumes(b: Builder, as_of: date, formula: SavingsFormula | None, notes: list[str]) -> None:
    """Agreed and completed units in the cycle year containing `as_of`, up to it, and the units
    expected by then; retained savings per hospital when a formula is given."""
    va = VolumeAllocation
    batches = b.session.scalars(
        select(ProcurementBatch)
        .where(ProcurementBatch.id.in_(select(va.batch_id)))
        .order_by(ProcurementBatch.id)
    ).all()
    for batch in batches:
        year = cycle_year(batch.cycle_start_on, batch.cycle_end_on, as_of)
        elapsed = time_elapsed_pct(batch.cycle_start_on, batch.cycle_end_on, as_of) / 100
        agreed = b.session.execute(
            b.scoped(
                select(
                    va.hospital_id,
                    va.award_id,
                    Award.manufacturer_id,
                    Organization.region_code,
                    func.sum(va.agreed_quantity),
                )
                .join(Award, Award.id == va.award_id)
                .join(Organization, Organization.id == va.hospital_id)
                .where(va.batch_id == batch.id)
                .group_by(va.hospital_id, va.award_id, Award.manufacturer_id, Organization.region_code),
                hospital=va.hospital_id,
                manufacturer=Award.manufacturer_id,
            )
        ).all()
        if not agreed:
            continue
        done = completed_units(b.session, b.actor, batch_id=batch.id, year=year, on=as_of)
        regions: dict[int, str] = {}
        for hospital, award, maker, region, qty in agreed:
            regions[hospital] = region
            b.add(
                b.fold(hospital=hospital, enterprise=maker, region=region),
                {
                    "agreed_units": qty,
                    "completed_units": done.get((hospital, award), 0),
                    "expected_units": Decimal(int(qty)) * elapsed,
                },
            )
        if formula is None:
            continue
        savings = batch_retained_savings(b.session, b.actor, batch=batch, on=as_of, formula=formula)
        if savings.unpriced:
            notes.append(
                f"批次 {batch.id} 有品种缺少集采前价格，未计结余留用 (no pre-VBP price: no retained savings)"
            )
            continue
        for hospital, figures in savings.by_hospital.items():
            key = b.fold(hospital=hospital, enterprise=None, region=regions[hospital])
            b.add(key, {"retained_savings_fen": figures.result.retained_fen})
