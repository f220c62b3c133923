"""The 待办 home of every role: to-do tiles whose count comes from the same query as the list each
links to, and the deadlines of the day with the time left (ledger/deadlines.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import current_app, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import func, select

from app.db import request_session
from app.web.common import actor, page, web
from app.web.messages import link_for
from core import clock, messages
from core.actors import Actor, OrgKind
from core.messages import MessageView
from ledger import deadlines
from ledger.models import InvoiceLine, OrderStatus
from ledger.order_views import where_status
from ledger.services import invoicing, ordering

OPEN_ORDER_STATES = (
    OrderStatus.SUBMITTED,
    OrderStatus.ACCEPTED,
    OrderStatus.PARTIALLY_SHIPPED,
    OrderStatus.SHIPPED,
)

Tile = tuple[str, int | None, str]


@web.route("/")
@page()
def dashboard() -> ResponseReturnValue:
    who, now = actor(), clock.now()
    notice_days = current_app.config["VBP"].agreement_notice_days
    found = deadlines.deadlines_for(request_session(), who, now=now, agreement_notice_days=notice_days)
    rows = [(d, deadline_link(d, who), time_left(d.due_at, now)) for d in found]
    latest = messages.inbox(request_session(), who, limit=5, offset=0, unread_only=True)
    return render_template(
        "web/dashboard.html",
        tiles=tiles_for(who),
        deadlines=rows,
        overdue=sum(1 for d in found if d.overdue(now)),
        latest=[(m, url_for("web.message_open", message_id=m.id)) for m in latest],
        now=now,
    )


def tiles_for(who: Actor) -> list[Tile]:
    """The role's to-do tiles; each count is the very query its list page runs."""
    db = request_session()

    def count(stmt: Any) -> int:
        return db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0

    def orders_tile(title: str, *statuses: OrderStatus) -> Tile:
        # The count and the list it links to are one query: the orders page filters the same way.
        counted = count(where_status(ordering.orders_visible_to(who), who, *statuses))
        return title, counted, url_for("web.orders", status=[s.value for s in statuses])

    unread: Tile = (
        _("Unread messages"),
        count(messages.unread_for(who)),
        url_for("web.messages_page", unread=1),
    )
    tiles: list[Tile] = []
    if who.org_kind is OrgKind.HOSPITAL:
        from app.web.hospital import pending_receipts

        tiles = [
            (_("Deliveries to confirm"), count(pending_receipts(who)), url_for("web.hospital_deliveries")),
            (
                _("Invoices to confirm"),
                count(invoicing.invoice_lines_visible_to(who).where(InvoiceLine.status == "pending")),
                url_for("web.invoices", status="pending"),
            ),
            orders_tile(_("Orders in progress"), *OPEN_ORDER_STATES),
            (_("Statements"), None, url_for("web.statements_page")),
        ]
    elif who.org_kind in (OrgKind.MANUFACTURER, OrgKind.DISTRIBUTOR):
        tiles = [
            orders_tile(_("Orders awaiting acceptance"), OrderStatus.SUBMITTED),
            orders_tile(_("Orders to ship"), OrderStatus.ACCEPTED, OrderStatus.PARTIALLY_SHIPPED),
            # Batches and bids are the manufacturers' (a distributor's link would answer 403).
            *(
                [(_("Open batches"), None, url_for("web.enterprise_batches"))]
                if who.org_kind is OrgKind.MANUFACTURER
                else []
            ),
            (_("Receivables"), None, url_for("web.enterprise_receivables")),
        ]
    elif who.org_kind is OrgKind.BUREAU:
        from bidding.batches import batches_visible_to

        tiles = [
            (_("Procurement batches"), count(batches_visible_to(who)), url_for("web.bureau_batches")),
            (_("Orders"), count(ordering.orders_visible_to(who)), url_for("web.orders")),
            (_("Reconciliation"), None, url_for("web.bureau_reconciliation")),
            (_("Job history"), None, url_for("web.bureau_jobs")),
        ]
    return [unread, *tiles]


def deadline_link(deadline: deadlines.Deadline, who: Actor) -> str | None:
    """Where the reader acts on a deadline: the same addresses as messages about the same records."""
    if deadline.link_kind == "settlement_filing":
        return url_for("web.enterprise_settlement") if not who.is_bureau else url_for("web.bureau_settlement")
    if deadline.link_kind == "agreements":
        return url_for("web.agreements_page", batch_id=deadline.link_id)
    if deadline.link_kind == "settlement_application" and who.is_bureau:
        return url_for("web.bureau_settlement")
    if deadline.link_kind == "invoice" and who.org_kind is not OrgKind.HOSPITAL and not who.is_bureau:
        return url_for("web.enterprise_receivables")
    as_message = MessageView(
        0, deadline.kind, deadline.link_kind, deadline.link_id, {}, deadline.due_at, None
    )
    return link_for(as_message, who)


def time_left(due_at: datetime, now: datetime) -> tuple[bool, str]:
    """(overdue?, the time left or past in days and hours, or hours and minutes when under a day)."""
    late = due_at <= now
    seconds = int(abs((due_at - now).total_seconds()))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    if days:
        span = _("%(days)s d %(hours)s h", days=days, hours=hours)
    else:
        span = _("%(hours)s h %(minutes)s min", hours=hours, minutes=rest // 60)
    return late, (_("overdue by %(span)s", span=span) if late else _("%(span)s left", span=span))
