"""The lists built on app/web/tables.py: orders and statements, each as its caller may see it
(scoped by the domain queries: ordering.orders_visible_to, statements.statements_for), searchable,
sortable, dated, totalled, exported and printed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, or_
from sqlalchemy.orm import aliased

from app.db import request_session
from app.web.common import actor, page, web
from app.web.tables import DATETIME, INT, MONEY, TERM, Column, Table
from bidding.models import Product
from core.actors import Actor, OrgKind
from core.organizations import Organization
from ledger import statements
from ledger.models import Order, OrderLine, OrderStatus
from ledger.order_views import OrderView, order_views, sees_whole_order, where_status
from ledger.services import ordering
from ledger.services.ordering import order_lines_visible_to

# --- orders (every party sees its own) -----------------------------------------------------------


def orders_table(who: Actor) -> tuple[Table, Select[Any]]:
    """The orders list as `who` sees it, and its select: the amount is the sum of the lines `who`
    may see (a manufacturer: its products' lines only, ledger.order_views), and a search by
    product looks only at those lines, so it tells nobody what else an order holds."""
    hospital, distributor = aliased(Organization), aliased(Organization)
    mine = order_lines_visible_to(who).where(OrderLine.order_id == Order.id)
    amount = mine.with_only_columns(func.coalesce(func.sum(OrderLine.amount_fen), 0)).scalar_subquery()

    def by_product(text: str) -> Any:
        named = or_(Product.generic_name.icontains(text, autoescape=True), Product.code == text)
        return mine.join(Product, Product.id == OrderLine.product_id).where(named).exists()

    table = Table(
        "orders",
        columns=(
            Column("id", _l("Order"), sort=Order.id),
            Column("hospital_id", _l("Hospital ID"), kind=INT, export_only=True),
            Column("hospital", _l("Hospital"), sort=hospital.name),
            Column("distributor_id", _l("Distributor ID"), kind=INT, export_only=True),
            Column("distributor", _l("Distributor"), sort=distributor.name),
            Column("submitted_at", _l("Submitted"), sort=Order.submitted_at, kind=DATETIME),
            Column("deadline_at", _l("Deadline"), sort=Order.deadline_at, kind=DATETIME),
            Column("urgency", _l("Urgency"), kind=TERM),
            # A manufacturer sees the status of its own lines: ordering by the whole order's would
            # tell it something of the others' lines.
            Column("status", _l("Status"), sort=Order.status if sees_whole_order(who) else None, kind=TERM),
            Column("amount_fen", _l("Amount (yuan)"), sort=amount, kind=MONEY, total=True),
        ),
        search=(hospital.name, distributor.name),
        also=(by_product,),
        ids=(Order.id,),
        dated=Order.submitted_at,
        default_sort="id",
        tiebreak=Order.id,
    )
    stmt = (
        ordering.orders_visible_to(who)
        .join(hospital, hospital.id == Order.hospital_id)
        .join(distributor, distributor.id == Order.distributor_id)
        .add_columns(hospital.name.label("hospital"), distributor.name.label("distributor"))
        .add_columns(amount.label("amount_fen"))
    )
    return table, stmt


@web.route("/orders")
@page()
def orders() -> ResponseReturnValue:
    who = actor()
    table, stmt = orders_table(who)
    # ?status= may repeat: a dashboard tile links to the very statuses it counts.
    wanted = order_statuses(request.args.getlist("status"))
    if wanted:
        stmt = where_status(stmt, who, *wanted)
    query = table.query(stmt)
    if query.export_format:
        return query.export(_order_rows(who, query.all_rows()))
    pager = query.paged()
    pager.items = _order_rows(who, pager.items)
    return render_template(
        "web/orders.html",
        pager=pager,
        query=query,
        totals=query.totals(),
        status=[s.value for s in wanted],
        statuses=list(OrderStatus),
    )


@dataclass(frozen=True)
class OrderRow:
    """An order as its list shows it: the viewer's view of it (order_views), names, amount."""

    view: OrderView
    hospital: str
    distributor: str
    amount_fen: int

    def __getattr__(self, name: str) -> Any:
        return getattr(self.view, name)


def _order_rows(who: Actor, rows: list[Any]) -> list[OrderRow]:
    # A manufacturer sees the status of its own lines only (ledger/order_views.py).
    views = order_views(request_session(), who, [row.Order for row in rows])
    return [
        OrderRow(view, row.hospital, row.distributor, int(row.amount_fen))
        for view, row in zip(views, rows, strict=True)
    ]


def order_statuses(values: list[str]) -> list[OrderStatus]:
    """The known statuses among the query's values, in a stable order (unknown ones ignored)."""
    known = {s.value: s for s in OrderStatus}
    return [known[v] for v in dict.fromkeys(values) if v in known]


# --- statements ---------------------------------------------------------------------------------


def statements_table(who: Actor) -> tuple[Table, Select[Any]]:
    """The current statements `who` may see (ledger.statements.statements_for), with the parties' names."""
    from ledger.models import Statement

    hospital, enterprise = aliased(Organization), aliased(Organization)
    table = Table(
        "statements",
        columns=(
            Column("period_month", _l("Month"), sort=Statement.period_month, value=_month),
            Column("hospital_id", _l("Hospital ID"), kind=INT, export_only=True),
            Column("hospital", _l("Hospital"), sort=hospital.name),
            Column("enterprise_id", _l("Enterprise ID"), kind=INT, export_only=True),
            Column("enterprise", _l("Enterprise"), sort=enterprise.name),
            Column("version", _l("Version"), kind=INT),
            Column("line_count", _l("Lines"), sort=Statement.line_count, kind=INT, total=True),
            Column(
                "order_amount_fen",
                _l("Ordered (yuan)"),
                sort=Statement.order_amount_fen,
                kind=MONEY,
                total=True,
            ),
            Column(
                "invoiced_fen", _l("Invoiced (yuan)"), sort=Statement.invoiced_fen, kind=MONEY, total=True
            ),
            Column("paid_fen", _l("Paid (yuan)"), sort=Statement.paid_fen, kind=MONEY, total=True),
            Column(
                "discrepancy_count",
                _l("Discrepancies"),
                sort=Statement.discrepancy_count,
                kind=INT,
                total=True,
            ),
            Column("hospital_decision", _l("Hospital decision"), kind=TERM),
            Column("enterprise_decision", _l("Enterprise decision"), kind=TERM),
        ),
        search=(hospital.name, enterprise.name),
        dated=Statement.period_month,
        default_sort="period_month",
        tiebreak=Statement.id,
    )
    stmt = (
        statements.statements_for(who)
        .join(hospital, hospital.id == Statement.hospital_id)
        .join(enterprise, enterprise.id == Statement.enterprise_id)
        .add_columns(hospital.name.label("hospital"), enterprise.name.label("enterprise"))
    )
    return table, stmt


def _month(row: Any) -> str:
    return str(row.period_month.strftime("%Y-%m"))


@dataclass(frozen=True)
class NamedRow:
    """A row of the list: the model object (`item`) with the names the select joined to it."""

    item: Any
    names: dict[str, str]

    def __getattr__(self, name: str) -> Any:
        names = self.__dict__["names"]
        return names[name] if name in names else getattr(self.__dict__["item"], name)


def named_rows(rows: list[Any], entity: str, *names: str) -> list[NamedRow]:
    return [NamedRow(getattr(row, entity), {n: getattr(row, n) for n in names}) for row in rows]


@web.route("/statements")
@page(OrgKind.HOSPITAL, OrgKind.DISTRIBUTOR, OrgKind.MANUFACTURER, OrgKind.BUREAU)
def statements_page() -> ResponseReturnValue:
    table, stmt = statements_table(actor())
    query = table.query(stmt)
    if query.export_format:
        return query.export(named_rows(query.all_rows(), "Statement", "hospital", "enterprise"))
    pager = query.paged()
    pager.items = named_rows(pager.items, "Statement", "hospital", "enterprise")
    return render_template("web/statements.html", pager=pager, query=query, totals=query.totals())
