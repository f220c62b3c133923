"""What was bought: the goods flow in packs, money and minimum units, and the agreed-volume
completion it makes (约定采购量完成量, vbp-rules.md §1.6, §6).

The goods flow is the receipts (验收, accepted packs on their acceptance day) less the returns (退货,
on their return day): §6 "returns subtract in the month of return". Money bought is packs × the
order line's frozen pack price, exact integer fen. Red-letter credits need no second subtraction:
an invoice line always carries the frozen price (invoicing refuses any other amount), so a credit
either mirrors a return already subtracted here or corrects an invoicing error that bought nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Subquery, and_, exists, func, select, union_all
from sqlalchemy.orm import Session

from bidding.models import Award, Product, VolumeAllocation
from core.actors import Actor
from ledger.figures.cycle import CycleYear
from ledger.models import OrderLine, ReceiptLine, ReturnLine
from ledger.scoping import party_scope

#: A condition on a business date (a period, a cycle year up to a day).
DayFilter = Callable[[Any], ColumnElement[bool]]


def between(first: date, before: date) -> DayFilter:
    """Days in [first, before)."""
    return lambda day: and_(day >= first, day < before)


def in_cycle_year(year: CycleYear, on: date) -> DayFilter:
    """The cycle year's days up to and including `on`."""
    return between(year.first_day, year.counted_before(on))


def purchase_flows(days: DayFilter | None = None) -> Subquery:
    """Signed packs of the goods flow, one row per receipt (+accepted) and per return (−returned):
    columns `order_line_id`, `day`, `packs`. `days` filters each record by its own date."""
    receipts = select(
        ReceiptLine.order_line_id.label("order_line_id"),
        ReceiptLine.accepted_on.label("day"),
        ReceiptLine.accepted_quantity.label("packs"),
    )
    returns = select(
        ReturnLine.order_line_id.label("order_line_id"),
        ReturnLine.returned_on.label("day"),
        (-ReturnLine.quantity).label("packs"),
    )
    if days is not None:
        receipts = receipts.where(days(ReceiptLine.accepted_on))
        returns = returns.where(days(ReturnLine.returned_on))
    return union_all(receipts, returns).subquery("purchases")


def bought_fen(flows: Subquery, line: Any = OrderLine) -> ColumnElement[int]:
    """Amount bought (actual spend): packs × the order line's frozen pack price, in fen."""
    return flows.c.packs * line.pack_price_fen


def bought_units(flows: Subquery, product: Any = Product) -> ColumnElement[int]:
    """Minimum units (片/粒/支) bought: packs × units per pack."""
    return flows.c.packs * product.units_per_pack


def completed_units(
    session: Session,
    actor: Actor,
    *,
    batch_id: int,
    year: CycleYear,
    on: date,
    hospital_id: int | None = None,
) -> dict[tuple[int, int], int]:
    """Completed units toward the agreed volume, per (hospital, award): minimum units of the awards
    allocated to the hospital (its agreed products), accepted net of returns in the cycle year up
    to and including `on` (vbp-rules.md §6: "quantity of winners bought, this cycle year"). Only
    what the actor may see (a hospital its own, a manufacturer its awards', the bureau all)."""
    ol, va = OrderLine, VolumeAllocation
    flows = purchase_flows(in_cycle_year(year, on))
    allocated = exists().where(va.award_id == ol.award_id, va.hospital_id == ol.hospital_id)
    stmt = (
        select(ol.hospital_id, ol.award_id, func.sum(bought_units(flows)))
        .select_from(flows)
        .join(ol, ol.id == flows.c.order_line_id)
        .join(Product, Product.id == ol.product_id)
        .join(Award, Award.id == ol.award_id)
        .where(Award.batch_id == batch_id, allocated)
        .group_by(ol.hospital_id, ol.award_id)
    )
    if hospital_id is not None:
        stmt = stmt.where(ol.hospital_id == hospital_id)
    stmt = party_scope(stmt, actor, hospital=ol.hospital_id, manufacturer=Award.manufacturer_id)
    # PostgreSQL sums integers as numeric (Decimal): back to int, exactly.
    return {(hospital, award): int(units or 0) for hospital, award, units in session.execute(stmt)}
