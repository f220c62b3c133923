"""The hospital's settlement applications (结算申请): each line with its product, confirmed as a
whole, confirmed with some lines disputed, or disputed entirely — one reason for what is disputed
(vbp-rules.md §4.3 step 3: the hospital checks the application against its purchases)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from app.db import request_session
from app.web.common import WRITERS, FormFailed, actor, ascii_int, attempt, done, page, web
from app.web.hospital_bulk import order_lines_by_id
from core import clock
from core.actors import OrgKind
from ledger.models import ApplicationStatus, SettlementApplication
from ledger.services import settlement


def settlements_page(status: int = 200, *, failed_id: int | None = None) -> ResponseReturnValue:
    from app.web.settlement_tables import applications_table

    who = actor()
    # No default sort: the applications awaiting the hospital come first, newest first.
    table, stmt = applications_table(who, default_sort="")
    stmt = stmt.order_by(None).order_by(
        (SettlementApplication.status == ApplicationStatus.FILED).desc(), SettlementApplication.id.desc()
    )
    query = table.query(stmt)
    if query.export_format and request.method == "GET":
        return query.export(query.all_rows())
    pager = query.paged()
    order_line_ids = {line.order_line_id for row in pager.items for line in row.SettlementApplication.lines}
    return render_template(
        "web/hospital_settlements.html",
        pager=pager,
        query=query,
        totals=query.totals(),
        lines=order_lines_by_id(who, order_line_ids),
        today=clock.business_date(clock.now()),
        failed_id=failed_id,
        form=request.form if request.method == "POST" else {},
        disputed={int(x) for x in request.form.getlist("dispute") if x.isascii() and x.isdigit()},
    ), status


@web.route("/hospital/settlements")
@page(OrgKind.HOSPITAL)
def hospital_settlements() -> ResponseReturnValue:
    return settlements_page()


@web.route("/hospital/settlements/<int:application_id>/decision", methods=["POST"])
@page(OrgKind.HOSPITAL, roles=WRITERS)
def hospital_settlement_decision(application_id: int) -> ResponseReturnValue:
    """`action=confirm` confirms, disputing the ticked lines; `action=dispute` disputes every line.
    A disputed line needs the reason; another hospital's application is not found (404)."""
    who = actor()
    application = settlement.get_application(request_session(), who, application_id)
    reason = request.form.get("reason", "").strip()
    if request.form.get("action") == "dispute":
        picked = [line.id for line in application.lines]
    else:
        picked = []
        for text in request.form.getlist("dispute"):
            try:
                picked.append(ascii_int(text))
            except ValueError:
                continue
    disputes = dict.fromkeys(picked, reason)
    try:
        if disputes and not reason:
            flash(_("A disputed line needs the reason."), "error")
            raise FormFailed
        decided = attempt(
            lambda db: settlement.confirm_application(
                db, who, application_id, disputes=disputes, now=clock.now()
            )
        )
    except FormFailed:
        return settlements_page(422, failed_id=application_id)
    if not disputes:
        message = _("Settlement application #%(id)s confirmed.", id=decided.id)
    elif len(disputes) == len(decided.lines):
        message = _("Settlement application #%(id)s disputed.", id=decided.id)
    else:
        message = _(
            "Settlement application #%(id)s confirmed with %(n)s lines disputed.",
            id=decided.id,
            n=len(disputes),
        )
    return done(message, "web.hospital_settlements")


@web.route("/hospital/settlements/<int:application_id>")
@page(OrgKind.HOSPITAL)
def hospital_settlement(application_id: int) -> ResponseReturnValue:
    """One application's anchor on the list (a 404 for another hospital's)."""
    settlement.get_application(request_session(), actor(), application_id)
    return redirect(url_for("web.hospital_settlements", _anchor=f"application-{application_id}"))
