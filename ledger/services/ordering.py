"""Orders (信息流) and their logistics (物流): place, accept/refuse, cancel, ship, confirm receipt
(验收), return. Order lines are written set-based, so a 100,000-line upload and a one-line API
order take the same path.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Select, func, insert, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from core import audit, clock
from core.actors import Actor, OrgKind, Role
from core.db import bulk_insert
from core.errors import Conflict, InvalidState, NotFound, PermissionDenied, ValidationFailed
from core.money import MAX_AMOUNT_FEN
from core.organizations import Organization
from ledger import states
from ledger.flows import invoiced_quantity
from ledger.models import (
    DistributionAuthorization,
    Listing,
    ListingMode,
    ListingStatus,
    Order,
    OrderLine,
    OrderLineStatus,
    OrderStatus,
    ReceiptLine,
    ReceiptStatus,
    ReturnLine,
    ReturnStatus,
    Shipment,
    ShipmentLine,
    ShipmentLineStatus,
    Urgency,
)
from ledger.scoping import party_scope
from ledger.services.listings import covers, prefecture, province
from ledger.trace import matching as trace_matching

#: Delivery time limits by urgency: 24 h ordinary, 4 h emergency, 72 h remote areas
#: (vbp-rules.md §5, provincial contract terms [UNVERIFIED]); configurable per deployment.
DEFAULT_DEADLINES: Mapping[Urgency, timedelta] = {
    Urgency.NORMAL: timedelta(hours=24),
    Urgency.EMERGENCY: timedelta(hours=4),
    Urgency.REMOTE: timedelta(hours=72),
}
#: Orders up to this many lines insert them with RETURNING (ORM objects at once); larger ones
#: (uploads) use the bulk writer and load lines only when asked.
RETURNING_LINES = 500
REJECTION_REASONS = ("damaged", "expiry_too_short", "wrong_product", "quality", "quantity_mismatch", "other")


@dataclass(frozen=True)
class LineRequest:
    listing_id: int
    quantity: int


def _require(actor: Actor, kind: OrgKind, what: str) -> None:
    if actor.org_kind is not kind or actor.role not in (Role.ADMIN, Role.OPERATOR):
        raise PermissionDenied(f"仅{what}可操作 (only {kind.value}s may do this)")


def orders_visible_to(actor: Actor) -> Select[tuple[Order]]:
    """A hospital its own orders, a distributor those addressed to it, a manufacturer those with a
    line of its products, the bureau all."""
    stmt = select(Order)
    if actor.is_bureau:
        return stmt
    if actor.org_kind is OrgKind.HOSPITAL:
        return stmt.where(Order.hospital_id == actor.org_id)
    if actor.org_kind is OrgKind.DISTRIBUTOR:
        return stmt.where(Order.distributor_id == actor.org_id)
    if actor.org_kind is OrgKind.MANUFACTURER:
        mine = select(OrderLine.order_id).where(OrderLine.manufacturer_id == actor.org_id)
        return stmt.where(Order.id.in_(mine))
    return stmt.where(False)


def get_order(session: Session, actor: Actor, order_id: int, *, for_update: bool = False) -> Order:
    """One visible order; `for_update` locks it (see `_lock_order`) and reloads what it holds."""
    stmt = orders_visible_to(actor).where(Order.id == order_id)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    order = session.scalars(stmt).first()
    if order is None:
        raise NotFound("订单不存在 (order not found)")
    return order


def _lock_order(session: Session, order_id: int) -> Order:
    """Lock the order's row before any row of its lines.

    Every write that re-derives the order's status (ship, cancel, receive, return) takes this lock
    first, so such writes to sibling lines serialize and none derives the status from a sibling it
    read before the other committed. One lock order everywhere (order → shipment or receipt line
    → order line) keeps them free of deadlocks. PostgreSQL honours FOR UPDATE; SQLite serialises
    writers anyway.
    """
    return session.scalars(
        select(Order).where(Order.id == order_id).with_for_update().execution_options(populate_existing=True)
    ).one()


def _distributor_and_listings(
    session: Session, distributor_id: int, listing_ids: set[int], regions: tuple[str, ...]
) -> list[tuple[Organization, Listing | None, bool]]:
    """The distributor with each requested listing and whether the distributor is authorized
    for it in one of `regions` (an authorization for the product, or for all the maker's
    products: key 0), in one round trip: one row per listing found, (distributor, None, False)
    if none is, no row if there is no such organization."""
    authorized = (
        select(DistributionAuthorization.id)
        .where(
            DistributionAuthorization.distributor_id == distributor_id,
            DistributionAuthorization.active.is_(True),
            DistributionAuthorization.manufacturer_id == Listing.manufacturer_id,
            DistributionAuthorization.product_key.in_([Listing.product_id, 0]),
            DistributionAuthorization.region_code.in_(regions),
        )
        .exists()
    )
    rows = session.execute(
        select(Organization, Listing, authorized)
        .outerjoin(Listing, Listing.id.in_(listing_ids))
        .where(Organization.id == distributor_id)
    ).all()
    return [(org, listing, bool(ok)) for org, listing, ok in rows]


def place_orders(
    session: Session,
    actor: Actor,
    *,
    distributor_id: int,
    lines: Sequence[LineRequest],
    urgency: Urgency,
    now: datetime,
    note: str | None = None,
    deadlines: Mapping[Urgency, timedelta] = DEFAULT_DEADLINES,
    line_names: Sequence[str] | None = None,
) -> Order:
    """Place an order with one distributor. Every line is checked (listed, visible to this
    hospital, in its region, distributor authorized for the product and region, quantity > 0);
    any failure rejects the whole order, naming each bad line. Prices are frozen from the listing."""
    _require(actor, OrgKind.HOSPITAL, "医疗机构")
    names = line_names or [f"lines.{i}" for i in range(len(lines))]
    if not lines:
        raise ValidationFailed(fields={"lines": ["至少一行 (at least one line)"]})
    # The hospital is the caller's own organization: the token or session lookup of this request
    # has it in the session already (no query then).
    hospital = session.get_one(Organization, actor.org_id)
    regions = (prefecture(hospital.region_code), province(hospital.region_code))
    found = _distributor_and_listings(session, distributor_id, {line.listing_id for line in lines}, regions)
    distributor = found[0][0] if found else None
    if distributor is None or distributor.kind is not OrgKind.DISTRIBUTOR or not distributor.active:
        raise ValidationFailed(fields={"distributor_id": ["不是有效的配送企业 (not an active distributor)"]})
    listings = {listing.id: listing for _, listing, _ in found if listing is not None}
    authorized = {listing.id for _, listing, ok in found if listing is not None and ok}
    errors: dict[str, list[str]] = {}
    for name, line in zip(names, lines, strict=True):
        listing = listings.get(line.listing_id)
        if line.quantity <= 0:
            errors[f"{name}.quantity"] = ["须大于0 (must be positive)"]
        if listing is None or (listing.mode is ListingMode.FILED and listing.hospital_id != hospital.id):
            errors[f"{name}.listing_id"] = ["挂网记录不存在 (listing not found)"]
            continue
        if listing.status is not ListingStatus.LISTED:
            errors[f"{name}.listing_id"] = [
                f"该产品已{'暂停挂网' if listing.status is ListingStatus.SUSPENDED else '撤网'}，不能下单 "
                f"(listing is {listing.status.value}: no new orders)"
            ]
            continue
        if listing.mode is not ListingMode.FILED and not covers(listing.region_code, hospital.region_code):
            errors[f"{name}.listing_id"] = ["不在本地区挂网 (not listed in your region)"]
            continue
        if listing.id not in authorized:
            errors[f"{name}.distributor_id"] = [
                "该配送企业未获此产品在本地区的配送授权 "
                "(distributor not authorized for this product and region)"
            ]
        elif line.quantity * listing.pack_price_fen >= MAX_AMOUNT_FEN:
            errors[f"{name}.quantity"] = ["行金额超出上限 (line amount beyond the largest amount)"]
    if errors:
        raise ValidationFailed(
            "订单有误，未写入任何数据 (order rejected; nothing was written)", fields=errors
        )

    order = Order(
        hospital_id=hospital.id,
        distributor_id=distributor_id,
        region_code=hospital.region_code,
        status=OrderStatus.SUBMITTED,
        urgency=urgency,
        deadline_at=now + deadlines[urgency],
        submitted_at=now,
        note=note,
    )
    session.add(order)
    session.flush()
    ordered_on = clock.business_date(now)
    rows = [
        {
            "order_id": order.id,
            "hospital_id": hospital.id,
            "manufacturer_id": listings[req.listing_id].manufacturer_id,
            "distributor_id": distributor_id,
            "region_code": hospital.region_code,
            "listing_id": req.listing_id,
            "product_id": listings[req.listing_id].product_id,
            "mode": listings[req.listing_id].mode,
            "award_id": listings[req.listing_id].award_id,
            "quantity": req.quantity,
            "pack_price_fen": listings[req.listing_id].pack_price_fen,
            "amount_fen": req.quantity * listings[req.listing_id].pack_price_fen,
            "shipped_quantity": 0,
            "accepted_quantity": 0,
            "rejected_quantity": 0,
            "returned_quantity": 0,
            "cancelled_quantity": 0,
            "status": OrderLineStatus.OPEN,
            "ordered_on": ordered_on,
        }
        for req in lines
    ]
    if len(rows) <= RETURNING_LINES:
        # An API-sized order: the lines come back from the INSERT, so answering with them costs
        # no further query.
        # populate_existing: SQLite reuses the ids of rolled-back rows, and a session that rolled
        # back an earlier order may still hold objects under those ids; the rows just written win.
        inserted = session.scalars(
            insert(OrderLine)
            .returning(OrderLine, sort_by_parameter_order=True)
            .execution_options(populate_existing=True),
            rows,
        )
        set_committed_value(order, "lines", list(inserted))
    else:
        bulk_insert(session, OrderLine.__table__, rows)
        session.expire(order, ["lines"])
    audit.record(
        session,
        actor,
        "order.place",
        subject_type="order",
        subject_id=order.id,
        subject_org_id=hospital.id,
        after={
            "distributor_id": distributor_id,
            "urgency": urgency,
            "lines": len(rows),
            "amount_fen": sum(r["amount_fen"] for r in rows),
        },
        now=now,
    )
    return order


def decide_order(
    session: Session, actor: Actor, order_id: int, *, accept: bool, reason: str | None, now: datetime
) -> Order:
    """The distributor accepts the order or refuses it with a reason."""
    _require(actor, OrgKind.DISTRIBUTOR, "配送企业")
    order = get_order(session, actor, order_id, for_update=True)
    if order.status is not OrderStatus.SUBMITTED:
        raise InvalidState("订单已处理 (order already decided)", code="illegal_transition")
    if not accept and not reason:
        raise ValidationFailed(fields={"reason": ["拒绝须说明原因 (a refusal needs a reason)"]})
    states.ORDER.move(order, OrderStatus.ACCEPTED if accept else OrderStatus.REFUSED)
    order.decided_at, order.refusal_reason = now, None if accept else reason
    if not accept:
        # A line the hospital already cancelled stays cancelled (it has ended); the rest is refused.
        for line in order.lines:
            if line.status is not OrderLineStatus.CANCELLED:
                states.ORDER_LINE.move(line, OrderLineStatus.REFUSED)
    session.flush()
    audit.record(
        session,
        actor,
        "order.accept" if accept else "order.refuse",
        subject_type="order",
        subject_id=order.id,
        subject_org_id=order.hospital_id,
        after={"status": order.status, "reason": reason},
        now=now,
    )
    return order


def remaining_to_ship(line: OrderLine) -> int:
    """Packs still to deliver: ordered − cancelled − (shipped − rejected). Rejected packs were
    never delivered, so they go back to what remains: the distributor re-ships them or the
    hospital cancels them (three-flows.md, "Corrections and their exits")."""
    return line.quantity - line.cancelled_quantity - (line.shipped_quantity - line.rejected_quantity)


def _line_status(line: OrderLine) -> OrderLineStatus:
    deliverable = line.quantity - line.cancelled_quantity
    kept_or_moving = line.shipped_quantity - line.rejected_quantity
    if deliverable == 0:
        return OrderLineStatus.CANCELLED
    if kept_or_moving == 0:
        return OrderLineStatus.OPEN
    if kept_or_moving < deliverable:
        return OrderLineStatus.PARTIALLY_SHIPPED
    if line.accepted_quantity + line.rejected_quantity == line.shipped_quantity:
        return OrderLineStatus.COMPLETED
    return OrderLineStatus.SHIPPED


def _refresh_line(line: OrderLine) -> None:
    if line.status is not OrderLineStatus.REFUSED:
        states.ORDER_LINE.derive(line, _line_status(line))


def status_from_lines(current: OrderStatus, lines: Sequence[Any]) -> OrderStatus:
    """The status of an order whose lines (anything with `status` and `shipped_quantity`) are
    these: the order's own status until something shipped."""
    if current is OrderStatus.REFUSED:
        return current
    statuses = {line.status for line in lines} - {OrderLineStatus.CANCELLED}
    if not statuses:
        return OrderStatus.CANCELLED
    if statuses == {OrderLineStatus.COMPLETED}:
        return OrderStatus.COMPLETED
    if statuses <= {OrderLineStatus.SHIPPED, OrderLineStatus.COMPLETED}:
        return OrderStatus.SHIPPED
    if any(line.shipped_quantity for line in lines):
        return OrderStatus.PARTIALLY_SHIPPED
    return current


