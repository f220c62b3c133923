"""Supply guarantee (供应保障, supervision-and-interop.md §1): the distributor's first read of an
order, out-of-stock markings (缺货), the automatic void (作废) of lines not shipped in time, the
delivery figures per winner × region, and the bureau's supply-failure records (断供).

Plain Python + SQLAlchemy; services flush, the caller commits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, exists, select, update
from sqlalchemy.orm import Session

from bidding.batches import require_bureau_writer
from bidding.models import Award
from core import audit, clock
from core.actors import Actor, OrgKind, Role
from core.errors import InvalidState, NotFound, PermissionDenied, ValidationFailed
from ledger.models import Order, OrderLine, OrderLineStatus, OrderStatus
from ledger.services import ordering
from ledger.supervision.delivery import delivery_evidence
from ledger.supervision.supply_models import LineVoid, StockOut, SupplyFailure

# --- first read ---------------------------------------------------------------------------------


def note_first_read(session: Session, actor: Actor, order: Order, *, now: datetime) -> bool:
    """Record the first time a user of the order's distributor who can act on it (admin or operator;
    an auditor's read changes nothing) opens it; any later read, and every read by the hospital,
    the manufacturer or the bureau, changes nothing. One conditional UPDATE,
    so two colleagues opening it at once record one first read. True when this read was first."""
    if (
        actor.org_kind is not OrgKind.DISTRIBUTOR
        or actor.org_id != order.distributor_id
        or actor.user_id is None
        or actor.role not in (Role.ADMIN, Role.OPERATOR)
        or order.first_read_at is not None
    ):
        return False
    hit = session.execute(
        update(Order)
        .where(Order.id == order.id, Order.first_read_at.is_(None))
        .values(first_read_at=now, first_read_by=actor.user_id)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(order, ["first_read_at", "first_read_by"])
    return bool(hit)


# --- out of stock (缺货) ---------------------------------------------------------------------------


def remaining_expr() -> ColumnElement[int]:
    """Packs still to ship on a line, in SQL (ordering.remaining_to_ship's definition)."""
    ol = OrderLine
    return ol.quantity - ol.cancelled_quantity - (ol.shipped_quantity - ol.rejected_quantity)


def live_stock_outs() -> Select[tuple[StockOut]]:
    """Markings still in force: not cleared or corrected, the line has shipped nothing since and
    still has packs to ship (shipping, voiding or cancelling ends a marking)."""
    return select(StockOut).join(OrderLine, OrderLine.id == StockOut.order_line_id).where(*_live_marking())


def _live_marking() -> tuple[ColumnElement[bool], ...]:
    return (
        StockOut.cleared_at.is_(None),
        OrderLine.shipped_quantity == StockOut.shipped_at_mark,
        remaining_expr() > 0,
    )


def out_of_stock_now() -> ColumnElement[bool]:
    """Correlated to the enclosing query's OrderLine: the line has a marking in force."""
    return exists().where(StockOut.order_line_id == OrderLine.id, *_live_marking())


def mark_out_of_stock(
    session: Session,
    actor: Actor,
    order_id: int,
    line_id: int,
    *,
    reason: str | None,
    expected_on: date | None,
    now: datetime,
) -> StockOut:
    """The distributor marks an open or partly shipped line out of stock, with a reason and the day
    it expects to ship (not in the past). Marking a line already marked corrects the marking: a new
    record pointing at the old one, which is closed."""
    if actor.org_kind is not OrgKind.DISTRIBUTOR or actor.role not in (Role.ADMIN, Role.OPERATOR):
        raise PermissionDenied("仅配送企业可操作 (only distributors may do this)")
    order = ordering.get_order(session, actor, order_id, for_update=True)
    line = next((line for line in order.lines if line.id == line_id), None)
    if line is None:
        raise NotFound("订单行不存在 (order line not found)")
    errors: dict[str, list[str]] = {}
    text = (reason or "").strip()
    if not text:
        errors["reason"] = ["必填 (required)"]
    elif len(text) > 500:
        errors["reason"] = ["不能超过500字 (at most 500 characters)"]
    if expected_on is None:
        errors["expected_on"] = ["必填 (required)"]
    elif expected_on < clock.business_date(now):
        errors["expected_on"] = ["预计日期不能早于今天 (the expected date must not be in the past)"]
    if errors or expected_on is None:
        raise ValidationFailed(fields=errors)
    if (
        order.status not in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_SHIPPED)
        or line.status not in (OrderLineStatus.OPEN, OrderLineStatus.PARTIALLY_SHIPPED)
        or ordering.remaining_to_ship(line) <= 0
    ):
        raise InvalidState(
            "只有已接单、未发完的订单行可标记缺货 (only accepted lines with packs left to ship)",
            code="illegal_transition",
        )
    previous = session.scalars(live_stock_outs().where(StockOut.order_line_id == line.id)).first()
    if previous is not None:
        previous.cleared_at = now
    marking = StockOut(
        order_line_id=line.id,
        order_id=order.id,
        distributor_id=order.distributor_id,
        hospital_id=order.hospital_id,
        reason=text,
        expected_on=expected_on,
        shipped_at_mark=line.shipped_quantity,
        marked_at=now,
        marked_by=actor.user_id,
        corrects_id=previous.id if previous is not None else None,
    )
    session.add(marking)
    session.flush()
    audit.record(
        session,
        actor,
        "order_line.out_of_stock",
        subject_type="order_line",
        subject_id=line.id,
        subject_org_id=order.hospital_id,
        after={
            "order_id": order.id,
            "stock_out_id": marking.id,
            "reason": text,
            "expected_on": expected_on,
            "corrects_id": marking.corrects_id,
        },
        now=now,
    )
    return marking


