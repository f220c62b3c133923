"""Bureau pages for the money: drill into a settlement run (its applications and every settlement
line with its product), record the run's payments with bank references, and generate the month's
reconciliation statements.

They call the services behind the API's POST /settlement-runs/{id}/payments
(`ledger.services.settlement_payments.pay_application`) and POST /statements/generate
(`ledger.statements.generate`), so a page cannot do what the API refuses.
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.db import request_session
from app.web.bureau_pickers import organization_options
from app.web.common import WRITERS, FormFailed, actor, attempt, done, form_dict, load, page, web
from core import clock
from core.actors import Actor, OrgKind
from core.errors import DomainError, ValidationFailed
from ledger import statements
from ledger.models import (
    ApplicationStatus,
    OrderLine,
    Payment,
    PaymentSource,
    SettlementApplication,
    SettlementLine,
    SettlementRun,
)
from ledger.schemas import RunPaySchema, StatementGenerateSchema
from ledger.services import settlement, settlement_payments

#: Prefix of the form fields carrying one bank reference per application ("ref-<application id>").
REF = "ref-"


def _run(db: Session, run_id: int) -> SettlementRun:
    run = db.get(SettlementRun, run_id)
    if run is None:
        abort(404)
    return run


def _run_page(db: Session, who: Actor, run: SettlementRun, form: Any = None) -> str:
    applications = list(
        db.scalars(
            settlement.applications_visible_to(who)
            .where(SettlementApplication.run_id == run.id)
            .order_by(SettlementApplication.id)
        )
    )
    ids = [a.id for a in applications] or [0]
    lines = list(
        db.execute(
            select(SettlementLine, OrderLine)
            .join(OrderLine, OrderLine.id == SettlementLine.order_line_id)
            .options(selectinload(OrderLine.product))
            .where(SettlementLine.application_id.in_(ids))
            .order_by(SettlementLine.application_id, SettlementLine.id)
        ).all()
    )
    payments = {
        p.application_id: p for p in db.scalars(select(Payment).where(Payment.application_id.in_(ids)))
    }
    return render_template(
        "web/bureau_run.html",
        run=run,
        applications=applications,
        lines=lines,
        payments=payments,
        unpaid=[a for a in applications if a.status is ApplicationStatus.APPROVED and a.id not in payments],
        sources=[PaymentSource.FUND, PaymentSource.PREPAYMENT],
        form=form or {},
        today=clock.business_date(clock.now()).isoformat(),
        can_write=who.role in WRITERS,
    )


@web.route("/bureau/settlement/runs/<int:run_id>")
@page(OrgKind.BUREAU)
def bureau_run(run_id: int) -> ResponseReturnValue:
    """A run's applications and every settlement line with its product, and its payments."""
    db = request_session()
    return _run_page(db, actor(), _run(db, run_id))


def _pay_run(db: Session, who: Actor, run_id: int, data: dict[str, Any]) -> list[Payment]:
    """Pay each application named in the form, as the API does: each one once, ever, and only
    the run's own."""
    paid, errors = [], {}
    for item in data["payments"]:
        where = f"结算申请 {item['application_id']}"  # each refusal names its application
        try:
            with db.begin_nested():
                application = settlement.get_application(db, who, item["application_id"])
                if application.run_id != run_id:
                    raise ValidationFailed("不在该结算批次 (not in this run)")
                paid.append(
                    settlement_payments.pay_application(
                        db,
                        who,
                        application.id,
                        bank_reference=item["bank_reference"],
                        paid_on=data["paid_on"],
                        now=clock.now(),
                        source=data["source"],
                    )
                )
        except DomainError as exc:
            errors[where] = [exc.message, *(m for ms in (exc.fields or {}).values() for m in ms)]
    if errors:
        raise ValidationFailed("未登记任何付款 (no payment was recorded)", fields=errors)
    return paid


@web.route("/bureau/settlement/runs/<int:run_id>/payments", methods=["POST"])
@page(OrgKind.BUREAU, roles=WRITERS)
def bureau_pay_run(run_id: int) -> ResponseReturnValue:
    """Record the payments typed on the run page: one bank reference per application paid."""
    who, db = actor(), request_session()
    run = _run(db, run_id)
    fields = form_dict(request.form)
    payload = {
        "paid_on": fields.get("paid_on"),
        "source": fields.get("source"),
        "payments": [
            {"application_id": int(key[len(REF) :]), "bank_reference": value}
            for key, value in fields.items()
            if key.startswith(REF) and key[len(REF) :].isascii() and key[len(REF) :].isdigit()
        ],
    }
    try:
        if not payload["payments"]:
            flash(_("Type the bank reference of at least one payment."), "error")
            raise FormFailed
        data = load(RunPaySchema(), {k: v for k, v in payload.items() if v is not None})
        paid = attempt(lambda s: _pay_run(s, who, run_id, data))
    except FormFailed:
        return _run_page(db, who, run, form=request.form), 422
    return done(_("%(n)s payments recorded.", n=len(paid)), "web.bureau_run", run_id=run_id)


# --- statements ---------------------------------------------------------------------------------


@web.route("/bureau/statements", methods=["GET", "POST"])
@page(OrgKind.BUREAU)
def bureau_statements() -> ResponseReturnValue:
    """Generate the month's statements (all pairs, or one hospital and/or distributor)."""
    who, db = actor(), request_session()
    status, result = 200, None
    if request.method == "POST":
        if who.role not in WRITERS:
            abort(403)
        try:
            data = load(
                StatementGenerateSchema(), form_dict(request.form, ints=("hospital_id", "enterprise_id"))
            )
            now = clock.now()
            options = current_app.config["VBP"].reconcile_options()
            result = attempt(
                lambda s: statements.generate(
                    s,
                    who,
                    period=data["period"],
                    as_of=now,
                    now=now,
                    hospital_id=data.get("hospital_id"),
                    enterprise_id=data.get("enterprise_id"),
                    options=options,
                )
            )
            flash(
                _(
                    "%(created)s statements generated, %(unchanged)s unchanged.",
                    created=len(result.created),
                    unchanged=result.unchanged,
                ),
                "success",
            )
        except FormFailed:
            status = 422
    last_month = clock.previous_month(clock.month_start(clock.business_date(clock.now())))
    return render_template(
        "web/bureau_statements.html",
        form=request.form,
        result=result,
        last_month=last_month.strftime("%Y-%m"),
        hospitals=organization_options(db, who, OrgKind.HOSPITAL),
        distributors=organization_options(db, who, OrgKind.DISTRIBUTOR),
        can_write=who.role in WRITERS,
    ), status