def _refresh_order(order: Order) -> None:
    """Derive the order's status from its lines (after shipping, receiving or cancelling).

    The caller holds the order's lock (`_lock_order`). The lines' statuses are read from the
    database, after this transaction's own changes are flushed, not from line objects the session
    may have loaded before the lock: a sibling written concurrently has committed by now and
    each statement sees it (READ COMMITTED).
    """
    session = cast(Session, Session.object_session(order))
    rows = session.execute(
        select(OrderLine.status, OrderLine.shipped_quantity).where(OrderLine.order_id == order.id)
    ).all()
    states.ORDER.derive(order, status_from_lines(order.status, rows))


def cancel_remaining(order: Order, lines: Sequence[OrderLine]) -> dict[int, int]:
    """Cancel what remains to ship on `lines` of `order` (whose lock the caller holds), through the
    order-line and order tables; returns packs cancelled per line. The hospital's cancellation and
    the platform's void (作废, ledger/supervision/supply.py) both end a line this way."""
    per_line = {}
    for line in lines:
        remaining = remaining_to_ship(line)
        if remaining <= 0:
            continue
        line.cancelled_quantity += remaining
        per_line[line.id] = remaining
        _refresh_line(line)
    _refresh_order(order)
    return per_line


def cancel_order(
    session: Session,
    actor: Actor,
    order_id: int,
    *,
    reason: str,
    now: datetime,
    order_line_ids: Sequence[int] | None = None,
) -> Order:
    """The hospital cancels what remains to be delivered (not shipped yet, or rejected at receipt
    and not re-shipped), on every line or on the lines named; delivered goods stay in the ledger."""
    _require(actor, OrgKind.HOSPITAL, "医疗机构")
    order = get_order(session, actor, order_id, for_update=True)
    by_id = {line.id: line for line in order.lines}
    if order_line_ids is not None:
        unknown = sorted(set(order_line_ids) - set(by_id))
        if unknown or not order_line_ids:
            raise ValidationFailed(
                fields={"order_line_ids": [f"不属于该订单的行 (not lines of this order): {unknown}"]}
            )
    chosen = [by_id[i] for i in dict.fromkeys(order_line_ids)] if order_line_ids else list(order.lines)
    if order.status in (OrderStatus.REFUSED, OrderStatus.CANCELLED, OrderStatus.COMPLETED) or not any(
        remaining_to_ship(line) > 0 for line in chosen
    ):
        raise InvalidState("订单已无可取消的数量 (nothing left to cancel)", code="illegal_transition")
    per_line = cancel_remaining(order, chosen)
    cancelled = sum(per_line.values())
    session.flush()
    audit.record(
        session,
        actor,
        "order.cancel",
        subject_type="order",
        subject_id=order.id,
        subject_org_id=order.hospital_id,
        after={"cancelled_packs": cancelled, "lines": per_line, "reason": reason, "status": order.status},
        now=now,
    )
    return order


