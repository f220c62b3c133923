"""The bureau's reconciliation explorer and drill-down: every order line's three-flow status as
ledger/reconcile computes it (its figures are read here, never recomputed), with the product
(name, specification, manufacturer) on every line, totals, export and print."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from flask import abort, current_app, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy import column as sql_column

from app.db import request_session
from app.replica import replica_reads
from app.web.common import FormFailed, actor, ascii_int, form_dict, load, org_name, page, paged_by, web
from app.web.tables import DATE, INT, MONEY, TERM, Column, Table
from bidding.models import Product
from core import clock
from core.actors import OrgKind
from core.organizations import Organization
from ledger import reconcile
from ledger.models import InvoiceLine, OrderLine, Payment, ReceiptLine, SettlementLine, ShipmentLine
from ledger.reconcile import LineResult, Options, Slice, Status, StatusSummary
from ledger.schemas import ReconcileQuerySchema


def sort_key(name: str) -> Any:
    """A column ledger.reconcile sorts by itself (reconcile_lines(order_by=...)), before paging."""
    return sql_column(name)


RECONCILIATION = Table(
    "reconciliation",
    columns=(
        Column("order_line_id", _l("Order line"), sort=sort_key("order_line_id")),
        Column("order_id", _l("Order"), kind=INT, export_only=True),
        Column("hospital_id", _l("Hospital ID"), kind=INT, export_only=True),
        Column("hospital", _l("Hospital")),
        Column("distributor_id", _l("Distributor ID"), kind=INT, export_only=True),
        Column("distributor", _l("Distributor")),
        Column("product_code", _l("Product code"), export_only=True),
        Column("product", _l("Product")),
        Column("spec", _l("Specification")),
        Column("manufacturer_id", _l("Manufacturer ID"), kind=INT, export_only=True),
        Column("manufacturer", _l("Manufacturer")),
        Column("ordered_on", _l("Ordered on"), kind=DATE, sort=sort_key("ordered_on")),
        Column("quantity", _l("Ordered"), kind=INT, sort=sort_key("quantity")),
        Column("pack_price_fen", _l("Pack price (yuan)"), kind=MONEY, export_only=True),
        Column("amount_fen", _l("Ordered (yuan)"), kind=MONEY, total=True, sort=sort_key("amount_fen")),
        Column("shipped", _l("Shipped"), kind=INT, sort=sort_key("shipped")),
        Column("accepted", _l("Accepted quantity"), kind=INT, sort=sort_key("accepted")),
        Column("inv_qty", _l("Invoiced"), kind=INT, sort=sort_key("inv_qty")),
        Column("inv_fen", _l("Invoiced (yuan)"), kind=MONEY, export_only=True),
        Column("paid_fen", _l("Paid (yuan)"), kind=MONEY, sort=sort_key("paid_fen")),
        Column("status", _l("Status"), kind=TERM, sort=sort_key("status")),
        Column("diff_qty", _l("Difference (packs)"), kind=INT, total=True, sort=sort_key("diff_qty")),
        Column("diff_fen", _l("Difference (yuan)"), kind=MONEY, total=True, sort=sort_key("diff_fen")),
    ),
)


@dataclass(frozen=True)
class SearchSlice(Slice):
    """A slice narrowed by the explorer's `?q=`: a number is an order line's or an order's number,
    other text part of the product's name (or its code), or of the hospital's, the distributor's
    or the manufacturer's name. Only the choice of lines changes: ledger.reconcile classifies,
    counts and sums them as for any slice (its figures are never recomputed here)."""

    text: str = ""

    def where(self) -> list[ColumnElement[bool]]:
        conditions = super().where()
        if self.text:
            conditions.append(_matching(self.text))
        return conditions


def _matching(text: str) -> ColumnElement[bool]:
    try:
        number = ascii_int(text)
    except ValueError:
        number = None
    if number is not None:
        return or_(OrderLine.id == number, OrderLine.order_id == number)
    named = select(Organization.id).where(Organization.name.icontains(text, autoescape=True))
    product = select(Product.id).where(
        or_(Product.generic_name.icontains(text, autoescape=True), Product.code == text)
    )
    return or_(
        OrderLine.product_id.in_(product),
        OrderLine.hospital_id.in_(named),
        OrderLine.distributor_id.in_(named),
        OrderLine.manufacturer_id.in_(named),
    )


@dataclass(frozen=True)
class ProductFacts:
    code: str
    name: str
    spec: str


@dataclass(frozen=True)
class ReconRow:
    """A reconciliation line with the names a person reads: parties and the product."""

    line: LineResult
    product_facts: ProductFacts | None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.line, name)

    @property
    def hospital(self) -> str:
        return org_name(self.line.hospital_id)

    @property
    def distributor(self) -> str:
        return org_name(self.line.distributor_id)

    @property
    def manufacturer(self) -> str:
        return org_name(self.line.manufacturer_id)

    @property
    def product(self) -> str:
        return self.product_facts.name if self.product_facts else f"#{self.line.product_id}"

    @property
    def product_code(self) -> str:
        return self.product_facts.code if self.product_facts else ""

    @property
    def spec(self) -> str:
        return self.product_facts.spec if self.product_facts else ""


def products(ids: set[int]) -> dict[int, ProductFacts]:
    """The catalogue facts of some products, in one query (the catalogue is public)."""
    if not ids:
        return {}
    rows = request_session().execute(
        select(Product.id, Product.code, Product.generic_name, Product.spec_text).where(Product.id.in_(ids))
    )
    return {r.id: ProductFacts(r.code, r.generic_name, r.spec_text) for r in rows}


def with_products(lines: list[LineResult]) -> list[ReconRow]:
    facts = products({line.product_id for line in lines})
    return [ReconRow(line, facts.get(line.product_id)) for line in lines]


def _options() -> Options:
    options: Options = current_app.config["VBP"].reconcile_options()
    return options


def _totals(summary: list[StatusSummary], status: Status | None) -> dict[str, int]:
    """The totals row from the domain's own per-status sums (ledger.reconcile.summarize)."""
    chosen = [s for s in summary if status is None or s.status is status]
    return {
        "amount_fen": sum(s.order_amount_fen for s in chosen),
        "diff_qty": sum(s.diff_qty for s in chosen),
        "diff_fen": sum(s.diff_fen for s in chosen),
    }


