"""Three-flow reconciliation (三流合一): every order line against its logistics and money flows.

How it works (three-flows.md): each flow is aggregated per `order_line_id` in one GROUP BY pass
(shipments, receipts, returns, invoices with their settlement and payment), the passes are joined
onto the order lines, and one status per line is picked by the precedence in `RULES` — the only
place the order is written. It is all one SQL statement (a CASE over the joined aggregates), so a
province of a million lines is reconciled by the database, not by a Python loop per row.

Each status comes with the difference it measures, in quantity (packs) and fen, so a discrepancy
says how much is missing, not only that something is. Records that point at nothing valid (a
shipment on a line of another buyer, an invoice for a delivery of another line, a payment whose
application has nothing confirmed, a reused invoice number) are reported apart as orphans.

Matching rules are vbp-rules.md §5 ("three-way match per line"; exceptions: qty received ≠ qty
invoiced, invoiced price ≠ contract price, invoice without receipt, receipt without invoice after N
days, payment ≠ confirmed amount, duplicate invoice number). N is provincial practice, not a
national number: `Options.invoice_grace_days`, 30 by default, configurable per province.

`as_of` is the moment the reconciliation judges deadlines against (overdue shipment, payment due);
the records counted are those in the database when it runs.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    MetaData,
    Select,
    Table,
    and_,
    case,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session, aliased
from sqlalchemy.schema import DropTable

from core import audit, clock
from core.actors import Actor
from core.errors import PermissionDenied
from ledger.models import (
    Invoice,
    InvoiceLine,
    InvoiceLineStatus,
    Order,
    OrderLine,
    OrderLineStatus,
    Payment,
    ReceiptLine,
    ReconciliationFinding,
    ReconciliationRun,
    ReconciliationTotal,
    ReconStatus,
    ReturnLine,
    SettlementApplication,
    SettlementLine,
    SettlementLineStatus,
    Shipment,
    ShipmentLine,
)
from ledger.scoping import party_scope

#: One status per order line (stored by runs as ReconStatus); the precedence is `rules`.
Status = ReconStatus


LABELS: dict[Status, str] = {
    Status.DISPUTED: "有争议",
    Status.OVERPAID: "超额支付",
    Status.INVOICE_QTY_MISMATCH: "发票数量不符",
    Status.INVOICE_PRICE_MISMATCH: "发票价格不符",
    Status.INVOICE_AMOUNT_MISMATCH: "发票金额不符",
    Status.PAYMENT_OVERDUE: "逾期未付款",
    Status.AWAITING_PAYMENT: "待付款",
    Status.INVOICE_OVERDUE: "超期未开票",
    Status.AWAITING_INVOICE: "待开票",
    Status.SHORT_OR_REJECTED: "短缺/拒收",
    Status.AWAITING_RECEIPT: "待验收",
    Status.CLOSED: "已关闭（拒单/取消）",
    Status.SHIPMENT_OVERDUE: "逾期未配送",
    Status.AWAITING_SHIPMENT: "待配送",
    Status.COMPLETE: "已完成",
}

#: Statuses that are a normal state of a live order rather than an exception to chase.
IN_PROGRESS = frozenset(
    {Status.AWAITING_PAYMENT, Status.AWAITING_INVOICE, Status.AWAITING_RECEIPT, Status.AWAITING_SHIPMENT}
)
#: Statuses that need no action.
SETTLED = frozenset({Status.COMPLETE, Status.CLOSED})


class OrphanKind(enum.StrEnum):
    SHIPMENT = "orphan_shipment"  #: a shipment line whose order line is another buyer's or seller's
    RECEIPT = "orphan_receipt"  #: a receipt whose shipment line belongs to another order line
    INVOICE = "orphan_invoice"  #: an invoice line whose receipt is not of its order line / parties
    PAYMENT = "orphan_payment"  #: a payment ≠ the confirmed amount of its application
    DUPLICATE_INVOICE = "duplicate_invoice"  #: one invoice code + number recorded more than once


ORPHAN_LABELS: dict[OrphanKind, str] = {
    OrphanKind.SHIPMENT: "无对应订单的发货",
    OrphanKind.RECEIPT: "无对应发货的验收",
    OrphanKind.INVOICE: "无对应验收的发票",
    OrphanKind.PAYMENT: "与确认金额不符的付款",
    OrphanKind.DUPLICATE_INVOICE: "发票号码重复",
}


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


def facts(actor: Actor, where: Slice) -> Select[Any]:
    """Per order line: the order's numbers and each flow's aggregates, one row per line."""
    ids = scoped_lines(actor, where).scalar_subquery()
    limited = not (actor.is_bureau and not where.where())

    def only(column: Any) -> list[ColumnElement[bool]]:
        return [column.in_(ids)] if limited else []

    ship = (
        select(ShipmentLine.order_line_id.label("olid"), func.sum(ShipmentLine.quantity).label("shipped"))
        .where(*only(ShipmentLine.order_line_id))
        .group_by(ShipmentLine.order_line_id)
        .subquery("ship")
    )
    rcpt = (
        select(
            ReceiptLine.order_line_id.label("olid"),
            func.sum(ReceiptLine.accepted_quantity).label("accepted"),
            func.sum(ReceiptLine.rejected_quantity).label("rejected"),
            func.max(ReceiptLine.accepted_on).label("last_accepted_on"),
        )
        .where(*only(ReceiptLine.order_line_id))
        .group_by(ReceiptLine.order_line_id)
        .subquery("rcpt")
    )
    ret = (
        select(ReturnLine.order_line_id.label("olid"), func.sum(ReturnLine.quantity).label("returned"))
        .where(*only(ReturnLine.order_line_id))
        .group_by(ReturnLine.order_line_id)
        .subquery("ret")
    )
    # Money flow per invoice line first: its paid settlement line (at most one non-disputed
    # settlement line per invoice line, one payment per application) and its open dispute (a
    # disputed settlement line not yet refiled).
    paid = (
        select(
            SettlementLine.invoice_line_id.label("ilid"),
            SettlementLine.amount_fen.label("paid_fen"),
        )
        .join(Payment, Payment.application_id == SettlementLine.application_id)
        .where(SettlementLine.status == SettlementLineStatus.CONFIRMED, *only(SettlementLine.order_line_id))
        .subquery("paid")
    )
    refiled = aliased(SettlementLine)
    disputed = (
        select(
            SettlementLine.invoice_line_id.label("ilid"),
            func.max(SettlementLine.amount_fen).label("disputed_fen"),
        )
        .where(
            SettlementLine.status == SettlementLineStatus.DISPUTED,
            *only(SettlementLine.order_line_id),
            ~exists().where(
                refiled.invoice_line_id == SettlementLine.invoice_line_id,
                refiled.status != SettlementLineStatus.DISPUTED,
            ),
        )
        .group_by(SettlementLine.invoice_line_id)
        .subquery("sdisp")
    )
    il, contract = InvoiceLine, aliased(OrderLine)
    price_bad = il.pack_price_fen != contract.pack_price_fen
    amount_bad = il.amount_fen != il.quantity * il.pack_price_fen
    is_disputed = il.status == InvoiceLineStatus.DISPUTED
    unpaid_due = case(
        (
            and_(il.status == InvoiceLineStatus.CONFIRMED, il.amount_fen > 0, paid.c.ilid.is_(None)),
            il.due_on,
        )
    )
    inv = (
        select(
            il.order_line_id.label("olid"),
            func.sum(il.quantity).label("inv_qty"),
            func.sum(il.amount_fen).label("inv_fen"),
            func.sum(case((is_disputed, il.quantity), else_=0)).label("inv_disputed_qty"),
            func.sum(case((is_disputed, il.amount_fen), else_=0)).label("inv_disputed_fen"),
            func.sum(case((price_bad, 1), else_=0)).label("price_bad_lines"),
            func.sum(case((price_bad, il.quantity), else_=0)).label("price_bad_qty"),
            func.sum(
                case((price_bad, il.quantity * (il.pack_price_fen - contract.pack_price_fen)), else_=0)
            ).label("price_diff_fen"),
            func.sum(case((amount_bad, 1), else_=0)).label("amount_bad_lines"),
            func.sum(case((amount_bad, il.amount_fen - il.quantity * il.pack_price_fen), else_=0)).label(
                "amount_diff_fen"
            ),
            func.min(unpaid_due).label("unpaid_due_on"),
            func.sum(_zero(paid.c.paid_fen)).label("paid_fen"),
            func.sum(_zero(disputed.c.disputed_fen)).label("settle_disputed_fen"),
        )
        .join(contract, contract.id == il.order_line_id)
        .outerjoin(paid, paid.c.ilid == il.id)
        .outerjoin(disputed, disputed.c.ilid == il.id)
        .where(*only(il.order_line_id))
        .group_by(il.order_line_id)
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
            Order.deadline_at,
            _zero(ship.c.shipped).label("shipped"),
            _zero(rcpt.c.accepted).label("accepted"),
            _zero(rcpt.c.rejected).label("rejected"),
            rcpt.c.last_accepted_on,
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
            inv.c.unpaid_due_on,
            _zero(inv.c.paid_fen).label("paid_fen"),
            _zero(inv.c.settle_disputed_fen).label("settle_disputed_fen"),
        )
        .join(Order, Order.id == ol.order_id)
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


@dataclass(frozen=True)
class Rule:
    status: Status
    applies: ColumnElement[bool]
    diff_qty: ColumnElement[int]
    diff_fen: ColumnElement[int]


def rules(f: Any, as_of: datetime, options: Options) -> list[Rule]:
    """THE precedence: the first rule that applies decides the line's status (three-flows.md)."""
    today = clock.business_date(as_of)
    price = f.c.pack_price_fen
    net_accepted = f.c.accepted - f.c.returned
    uninvoiced = net_accepted - f.c.inv_qty
    over_invoiced = f.c.inv_qty - net_accepted
    outstanding = f.c.inv_fen - f.c.paid_fen
    pending_receipt = f.c.shipped - f.c.accepted - f.c.rejected
    remaining = f.c.quantity - f.c.cancelled_quantity - f.c.shipped
    zero = literal(0)
    grace_cutoff = today - timedelta(days=options.invoice_grace_days)
    return [
        Rule(
            Status.DISPUTED,
            or_(f.c.inv_disputed_fen != 0, f.c.settle_disputed_fen != 0),
            f.c.inv_disputed_qty,
            f.c.inv_disputed_fen + f.c.settle_disputed_fen,
        ),
        Rule(Status.OVERPAID, f.c.paid_fen > f.c.inv_fen, zero, f.c.paid_fen - f.c.inv_fen),
        Rule(Status.INVOICE_QTY_MISMATCH, over_invoiced > 0, over_invoiced, over_invoiced * price),
        Rule(Status.INVOICE_PRICE_MISMATCH, f.c.price_bad_lines > 0, f.c.price_bad_qty, f.c.price_diff_fen),
        Rule(Status.INVOICE_AMOUNT_MISMATCH, f.c.amount_bad_lines > 0, zero, f.c.amount_diff_fen),
        Rule(
            Status.PAYMENT_OVERDUE,
            and_(outstanding > 0, f.c.unpaid_due_on.is_not(None), f.c.unpaid_due_on < today),
            zero,
            outstanding,
        ),
        Rule(Status.AWAITING_PAYMENT, outstanding > 0, zero, outstanding),
        Rule(
            Status.INVOICE_OVERDUE,
            and_(uninvoiced > 0, f.c.last_accepted_on < grace_cutoff),
            uninvoiced,
            uninvoiced * price,
        ),
        Rule(Status.AWAITING_INVOICE, uninvoiced > 0, uninvoiced, uninvoiced * price),
        Rule(Status.SHORT_OR_REJECTED, f.c.rejected > 0, f.c.rejected, f.c.rejected * price),
        Rule(Status.AWAITING_RECEIPT, pending_receipt > 0, pending_receipt, pending_receipt * price),
        Rule(
            Status.CLOSED,
            f.c.line_status.in_([OrderLineStatus.REFUSED, OrderLineStatus.CANCELLED]),
            zero,
            zero,
        ),
        Rule(
            Status.SHIPMENT_OVERDUE,
            and_(remaining > 0, f.c.deadline_at < as_of),
            remaining,
            remaining * price,
        ),
        Rule(Status.AWAITING_SHIPMENT, remaining > 0, remaining, remaining * price),
    ]