@dataclass(frozen=True)
class ShipRequest:
    order_line_id: int
    quantity: int
    batch_no: str
    expiry_on: date


def ship(
    session: Session,
    actor: Actor,
    order_id: int,
    *,
    lines: Sequence[ShipRequest],
    now: datetime,
    delivery_note: str | None = None,
) -> Shipment:
    """Ship order lines (batch number, expiry, quantity); never more than remains on a line."""
    _require(actor, OrgKind.DISTRIBUTOR, "配送企业")
    order = get_order(session, actor, order_id, for_update=True)
    if order.status not in (OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_SHIPPED):
        raise InvalidState(
            "订单未接单或已发完 (order not accepted or fully shipped)", code="illegal_transition"
        )
    by_id = {line.id: line for line in order.lines}
    errors: dict[str, list[str]] = {}
    asked: dict[int, int] = defaultdict(int)
    for i, req in enumerate(lines):
        line = by_id.get(req.order_line_id)
        if line is None:
            errors[f"lines.{i}.order_line_id"] = ["不属于该订单 (not a line of this order)"]
            continue
        asked[line.id] += req.quantity
        remaining = remaining_to_ship(line)
        if req.quantity <= 0:
            errors[f"lines.{i}.quantity"] = ["须大于0 (must be positive)"]
        elif asked[line.id] > remaining:
            errors[f"lines.{i}.quantity"] = [
                f"超过待发数量 {remaining} (more than the {remaining} left to ship)"
            ]
        if req.expiry_on <= clock.business_date(now):
            errors[f"lines.{i}.expiry_on"] = ["已过有效期 (already expired)"]
    if errors or not lines:
        raise ValidationFailed(
            "发货有误，未写入任何数据 (nothing was written)", fields=errors or {"lines": ["至少一行"]}
        )
    shipment = Shipment(
        order_id=order.id,
        distributor_id=order.distributor_id,
        hospital_id=order.hospital_id,
        shipped_at=now,
        delivery_note=delivery_note,
    )
    session.add(shipment)
    session.flush()
    shipped_on = clock.business_date(now)
    for req in lines:
        line = by_id[req.order_line_id]
        session.add(
            ShipmentLine(
                shipment_id=shipment.id,
                order_line_id=line.id,
                hospital_id=order.hospital_id,
                distributor_id=order.distributor_id,
                quantity=req.quantity,
                batch_no=req.batch_no,
                expiry_on=req.expiry_on,
                accepted_quantity=0,
                rejected_quantity=0,
                shipped_on=shipped_on,
                status=ShipmentLineStatus.IN_TRANSIT,
            )
        )
        line.shipped_quantity += req.quantity
        _refresh_line(line)
    _refresh_order(order)
    session.flush()
    audit.record(
        session,
        actor,
        "shipment.create",
        subject_type="shipment",
        subject_id=shipment.id,
        subject_org_id=order.hospital_id,
        after={"order_id": order.id, "lines": [(r.order_line_id, r.quantity, r.batch_no) for r in lines]},
        now=now,
    )
    return shipment