def stock_outs_of(session: Session, order_id: int) -> dict[int, StockOut]:
    """The live marking per line of an order (for the order's page and API)."""
    return {
        s.order_line_id: s for s in session.scalars(live_stock_outs().where(StockOut.order_id == order_id))
    }


# --- auto-void (作废) ------------------------------------------------------------------------------


def void_reason(days: int) -> str:
    return f"作废：下单{days}日未配送"


@dataclass
class VoidSummary:
    day: date
    orders: int = 0
    lines: int = 0
    packs: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "orders": self.orders, "lines": self.lines, "packs": self.packs}


def void_unshipped_lines(
    session: Session, actor: Actor, *, now: datetime, days: int, order_ids: Collection[int] | None = None
) -> VoidSummary:
    """Void what remains to ship on lines ordered `days` or more days before today (a line ordered
    on day D is voided on day D + days: "at" triggers), through the ordering service's own
    cancel path (ordering.cancel_remaining, the order-line and order tables). One audit event per
    order (both parties hear of it); one `line_voids` row per line. Running it twice on a day voids
    nothing more. Orders refused, cancelled or completed have nothing left and are skipped.
    `order_ids`: only these orders (the demo's); default every order."""
    require_bureau_writer(actor)
    today = clock.business_date(now)
    summary = VoidSummary(today)
    cutoff = today - timedelta(days=days)
    due = session.execute(
        select(OrderLine.order_id, OrderLine.id)
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            OrderLine.ordered_on <= cutoff,
            OrderLine.status.in_(
                (OrderLineStatus.OPEN, OrderLineStatus.PARTIALLY_SHIPPED, OrderLineStatus.SHIPPED)
            ),
            Order.status.not_in((OrderStatus.REFUSED, OrderStatus.CANCELLED, OrderStatus.COMPLETED)),
            remaining_expr() > 0,
        )
        .where(True if order_ids is None else OrderLine.order_id.in_(list(order_ids)))
        .order_by(OrderLine.order_id, OrderLine.id)
    ).all()
    by_order: dict[int, list[int]] = defaultdict(list)
    for order_id, line_id in due:
        by_order[order_id].append(line_id)
    reason = void_reason(days)
    for order_id, line_ids in by_order.items():
        order = ordering.get_order(session, Actor.system(), order_id, for_update=True)
        wanted = set(line_ids)
        per_line = ordering.cancel_remaining(order, [line for line in order.lines if line.id in wanted])
        if not per_line:
            continue
        for line_id, packs in per_line.items():
            session.add(
                LineVoid(
                    order_line_id=line_id,
                    order_id=order.id,
                    quantity=packs,
                    reason=reason,
                    voided_on=today,
                    created_at=now,
                )
            )
        session.flush()
        audit.record(
            session,
            actor,
            "order.void",
            subject_type="order",
            subject_id=order.id,
            subject_org_id=order.hospital_id,
            after={
                "distributor_id": order.distributor_id,
                "lines": per_line,
                "voided_packs": sum(per_line.values()),
                "reason": reason,
                "status": order.status,
            },
            now=now,
        )
        summary.orders += 1
        summary.lines += len(per_line)
        summary.packs += sum(per_line.values())
    return summary