def _pick(rule_list: list[Rule], attr: str, default: Any) -> ColumnElement[Any]:
    return case(*[(r.applies, getattr(r, attr)) for r in rule_list], else_=default)


def classified(
    actor: Actor, where: Slice, as_of: datetime, options: Options = DEFAULTS, *, with_flags: bool = False
) -> Select[Any]:
    """The facts plus `status`, `diff_qty`, `diff_fen` per line (and every applicable rule when
    `with_flags`: a line has one status but may break several rules)."""
    f = facts(actor, where).subquery("f")
    rule_list = rules(f, as_of, options)
    columns: list[Any] = [
        *f.c,
        _pick(rule_list, "status", literal(Status.COMPLETE.value)).label("status"),
        _pick(rule_list, "diff_qty", literal(0)).label("diff_qty"),
        _pick(rule_list, "diff_fen", literal(0)).label("diff_fen"),
    ]
    if with_flags:
        columns += [case((r.applies, true()), else_=False).label(f"flag_{r.status.value}") for r in rule_list]
    return select(*columns)


@dataclass(frozen=True)
class LineResult:
    order_line_id: int
    order_id: int
    hospital_id: int
    distributor_id: int
    manufacturer_id: int
    region_code: str
    product_id: int
    ordered_on: date
    quantity: int
    cancelled_quantity: int
    pack_price_fen: int
    amount_fen: int
    shipped: int
    accepted: int
    rejected: int
    returned: int
    inv_qty: int
    inv_fen: int
    paid_fen: int
    status: Status
    diff_qty: int
    diff_fen: int
    #: Every rule the line breaks, in precedence order (the first is `status`).
    flags: tuple[Status, ...] = ()

    @property
    def label(self) -> str:
        return LABELS[self.status]


