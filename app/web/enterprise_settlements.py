"""One settlement application with its lines, each with its invoice and product, for the
distributor that filed it (another organization's application answers 404)."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from app.db import request_session
from app.web.common import actor, page, web
from core.actors import OrgKind
from ledger.models import Invoice, InvoiceLine, OrderLine, SettlementLine
from ledger.services import settlement


@web.route("/enterprise/settlement/<int:application_id>")
@page(OrgKind.DISTRIBUTOR)
def enterprise_settlement_application(application_id: int) -> ResponseReturnValue:
    db = request_session()
    application = settlement.get_application(db, actor(), application_id)
    rows = db.execute(
        select(SettlementLine, InvoiceLine, Invoice, OrderLine)
        .join(InvoiceLine, InvoiceLine.id == SettlementLine.invoice_line_id)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .join(OrderLine, OrderLine.id == SettlementLine.order_line_id)
        .where(SettlementLine.application_id == application.id)
        .order_by(SettlementLine.id)
    ).all()
    return render_template("web/enterprise_settlement_application.html", application=application, rows=rows)
