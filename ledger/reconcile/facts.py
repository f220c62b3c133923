"""The facts of reconciliation: which order lines (Slice, scoped to the actor) and, per line, the
order's numbers and each flow aggregated in one GROUP BY pass, joined on `order_line_id`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Select, case, cast, exists, func, or_, select, text
from sqlalchemy.orm import Session, aliased

from core.actors import Actor
from ledger.figures import invoice_line_clock
from ledger.flows import issued
from ledger.models import (
    InvoiceLine,
    InvoiceLineStatus,
    Order,
    OrderLine,
    ReceiptLine,
    ReturnLine,
    ShipmentLine,
)
from ledger.scoping import party_scope


@dataclass(frozen=True)
class Options:
    #: Receipt without invoice after N days is an exception (vbp-rules.md §5); N is provincial.
    invoice_grace_days: int = 30


DEFAULTS = Options()


@dataclass(frozen=True)
class Slice:
    """Which order lines to reconcile; None means "all" (the actor's scope still applies)."""

    hospital_id: int | None = None
    #: The seller on the line: matches the distributor or the manufacturer.
    enterprise_id: int | None = None
    #: The distributor only (statements are per hospital × distributor).
    distributor_id: int | None = None
    #: Region code prefix: "51" a province, "5101" a city, "510104" a district.
    region_prefix: str | None = None
    #: Order date range [ordered_from, ordered_before).
    ordered_from: date | None = None
    ordered_before: date | None = None
    order_line_ids: Sequence[int] | None = None

    @classmethod
    def of(cls, filters: Mapping[str, Any]) -> Slice:
        """The slice named by validated filters (ReconcileQuerySchema's fields); absent means all."""
        return cls(
            hospital_id=filters.get("hospital_id"),
            enterprise_id=filters.get("enterprise_id"),
            region_prefix=filters.get("region_prefix"),
            ordered_from=filters.get("ordered_from"),
            ordered_before=filters.get("ordered_before"),
        )

    def where(self) -> list[ColumnElement[bool]]:
        ol = OrderLine
        conditions: list[ColumnElement[bool]] = []
        if self.hospital_id is not None:
            conditions.append(ol.hospital_id == self.hospital_id)
        if self.enterprise_id is not None:
            conditions.append(
                or_(ol.distributor_id == self.enterprise_id, ol.manufacturer_id == self.enterprise_id)
            )
        if self.distributor_id is not None:
            conditions.append(ol.distributor_id == self.distributor_id)
        if self.region_prefix:
            conditions.append(ol.region_code.startswith(self.region_prefix, autoescape=True))
        if self.ordered_from is not None:
            conditions.append(ol.ordered_on >= self.ordered_from)
        if self.ordered_before is not None:
            conditions.append(ol.ordered_on < self.ordered_before)
        if self.order_line_ids is not None:
            conditions.append(ol.id.in_(list(self.order_line_ids)))
        return conditions


def scoped_lines(actor: Actor, where: Slice) -> Select[tuple[int]]:
    """Ids of the order lines in the slice that the actor may see."""
    stmt = select(OrderLine.id).where(*where.where())
    return party_scope(
        stmt,
        actor,
        hospital=OrderLine.hospital_id,
        distributor=OrderLine.distributor_id,
        manufacturer=OrderLine.manufacturer_id,
    )


def _zero(column: Any) -> ColumnElement[int]:
    return func.coalesce(column, 0)


def _total(column: Any) -> ColumnElement[int]:
    """A sum of packs or fen as a 64-bit integer: PostgreSQL sums bigints as numeric, and the
    precedence's comparisons and differences over numeric cost as much as the joins (a province
    is every line through every rule)."""
    return cast(func.sum(column), BigInteger)


def uninvoiced_receipt_before(order_line_id: Any, cutoff: date) -> ColumnElement[bool]:
    """Whether a receipt of the order line accepted before `cutoff` still has packs to invoice
    (accepted − returned − invoiced, red-letter lines netted): 超期未开票 is judged per receipt, so
    a newer receipt cannot hide an old one (vbp-rules.md §5 "receipt without invoice after N days").
    A correlated EXISTS: evaluated only for the lines the precedence reaches it with."""
    receipt = aliased(ReceiptLine)
    returned = select(func.coalesce(func.sum(ReturnLine.quantity), 0)).where(
        ReturnLine.receipt_line_id == receipt.id
    )
    invoiced = select(func.coalesce(func.sum(InvoiceLine.quantity), 0)).where(
        InvoiceLine.receipt_line_id == receipt.id, issued()
    )
    return exists().where(
        receipt.order_line_id == order_line_id,
        receipt.accepted_on < cutoff,
        receipt.accepted_quantity - returned.scalar_subquery() - invoiced.scalar_subquery() > 0,
    )


def deadline_passed(order_id: Any, moment: Any) -> ColumnElement[bool]:
    """Whether the order's delivery deadline is before `moment`. A correlated EXISTS on the
    order's primary key: looked up only for the lines the precedence reaches it with (the few not
    yet shipped), not joined onto every line of the province."""
    return exists().where(Order.id == order_id, Order.deadline_at < moment)


def facts(actor: Actor, where: Slice, *, on: date) -> Select[Any]:
    """Per order line: the order's numbers and each flow's aggregates, one row per line. The money
    flow is read through the one payment clock (ledger.figures.payments) on the business day `on`."""
    ids = scoped_lines(actor, where).scalar_subquery()
    limited = not (actor.is_bureau and not where.where())

    def only(column: Any) -> list[ColumnElement[bool]]:
        return [column.in_(ids)] if limited else []

    ship = (
        select(ShipmentLine.order_line_id.label("olid"), _total(ShipmentLine.quantity).label("shipped"))
        .where(*only(ShipmentLine.order_line_id))
        .group_by(ShipmentLine.order_line_id)
        .subquery("ship")
    )
    rcpt = (
        select(
            ReceiptLine.order_line_id.label("olid"),
            _total(ReceiptLine.accepted_quantity).label("accepted"),
            _total(ReceiptLine.rejected_quantity).label("rejected"),
        )
        .where(*only(ReceiptLine.order_line_id))
        .group_by(ReceiptLine.order_line_id)
        .subquery("rcpt")
    )
    ret = (
        select(ReturnLine.order_line_id.label("olid"), _total(ReturnLine.quantity).label("returned"))
        .where(*only(ReturnLine.order_line_id))
        .group_by(ReturnLine.order_line_id)
        .subquery("ret")
    )
    il, contract = invoice_line_clock(on, lines=only(InvoiceLine.order_line_id)), aliased(OrderLine)
    price_bad = il.c.pack_price_fen != contract.pack_price_fen
    amount_bad = il.c.amount_fen != il.c.quantity * il.c.pack_price_fen
    is_disputed = il.c.status == InvoiceLineStatus.DISPUTED
    # Invoiced: every line issued and not voided (ledger.flows.issued).
    counts = issued(il.c)
    inv = (
        select(
            il.c.order_line_id.label("olid"),
            _total(case((counts, il.c.quantity), else_=0)).label("inv_qty"),
            _total(case((counts, il.c.amount_fen), else_=0)).label("inv_fen"),
            _total(case((is_disputed, il.c.quantity), else_=0)).label("inv_disputed_qty"),
            _total(case((is_disputed, il.c.amount_fen), else_=0)).label("inv_disputed_fen"),
            _total(case((price_bad, 1), else_=0)).label("price_bad_lines"),
            _total(case((price_bad, il.c.quantity), else_=0)).label("price_bad_qty"),
            _total(
                case((price_bad, il.c.quantity * (il.c.pack_price_fen - contract.pack_price_fen)), else_=0)
            ).label("price_diff_fen"),
            _total(case((amount_bad, 1), else_=0)).label("amount_bad_lines"),
            _total(case((amount_bad, il.c.amount_fen - il.c.quantity * il.c.pack_price_fen), else_=0)).label(
                "amount_diff_fen"
            ),
            _total(il.c.overdue).label("overdue_lines"),
            _total(_zero(il.c.paid_fen)).label("paid_fen"),
            _total(_zero(il.c.disputed_fen)).label("settle_disputed_fen"),
        )
        .join(contract, contract.id == il.c.order_line_id)
        .group_by(il.c.order_line_id)
        .subquery("inv")
    )
    ol = OrderLine
    stmt = (
        select(
            ol.id.label("order_line_id"),
            ol.order_id,
            ol.hospital_id,
            ol.distributor_id,
            ol.manufacturer_id,
            ol.region_code,
            ol.product_id,
            ol.ordered_on,
            ol.status.label("line_status"),
            ol.quantity,
            ol.cancelled_quantity,
            ol.pack_price_fen,
            ol.amount_fen,
            _zero(ship.c.shipped).label("shipped"),
            _zero(rcpt.c.accepted).label("accepted"),
            _zero(rcpt.c.rejected).label("rejected"),
            _zero(ret.c.returned).label("returned"),
            _zero(inv.c.inv_qty).label("inv_qty"),
            _zero(inv.c.inv_fen).label("inv_fen"),
            _zero(inv.c.inv_disputed_qty).label("inv_disputed_qty"),
            _zero(inv.c.inv_disputed_fen).label("inv_disputed_fen"),
            _zero(inv.c.price_bad_lines).label("price_bad_lines"),
            _zero(inv.c.price_bad_qty).label("price_bad_qty"),
            _zero(inv.c.price_diff_fen).label("price_diff_fen"),
            _zero(inv.c.amount_bad_lines).label("amount_bad_lines"),
            _zero(inv.c.amount_diff_fen).label("amount_diff_fen"),
            _zero(inv.c.overdue_lines).label("overdue_lines"),
            _zero(inv.c.paid_fen).label("paid_fen"),
            _zero(inv.c.settle_disputed_fen).label("settle_disputed_fen"),
        )
        .outerjoin(ship, ship.c.olid == ol.id)
        .outerjoin(rcpt, rcpt.c.olid == ol.id)
        .outerjoin(ret, ret.c.olid == ol.id)
        .outerjoin(inv, inv.c.olid == ol.id)
        .where(*where.where())
    )
    return party_scope(
        stmt,
        actor,
        hospital=ol.hospital_id,
        distributor=ol.distributor_id,
        manufacturer=ol.manufacturer_id,
    )


def without_jit(session: Session) -> None:
    """PostgreSQL: no JIT compilation for the rest of this transaction. The precedence plan holds
    some 180 expressions; LLVM spends about 1.3 s compiling them on every query whatever the slice
    (bench/reconcile.py, 20,000 lines: 1.27 s with JIT, 0.36 s without), more than it ever saves
    on a province. SET LOCAL ends with the transaction, so it holds under PgBouncer's transaction
    pooling too and touches no other query of the connection's later users."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SET LOCAL jit = off"))