_RESULT_FIELDS = [
    n for n in LineResult.__dataclass_fields__ if n not in ("status", "flags", "diff_qty", "diff_fen")
]


def _plain(value: Any) -> Any:
    """PostgreSQL sums bigints as numeric (Decimal); every sum here is whole packs or fen."""
    return int(value) if isinstance(value, Decimal) else value


def _line_select(
    actor: Actor, where: Slice, as_of: datetime, options: Options, status: Status | None
) -> tuple[Select[Any], Any]:
    c = classified(actor, where, as_of, options, with_flags=True).subquery("c")
    stmt = select(c)
    if status is not None:
        stmt = stmt.where(c.c.status == status.value)
    return stmt, c


def reconcile_lines(
    session: Session,
    actor: Actor,
    where: Slice,
    *,
    as_of: datetime,
    options: Options = DEFAULTS,
    status: Status | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[LineResult]:
    """The order lines of the slice with their status, in order-line order, optionally one
    status and one page (statements and drill-down; province totals aggregate in SQL, see
    `summarize` and `run_reconciliation`)."""
    stmt, c = _line_select(actor, where, as_of, options, status)
    precedence = [r.status for r in rules(c, as_of, options)]
    results = []
    for row in session.execute(stmt.order_by(c.c.order_line_id).offset(offset).limit(limit)).mappings():
        results.append(
            LineResult(
                **{name: _plain(row[name]) for name in _RESULT_FIELDS},
                status=Status(row["status"]),
                diff_qty=int(row["diff_qty"]),
                diff_fen=int(row["diff_fen"]),
                flags=tuple(s for s in precedence if row[f"flag_{s.value}"]),
            )
        )
    return results


def count_lines(
    session: Session,
    actor: Actor,
    where: Slice,
    *,
    as_of: datetime,
    options: Options = DEFAULTS,
    status: Status | None = None,
) -> int:
    stmt, _ = _line_select(actor, where, as_of, options, status)
    return int(session.scalar(select(func.count()).select_from(stmt.subquery())) or 0)


@dataclass(frozen=True)
class StatusSummary:
    status: Status
    lines: int
    order_amount_fen: int
    diff_qty: int
    diff_fen: int

    @property
    def label(self) -> str:
        return LABELS[self.status]


def summarize(
    session: Session, actor: Actor, where: Slice, *, as_of: datetime, options: Options = DEFAULTS
) -> list[StatusSummary]:
    """Lines, ordered amount and differences per status, aggregated by the database."""
    c = classified(actor, where, as_of, options).subquery("c")
    rows = session.execute(
        select(
            c.c.status,
            func.count(),
            func.sum(c.c.amount_fen),
            func.sum(c.c.diff_qty),
            func.sum(c.c.diff_fen),
        ).group_by(c.c.status)
    ).all()
    by_status = {Status(r[0]): r for r in rows}
    return [
        StatusSummary(s, int(r[1]), int(r[2] or 0), int(r[3] or 0), int(r[4] or 0))
        for s in Status
        if (r := by_status.get(s)) is not None
    ]


@dataclass(frozen=True)
class Orphan:
    kind: OrphanKind
    record_type: str
    record_id: int
    order_line_id: int | None
    diff_qty: int
    diff_fen: int
    detail: str

    @property
    def label(self) -> str:
        return ORPHAN_LABELS[self.kind]


@dataclass
class _OrphanQuery:
    kind: OrphanKind
    record_type: str
    stmt: Select[Any]
    detail: str
    scope: dict[str, Any] = field(default_factory=dict)


def orphans(session: Session, actor: Actor, where: Slice) -> list[Orphan]:
    """Records that point at nothing valid. The schema's foreign keys guarantee the targets
    exist; what can still be wrong is *which* target (another buyer's line, another line's
    delivery), a payment that disagrees with what was confirmed, or a reused invoice number —
    e.g. rows that came in through an import or a migration rather than the services."""
    ol = OrderLine
    shipment_lines = (
        select(
            ShipmentLine.id,
            ShipmentLine.order_line_id,
            ShipmentLine.quantity,
            (ShipmentLine.quantity * ol.pack_price_fen).label("fen"),
        )
        .join(ol, ol.id == ShipmentLine.order_line_id)
        .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
        .where(
            or_(
                Shipment.order_id != ol.order_id,
                ShipmentLine.hospital_id != ol.hospital_id,
                ShipmentLine.distributor_id != ol.distributor_id,
            )
        )
    )
    sl = aliased(ShipmentLine)
    receipts = (
        select(
            ReceiptLine.id,
            ReceiptLine.order_line_id,
            ReceiptLine.accepted_quantity,
            (ReceiptLine.accepted_quantity * ol.pack_price_fen).label("fen"),
        )
        .join(sl, sl.id == ReceiptLine.shipment_line_id)
        .join(ol, ol.id == ReceiptLine.order_line_id)
        .where(or_(sl.order_line_id != ReceiptLine.order_line_id, ReceiptLine.hospital_id != ol.hospital_id))
    )
    receipt = aliased(ReceiptLine)
    invoice_lines = (
        select(InvoiceLine.id, InvoiceLine.order_line_id, InvoiceLine.quantity, InvoiceLine.amount_fen)
        .join(receipt, receipt.id == InvoiceLine.receipt_line_id)
        .join(ol, ol.id == InvoiceLine.order_line_id)
        .where(
            or_(
                receipt.order_line_id != InvoiceLine.order_line_id,
                InvoiceLine.hospital_id != ol.hospital_id,
                InvoiceLine.enterprise_id != ol.distributor_id,
            )
        )
    )
    results: list[Orphan] = []
    line_ids = scoped_lines(actor, where).scalar_subquery()
    everything = actor.is_bureau and not where.where()
    for kind, record_type, stmt, line_col, detail in (
        (
            OrphanKind.SHIPMENT,
            "shipment_line",
            shipment_lines,
            ShipmentLine.order_line_id,
            "发货单与订单行的买方、配送企业或订单不一致",
        ),
        (
            OrphanKind.RECEIPT,
            "receipt_line",
            receipts,
            ReceiptLine.order_line_id,
            "验收记录与其发货明细不属于同一订单行",
        ),
        (
            OrphanKind.INVOICE,
            "invoice_line",
            invoice_lines,
            InvoiceLine.order_line_id,
            "发票行与其验收记录或订单行的当事方不一致",
        ),
    ):
        limited = stmt if everything else stmt.where(line_col.in_(line_ids))
        for row in session.execute(limited.order_by(stmt.selected_columns[0])):
            results.append(Orphan(kind, record_type, row[0], row[1], int(row[2]), int(row[3]), detail))
    results += _payment_orphans(session, actor, where)
    results += _duplicate_invoices(session, actor, where)
    return results


def _payment_orphans(session: Session, actor: Actor, where: Slice) -> list[Orphan]:
    """Payments that differ from the confirmed amount of their application (§5: payment ≠
    confirmed amount), including payments of applications with nothing confirmed."""
    confirmed = (
        select(
            SettlementLine.application_id.label("app_id"),
            func.sum(SettlementLine.amount_fen).label("confirmed_fen"),
        )
        .where(SettlementLine.status == SettlementLineStatus.CONFIRMED)
        .group_by(SettlementLine.application_id)
        .subquery("conf")
    )
    stmt = (
        select(Payment.id, Payment.amount_fen, _zero(confirmed.c.confirmed_fen), Payment.bank_reference)
        .join(SettlementApplication, SettlementApplication.id == Payment.application_id)
        .outerjoin(confirmed, confirmed.c.app_id == Payment.application_id)
        .where(Payment.amount_fen != _zero(confirmed.c.confirmed_fen))
    )
    stmt = _slice_parties(stmt, actor, where, Payment.hospital_id, Payment.enterprise_id)
    return [
        Orphan(
            OrphanKind.PAYMENT,
            "payment",
            row[0],
            None,
            0,
            int(row[1]) - int(row[2]),
            f"付款 {row[3]} 金额与结算申请确认金额不符",
        )
        for row in session.execute(stmt.order_by(Payment.id))
    ]


def _duplicate_invoices(session: Session, actor: Actor, where: Slice) -> list[Orphan]:
    """An invoice code + number is unique nationwide (one tax invoice); more than one record
    of it means the same invoice was entered twice, by one issuer or by two."""
    dupes = (
        select(Invoice.invoice_code, Invoice.invoice_number)
        .group_by(Invoice.invoice_code, Invoice.invoice_number)
        .having(func.count() > 1)
        .subquery("dupes")
    )
    stmt = select(Invoice.id, Invoice.total_fen, Invoice.invoice_code, Invoice.invoice_number).join(
        dupes,
        and_(dupes.c.invoice_code == Invoice.invoice_code, dupes.c.invoice_number == Invoice.invoice_number),
    )
    stmt = _slice_parties(stmt, actor, where, Invoice.hospital_id, Invoice.issuer_id)
    return [
        Orphan(
            OrphanKind.DUPLICATE_INVOICE,
            "invoice",
            row[0],
            None,
            0,
            int(row[1]),
            f"发票 {row[2]}{row[3]} 重复登记",
        )
        for row in session.execute(stmt.order_by(Invoice.id))
    ]


def _slice_parties(
    stmt: Select[Any], actor: Actor, where: Slice, hospital: Any, enterprise: Any
) -> Select[Any]:
    """Records without an order line of their own (payments, invoices) by their parties."""
    if where.hospital_id is not None:
        stmt = stmt.where(hospital == where.hospital_id)
    if where.enterprise_id is not None:
        stmt = stmt.where(enterprise == where.enterprise_id)
    return party_scope(stmt, actor, hospital=hospital, distributor=enterprise)


def run_reconciliation(
    session: Session,
    actor: Actor,
    where: Slice,
    *,
    as_of: datetime,
    now: datetime,
    options: Options = DEFAULTS,
    progress: Callable[[str], None] | None = None,
) -> ReconciliationRun:
    """Store a snapshot: every line that is not settled (with its difference), totals per
    hospital × distributor × status, and the orphan count — all in the caller's unit of work, so
    an interrupted run leaves nothing behind and a rerun starts clean (a new run, never a patch)."""
    if not actor.is_bureau:
        raise PermissionDenied("仅医保部门可运行全省对账 (bureau only)")
    step = progress or (lambda _name: None)
    run = ReconciliationRun(
        as_of=as_of,
        scope={k: v for k, v in _scope_dict(where).items() if v is not None},
        invoice_grace_days=options.invoice_grace_days,
        line_count=0,
        finding_count=0,
        orphan_count=0,
        created_at=now,
        created_by=actor.user_id,
    )
    session.add(run)
    session.flush()
    full = classified(actor, where, as_of, options).subquery("full")
    run_id = literal(run.id, BigInteger)
    findings_columns = [
        "order_line_id",
        "hospital_id",
        "distributor_id",
        "manufacturer_id",
        "region_code",
        "ordered_on",
        "status",
        "amount_fen",
        "diff_qty",
        "diff_fen",
    ]
    totals_columns = [
        "hospital_id",
        "distributor_id",
        "status",
        "lines",
        "amount_fen",
        "diff_qty",
        "diff_fen",
    ]

    def findings_from(c: Any) -> Any:
        return insert(ReconciliationFinding).from_select(
            ["run_id", *findings_columns],
            select(run_id, *[c.c[name] for name in findings_columns]).where(
                c.c.status.not_in([s.value for s in SETTLED])
            ),
        )

    def totals_from(c: Any) -> Any:
        return insert(ReconciliationTotal).from_select(
            ["run_id", *totals_columns],
            select(
                run_id,
                c.c.hospital_id,
                c.c.distributor_id,
                c.c.status,
                func.count(),
                func.sum(c.c.amount_fen),
                func.sum(c.c.diff_qty),
                func.sum(c.c.diff_fen),
            ).group_by(c.c.hospital_id, c.c.distributor_id, c.c.status),
        )

    kept = select(*[full.c[name] for name in findings_columns])
    if session.get_bind().dialect.name == "postgresql":
        # One pass over the flows: the classification is a CTE read by both writes (PostgreSQL
        # materializes a CTE referenced twice), the findings written by a data-modifying CTE.
        c = kept.cte("classified")
        write_findings = findings_from(c).cte("write_findings")
        session.execute(totals_from(c).add_cte(write_findings))
    else:
        # Elsewhere: classify once into a temporary table of the columns kept, then write both.
        c = Table(
            f"recon_run_{run.id}",
            MetaData(),
            *[Column(name, full.c[name].type) for name in findings_columns],
            prefixes=["TEMPORARY"],
        )
        c.create(session.connection())
        session.execute(insert(c).from_select(findings_columns, kept))
        session.execute(findings_from(c))
        session.execute(totals_from(c))
        session.execute(DropTable(c))
    step("findings and totals")
    run.orphan_count = len(orphans(session, actor, where))
    step("orphans")
    lines, found = session.execute(
        select(
            select(func.coalesce(func.sum(ReconciliationTotal.lines), 0))
            .where(ReconciliationTotal.run_id == run.id)
            .scalar_subquery(),
            select(func.count()).where(ReconciliationFinding.run_id == run.id).scalar_subquery(),
        )
    ).one()
    run.line_count, run.finding_count = int(lines), int(found)  # PostgreSQL sums bigints as numeric
    session.flush()
    audit.record(
        session,
        actor,
        "reconciliation.run",
        subject_type="reconciliation_run",
        subject_id=run.id,
        after={
            "scope": run.scope,
            "lines": run.line_count,
            "findings": run.finding_count,
            "orphans": run.orphan_count,
        },
        now=now,
    )
    return run


def _scope_dict(where: Slice) -> dict[str, Any]:
    return {
        "hospital_id": where.hospital_id,
        "enterprise_id": where.enterprise_id,
        "distributor_id": where.distributor_id,
        "region_prefix": where.region_prefix,
        "ordered_from": where.ordered_from.isoformat() if where.ordered_from else None,
        "ordered_before": where.ordered_before.isoformat() if where.ordered_before else None,
    }
