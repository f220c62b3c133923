"""Delivery figures per winner × region (配送率, vbp-rules.md §6; supervision-and-interop.md §1): the
one definition of packs owed and delivered per order line, read by the supply-failure evidence and
the daily `delivery_rate_low` rule alike (set-based SQL, so the province-wide rule is one query).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, case, exists, func, select
from sqlalchemy.orm import Session

from ledger.models import Order, OrderLine, OrderLineStatus, Shipment, ShipmentLine
from ledger.supervision.supply_models import LineVoid


def in_region(column: Any, region_code: str) -> ColumnElement[bool]:
    """A hospital's region code within a listing region: a prefecture ("510100") covers its
    counties, the province ("510000") all (ledger.services.listings.covers, in SQL)."""
    if region_code.endswith("0000"):
        return column.like(region_code[:2] + "%")
    if region_code.endswith("00"):
        return column.like(region_code[:4] + "%")
    return column == region_code


def voided_packs_expr() -> ColumnElement[int]:
    return (
        select(func.coalesce(func.sum(LineVoid.quantity), 0))
        .where(LineVoid.order_line_id == OrderLine.id)
        .scalar_subquery()
    )


def ordered_packs_expr() -> ColumnElement[int]:
    """Packs owed on a line: ordered less what the hospital itself cancelled. Voided packs stay
    owed (the winner failed to deliver them); refused lines too (vbp-rules.md §6: 配送率)."""
    return OrderLine.quantity - OrderLine.cancelled_quantity + voided_packs_expr()


def delivered_packs_expr() -> ColumnElement[int]:
    """Packs delivered and kept or on their way: shipped less rejected at receipt."""
    return OrderLine.shipped_quantity - OrderLine.rejected_quantity


def delivery_rate_pct(ordered: int, delivered: int) -> Decimal | None:
    """配送率 = delivered ÷ ordered packs, percent (vbp-rules.md §6); None without orders."""
    if ordered <= 0:
        return None
    return Decimal(delivered * 100) / Decimal(ordered)


@dataclass(frozen=True)
class Evidence:
    award_id: int
    region_code: str
    first_day: date
    last_day: date
    ordered_lines: int
    voided_lines: int
    refused_lines: int
    late_lines: int
    ordered_packs: int
    delivered_packs: int
    line_ids: tuple[int, ...] = ()

    @property
    def delivery_rate_pct(self) -> Decimal | None:
        return delivery_rate_pct(self.ordered_packs, self.delivered_packs)


def _late_expr() -> ColumnElement[bool]:
    """A line with a delivery that left after the order's deadline."""
    return exists().where(
        ShipmentLine.order_line_id == OrderLine.id,
        Shipment.id == ShipmentLine.shipment_id,
        Order.id == OrderLine.order_id,
        Shipment.shipped_at > Order.deadline_at,
    )


def delivery_evidence(
    session: Session, *, award_id: int, region_code: str, first_day: date, last_day: date
) -> Evidence:
    """The platform's evidence for one award × region over lines ordered in [first_day, last_day]."""
    voided = exists().where(LineVoid.order_line_id == OrderLine.id)
    where = and_(
        OrderLine.award_id == award_id,
        in_region(OrderLine.region_code, region_code),
        OrderLine.ordered_on >= first_day,
        OrderLine.ordered_on <= last_day,
    )
    row = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((voided, 1), else_=0)), 0),
            func.coalesce(func.sum(case((OrderLine.status == OrderLineStatus.REFUSED, 1), else_=0)), 0),
            func.coalesce(func.sum(case((_late_expr(), 1), else_=0)), 0),
            func.coalesce(func.sum(ordered_packs_expr()), 0),
            func.coalesce(func.sum(delivered_packs_expr()), 0),
        ).where(where)
    ).one()
    ids = session.scalars(select(OrderLine.id).where(where).order_by(OrderLine.id).limit(200)).all()
    return Evidence(award_id, region_code, first_day, last_day, *(int(v) for v in row), line_ids=tuple(ids))


def delivery_by_award_region(session: Session, *, first_day: date, last_day: date) -> list[Evidence]:
    """Ordered and delivered packs of every award × prefecture with lines ordered in the period
    (the daily rule's set-based read; the same per-line definitions as `delivery_evidence`)."""
    prefix = func.substr(OrderLine.region_code, 1, 4)
    rows = session.execute(
        select(
            OrderLine.award_id,
            prefix,
            func.count(),
            func.sum(ordered_packs_expr()),
            func.sum(delivered_packs_expr()),
        )
        .where(
            OrderLine.award_id.is_not(None),
            OrderLine.ordered_on >= first_day,
            OrderLine.ordered_on <= last_day,
        )
        .group_by(OrderLine.award_id, prefix)
        .order_by(OrderLine.award_id, prefix)
    ).all()
    return [
        Evidence(int(a), f"{p}00", first_day, last_day, int(n), 0, 0, 0, int(o or 0), int(d or 0))
        for a, p, n, o, d in rows
    ]