@web.route("/bureau/reconciliation")
@page(OrgKind.BUREAU)
@replica_reads
def bureau_reconciliation() -> ResponseReturnValue:
    who = actor()
    db = request_session()
    raw = {k: v for k, v in request.args.items() if k in ReconcileQuerySchema().fields and v.strip()}
    try:
        query = load(ReconcileQuerySchema(), form_dict(raw, ints=("hospital_id", "enterprise_id")))
    except FormFailed:
        query = {}
    table = RECONCILIATION.query(None)
    where: Slice = replace(SearchSlice.of(query), text=table.q)
    now, status, options = clock.now(), query.get("status"), _options()
    if table.q:
        raw["q"] = table.q  # the per-status links keep the search
    summary = reconcile.summarize(db, who, where, as_of=now, options=options)
    totals = _totals(summary, status)
    # The sort is a declared column's name (tables.py ignores any other), sorted in SQL by ledger.reconcile.
    order = (table.sort, table.dir == "desc") if table.sort in reconcile.SORTABLE else None
    if table.export_format:
        lines = reconcile.reconcile_lines(
            db, who, where, as_of=now, options=options, status=status, order_by=order
        )
        return table.export(with_products(lines), totals=totals)
    pager = paged_by(
        reconcile.count_lines(db, who, where, as_of=now, options=options, status=status),
        lambda limit, offset: with_products(
            reconcile.reconcile_lines(
                db,
                who,
                where,
                as_of=now,
                options=options,
                status=status,
                limit=limit,
                offset=offset,
                order_by=order,
            )
        ),
        per_page=table.per_page,
    )
    return render_template(
        "web/bureau_reconciliation.html",
        summary=summary,
        pager=pager,
        statuses=list(Status),
        query=raw,
        table=table,
        totals=totals,
    )


@web.route("/bureau/reconciliation/lines/<int:order_line_id>")
@page(OrgKind.BUREAU)
@replica_reads
def bureau_reconciliation_line(order_line_id: int) -> ResponseReturnValue:
    """Every record of one order line across the three flows, with its status and difference."""
    who = actor()
    db = request_session()
    found = reconcile.reconcile_lines(
        db, who, Slice(order_line_ids=(order_line_id,)), as_of=clock.now(), options=_options()
    )
    if not found:
        abort(404)
    line = db.get(OrderLine, order_line_id)
    records = {
        "shipments": list(
            db.scalars(select(ShipmentLine).where(ShipmentLine.order_line_id == order_line_id))
        ),
        "receipts": list(db.scalars(select(ReceiptLine).where(ReceiptLine.order_line_id == order_line_id))),
        "invoices": list(db.scalars(select(InvoiceLine).where(InvoiceLine.order_line_id == order_line_id))),
    }
    settlement_lines = list(
        db.scalars(select(SettlementLine).where(SettlementLine.order_line_id == order_line_id))
    )
    application_ids = {s.application_id for s in settlement_lines}
    payments = list(db.scalars(select(Payment).where(Payment.application_id.in_(application_ids or {0}))))
    return render_template(
        "web/bureau_reconciliation_line.html",
        result=with_products(found)[0],
        line=line,
        records=records,
        settlement_lines=settlement_lines,
        payments=payments,
    )