def shipment_lines_visible_to(actor: Actor) -> Select[tuple[ShipmentLine]]:
    """Deliveries: the hospital's, the distributor's, and those of a manufacturer's products."""
    return party_scope(
        select(ShipmentLine),
        actor,
        hospital=ShipmentLine.hospital_id,
        distributor=ShipmentLine.distributor_id,
        manufacturer=select(OrderLine.manufacturer_id)
        .where(OrderLine.id == ShipmentLine.order_line_id)
        .scalar_subquery(),
    )


def confirm_receipt(
    session: Session,
    actor: Actor,
    shipment_line_id: int,
    *,
    accepted: int,
    rejected: int,
    reason_code: str | None,
    now: datetime,
    accepted_on: date | None = None,
    scanned_codes: Sequence[str] | None = None,
) -> ReceiptLine:
    """验收: accept, partly accept or reject one shipment line; accepted + rejected = shipped.

    The order, then the shipment line are locked (`_lock_order`) and the receipt is unique per
    shipment line, so concurrent confirmations cannot over-accept (the first wins and the others
    get a 409), and confirmations of sibling lines derive the order's status one after the other.
    The hospital's scanned traceability codes are matched to the line's (ledger/trace/matching.py);
    the match is left on the receipt as `trace_match`.
    """
    _require(actor, OrgKind.HOSPITAL, "医疗机构")
    visible = shipment_lines_visible_to(actor).where(ShipmentLine.id == shipment_line_id)
    order_id = session.scalar(
        select(OrderLine.order_id).where(
            OrderLine.id == visible.with_only_columns(ShipmentLine.order_line_id).scalar_subquery()
        )
    )
    if order_id is None:
        raise NotFound("发货明细不存在 (shipment line not found)")
    order = _lock_order(session, order_id)
    ship_line = session.scalars(visible.with_for_update().execution_options(populate_existing=True)).one()
    if session.scalar(select(func.count()).where(ReceiptLine.shipment_line_id == ship_line.id)):
        raise Conflict("该发货明细已验收 (already confirmed)", code="already_confirmed")
    errors: dict[str, list[str]] = {}
    if accepted < 0:
        errors["accepted_quantity"] = ["不能为负数 (must not be negative)"]
    if rejected < 0:
        errors["rejected_quantity"] = ["不能为负数 (must not be negative)"]
    if accepted + rejected != ship_line.quantity:
        errors["accepted_quantity"] = [
            f"验收数 + 拒收数须等于发货数 {ship_line.quantity} (accepted + rejected must equal shipped)"
        ]
    if rejected > 0 and reason_code not in REJECTION_REASONS:
        errors["reason_code"] = [f"拒收须给出原因代码：{', '.join(REJECTION_REASONS)}"]
    day = accepted_on or clock.business_date(now)
    if day > clock.business_date(now) or day < ship_line.shipped_on:
        errors["accepted_on"] = ["验收日期须在发货日与今天之间 (between the shipping date and today)"]
    if errors:
        raise ValidationFailed(fields=errors)
    line = session.scalars(
        select(OrderLine)
        .where(OrderLine.id == ship_line.order_line_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    receipt = ReceiptLine(
        shipment_line_id=ship_line.id,
        order_line_id=line.id,
        hospital_id=line.hospital_id,
        manufacturer_id=line.manufacturer_id,
        distributor_id=line.distributor_id,
        accepted_quantity=accepted,
        rejected_quantity=rejected,
        reason_code=reason_code if rejected else None,
        accepted_on=day,
        confirmed_at=now,
        confirmed_by=actor.user_id,
        status=ReceiptStatus.KEPT if accepted else ReceiptStatus.REJECTED,
    )
    session.add(receipt)
    ship_line.accepted_quantity, ship_line.rejected_quantity = accepted, rejected
    states.SHIPMENT_LINE.move(
        ship_line,
        ShipmentLineStatus.ACCEPTED
        if not rejected
        else ShipmentLineStatus.PARTLY_REJECTED
        if accepted
        else ShipmentLineStatus.REJECTED,
    )
    line.accepted_quantity += accepted
    line.rejected_quantity += rejected
    _refresh_line(line)
    _refresh_order(order)
    session.flush()
    match = trace_matching.match_receipt(session, actor, ship_line, receipt, scanned_codes, now=now)
    receipt.trace_match = match  # type: ignore[attr-defined]  # for the response only
    audit.record(
        session,
        actor,
        "receipt.confirm",
        subject_type="shipment_line",
        subject_id=ship_line.id,
        subject_org_id=line.hospital_id,
        after={
            "accepted": accepted,
            "rejected": rejected,
            "reason_code": reason_code,
            "accepted_on": day,
            "trace_codes_kept": match.kept_count if match else None,
        },
        now=now,
    )
    return receipt


def record_return(
    session: Session,
    actor: Actor,
    receipt_line_id: int,
    *,
    quantity: int,
    reason: str,
    now: datetime,
    trace_codes: Sequence[str] | None = None,
) -> ReturnLine:
    """退货 after acceptance: its own record linked to the receipt line; never more than accepted."""
    _require(actor, OrgKind.HOSPITAL, "医疗机构")
    mine = select(ReceiptLine).where(
        ReceiptLine.id == receipt_line_id, ReceiptLine.hospital_id == actor.org_id
    )
    order_id = session.scalar(
        select(OrderLine.order_id).where(
            OrderLine.id == mine.with_only_columns(ReceiptLine.order_line_id).scalar_subquery()
        )
    )
    if order_id is None:
        raise NotFound("验收记录不存在 (receipt not found)")
    _lock_order(session, order_id)  # lock order: order → receipt line → order line
    receipt = session.scalars(mine.with_for_update().execution_options(populate_existing=True)).one()
    already = (
        session.scalar(
            select(func.coalesce(func.sum(ReturnLine.quantity), 0)).where(
                ReturnLine.receipt_line_id == receipt.id
            )
        )
        or 0
    )
    if quantity <= 0 or quantity > receipt.accepted_quantity - already:
        raise ValidationFailed(
            fields={
                "quantity": [
                    f"退货数须在1到 {receipt.accepted_quantity - already} 之间 "
                    "(1 to what was accepted and not yet returned)"
                ]
            }
        )
    line = session.scalars(
        select(OrderLine)
        .where(OrderLine.id == receipt.order_line_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    kept = receipt.accepted_quantity - already - quantity
    # Returned packs still invoiced owe a red-letter credit (three-flows.md); the invoicing
    # service marks the return credited when the credit is final.
    still_invoiced = invoiced_quantity(session, {receipt.id}).get(receipt.id, 0)
    returned = ReturnLine(
        receipt_line_id=receipt.id,
        order_line_id=line.id,
        hospital_id=line.hospital_id,
        quantity=quantity,
        reason=reason,
        returned_on=clock.business_date(now),
        created_at=now,
        status=ReturnStatus.AWAITING_CREDIT if still_invoiced > kept else ReturnStatus.NO_CREDIT_NEEDED,
    )
    session.add(returned)
    states.RECEIPT.derive(receipt, ReceiptStatus.RETURNED if kept == 0 else ReceiptStatus.PARTLY_RETURNED)
    line.returned_quantity += quantity
    session.flush()
    trace_matching.release_returned(session, receipt, quantity=quantity, codes=trace_codes, now=now)
    audit.record(
        session,
        actor,
        "return.record",
        subject_type="return_line",
        subject_id=returned.id,
        subject_org_id=line.hospital_id,
        after={"receipt_line_id": receipt.id, "quantity": quantity, "reason": reason},
        now=now,
    )
    return returned


def order_lines_visible_to(actor: Actor) -> Select[tuple[OrderLine]]:
    """Order lines of the caller's organization (as buyer, distributor or seller); all for the bureau."""
    return party_scope(
        select(OrderLine),
        actor,
        hospital=OrderLine.hospital_id,
        distributor=OrderLine.distributor_id,
        manufacturer=OrderLine.manufacturer_id,
    )