# --- supply failures (断供) -------------------------------------------------------------------------


def record_supply_failure(
    session: Session,
    actor: Actor,
    *,
    award_id: int,
    region_code: str,
    first_day: date,
    last_day: date,
    note: str | None,
    now: datetime,
) -> SupplyFailure:
    """The bureau records that a winner failed to supply a region, with the platform's evidence for
    the period computed now (the winner hears of it). Audited."""
    require_bureau_writer(actor)
    errors: dict[str, list[str]] = {}
    award = session.get(Award, award_id)
    if award is None:
        errors["award_id"] = ["中选结果不存在 (award not found)"]
    if not (len(region_code) == 6 and region_code.isdigit()):
        errors["region_code"] = ["须为6位行政区划代码 (a 6-digit region code)"]
    if first_day > last_day:
        errors["first_day"] = ["开始日期须不晚于结束日期 (first day after last day)"]
    elif last_day > clock.business_date(now):
        errors["last_day"] = ["不能晚于今天 (not after today)"]
    text = (note or "").strip()
    if not text:
        errors["note"] = ["必填 (required)"]
    elif len(text) > 1000:
        errors["note"] = ["不能超过1000字 (at most 1000 characters)"]
    if errors or award is None:
        raise ValidationFailed(fields=errors)
    ev = delivery_evidence(
        session, award_id=award.id, region_code=region_code, first_day=first_day, last_day=last_day
    )
    failure = SupplyFailure(
        award_id=award.id,
        manufacturer_id=award.manufacturer_id,
        region_code=region_code,
        first_day=first_day,
        last_day=last_day,
        ordered_lines=ev.ordered_lines,
        voided_lines=ev.voided_lines,
        refused_lines=ev.refused_lines,
        late_lines=ev.late_lines,
        ordered_packs=ev.ordered_packs,
        delivered_packs=ev.delivered_packs,
        note=text,
        recorded_by=actor.user_id,
        recorded_at=now,
    )
    session.add(failure)
    session.flush()
    audit.record(
        session,
        actor,
        "supply_failure.record",
        subject_type="supply_failure",
        subject_id=failure.id,
        subject_org_id=award.manufacturer_id,
        after={
            "award_id": award.id,
            "region_code": region_code,
            "period": [first_day, last_day],
            "ordered_lines": ev.ordered_lines,
            "voided_lines": ev.voided_lines,
            "refused_lines": ev.refused_lines,
            "late_lines": ev.late_lines,
            "ordered_packs": ev.ordered_packs,
            "delivered_packs": ev.delivered_packs,
        },
        now=now,
    )
    return failure


def supply_failures_visible_to(actor: Actor) -> Select[tuple[SupplyFailure]]:
    """The bureau sees every record; a manufacturer those of its own awards; nobody else any."""
    stmt = select(SupplyFailure)
    if actor.is_bureau:
        return stmt
    if actor.org_kind is OrgKind.MANUFACTURER:
        return stmt.where(SupplyFailure.manufacturer_id == actor.org_id)
    return stmt.where(False)
