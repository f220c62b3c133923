"""An order as one party sees it: the hospital, its distributor and the bureau the whole order; a
manufacturer only the lines of its products, and counts, amounts and status of those lines.

An order may carry several manufacturers' products. What one manufacturer must not learn from it
is what another sells there: quantities, prices, accepted quantities, amounts, or even the order's
progress on their lines. Every page, API answer and summary of an order is built here, from the
one scoping rule for order lines (ordering.order_lines_visible_to, i.e. ledger.scoping).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, not_, or_, select
from sqlalchemy.orm import Session

from core.actors import Actor, OrgKind
from ledger.models import Order, OrderLine, OrderLineStatus, OrderStatus, Urgency
from ledger.services.ordering import order_lines_visible_to, status_from_lines


@dataclass(frozen=True)
class OrderView:
    """The header of an order and the lines the viewer is a party to."""

    id: int
    hospital_id: int
    distributor_id: int
    region_code: str
    status: OrderStatus
    urgency: Urgency
    deadline_at: datetime
    submitted_at: datetime
    refusal_reason: str | None
    #: When the distributor first opened it and when it accepted or refused (supervision §1).
    first_read_at: datetime | None
    decided_at: datetime | None
    #: The hospital's note to its distributor; None for a manufacturer.
    note: str | None
    lines: list[OrderLine]

    @property
    def line_count(self) -> int:
        return len(self.lines)

    @property
    def amount_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)

    @property
    def response_minutes(self) -> int | None:
        """Response time (响应时间): accepted or refused minus submitted, whole minutes (floor)."""
        if self.decided_at is None:
            return None
        return int((self.decided_at - self.submitted_at).total_seconds() // 60)


def sees_whole_order(actor: Actor) -> bool:
    """The buyer, its distributor (both parties to every line) and the bureau see every line."""
    return actor.is_bureau or actor.org_kind in (OrgKind.HOSPITAL, OrgKind.DISTRIBUTOR)


#: Statuses the distributor's decision sets for every line of an order at once.
_DECIDED = (OrderStatus.SUBMITTED, OrderStatus.ACCEPTED, OrderStatus.REFUSED)


def _status_of_lines(order: Order, lines: Sequence[OrderLine]) -> OrderStatus:
    """The order's status as these lines alone would make it (ordering's own rule): lines not yet
    shipped are in the state the decision left the order in, whatever the other lines did."""
    decided = order.status if order.status in _DECIDED else OrderStatus.ACCEPTED
    return status_from_lines(decided, lines)


def _view(actor: Actor, order: Order, lines: list[OrderLine]) -> OrderView:
    whole = sees_whole_order(actor)
    return OrderView(
        id=order.id,
        hospital_id=order.hospital_id,
        distributor_id=order.distributor_id,
        region_code=order.region_code,
        status=order.status if whole else _status_of_lines(order, lines),
        urgency=order.urgency,
        deadline_at=order.deadline_at,
        submitted_at=order.submitted_at,
        refusal_reason=order.refusal_reason,
        first_read_at=order.first_read_at,
        decided_at=order.decided_at,
        note=order.note if whole else None,
        lines=lines,
    )


def order_views(session: Session, actor: Actor, orders: Sequence[Order]) -> list[OrderView]:
    """Views of orders the actor may see (one query for the lines of them all)."""
    if not orders:
        return []
    lines: dict[int, list[OrderLine]] = defaultdict(list)
    stmt = order_lines_visible_to(actor).where(OrderLine.order_id.in_([o.id for o in orders]))
    for line in session.scalars(stmt.order_by(OrderLine.id)):
        lines[line.order_id].append(line)
    return [_view(actor, order, lines[order.id]) for order in orders]


def order_view(session: Session, actor: Actor, order: Order) -> OrderView:
    """One order as the actor sees it."""
    return order_views(session, actor, [order])[0]


def order_summary(session: Session, actor: Actor, order: Order) -> dict[str, object]:
    """An order's header with the count and amount of the caller's lines (one aggregate query,
    no line objects: an uploaded order may have 100,000 lines)."""
    if not sees_whole_order(actor):
        view = order_view(session, actor, order)
        return {
            "id": view.id,
            "distributor_id": view.distributor_id,
            "status": view.status,
            "urgency": view.urgency,
            "deadline_at": view.deadline_at,
            "line_count": view.line_count,
            "amount_fen": view.amount_fen,
        }
    count, amount = session.execute(
        order_lines_visible_to(actor)
        .with_only_columns(func.count(), func.coalesce(func.sum(OrderLine.amount_fen), 0))
        .where(OrderLine.order_id == order.id)
    ).one()
    return {
        "id": order.id,
        "distributor_id": order.distributor_id,
        "status": order.status,
        "urgency": order.urgency,
        "deadline_at": order.deadline_at,
        "line_count": int(count),
        "amount_fen": int(amount),
    }


def where_status(stmt: Select[Any], actor: Actor, *statuses: OrderStatus) -> Select[Any]:
    """Orders whose status, as the actor sees it, is one of `statuses`: for a manufacturer the
    status of its own lines (the same rule as _status_of_lines, in SQL), so a filter reveals no
    other line. A to-do count and the list it links to both filter through here, so they agree."""
    if sees_whole_order(actor):
        return stmt.where(Order.status.in_(statuses))
    return stmt.where(or_(*(_lines_rule(actor, status) for status in statuses)))


def _lines_rule(actor: Actor, status: OrderStatus) -> ColumnElement[bool]:
    line = OrderLine
    mine = (line.order_id == Order.id, line.manufacturer_id == actor.org_id)

    def any_line(*statuses: OrderLineStatus, negate: bool = False) -> ColumnElement[bool]:
        chosen = line.status.in_(statuses)
        return exists(select(line.id).where(*mine, not_(chosen) if negate else chosen))

    active = any_line(OrderLineStatus.CANCELLED, negate=True)
    moved = any_line(OrderLineStatus.PARTIALLY_SHIPPED, OrderLineStatus.SHIPPED, OrderLineStatus.COMPLETED)
    not_done = any_line(
        OrderLineStatus.CANCELLED, OrderLineStatus.SHIPPED, OrderLineStatus.COMPLETED, negate=True
    )
    not_completed = any_line(OrderLineStatus.CANCELLED, OrderLineStatus.COMPLETED, negate=True)
    rule: ColumnElement[bool] = {
        OrderStatus.CANCELLED: not_(active),
        OrderStatus.COMPLETED: and_(active, not_(not_completed)),
        OrderStatus.SHIPPED: and_(active, not_(not_done), not_completed),
        OrderStatus.PARTIALLY_SHIPPED: and_(moved, not_done),
        OrderStatus.ACCEPTED: and_(
            active, not_(moved), Order.status.not_in((OrderStatus.SUBMITTED, OrderStatus.REFUSED))
        ),
    }.get(status, and_(active, not_(moved), Order.status == status))
    return rule
