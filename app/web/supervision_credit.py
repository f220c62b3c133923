"""Credit ratings with their linkage (信用评价联动, vbp-rules.md §7) for the bureau, and the fund
savings report (基金节约, §1.9) for the bureau and hospitals. The pages call the services behind
POST /credit-ratings, POST /credit-ratings/{id}/repair and GET /reports/fund-savings."""

from __future__ import annotations

import re
from datetime import date

from flask import Response, abort, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from marshmallow import fields
from sqlalchemy import func, select

from app.db import request_session
from app.web.common import WRITERS, FormFailed, actor, attempt, done, form_dict, load, page, paged, web
from bidding import ratings
from bidding.credit import CreditCause
from bidding.models import CreditRating
from bidding.schemas import CreditRatingCreateSchema
from core import clock
from core.actors import OrgKind
from core.organizations import Organization
from core.validation import PLAUSIBLE_DATE, BaseSchema
from ledger.supervision import credit_linkage
from ledger.supervision.credit_models import CreditSuspension
from ledger.supervision.fund_savings import REWARD_BASIS, fund_savings
from reports import fund_savings as savings_output

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


class _RepairForm(BaseSchema):
    repaired_on = fields.Date(required=True, validate=PLAUSIBLE_DATE)


def _home() -> str:
    return str(current_app.config["VBP"].province_code)


def _product_ids(text: str) -> list[object]:
    """Ids typed with commas or spaces; anything not a number stays text for the schema to refuse."""
    return [int(t) if t.isascii() and t.isdigit() else t for t in re.split(r"[\s,，、]+", text.strip()) if t]


def _enterprises() -> list[Organization]:
    stmt = select(Organization).where(Organization.kind.in_((OrgKind.MANUFACTURER, OrgKind.DISTRIBUTOR)))
    return list(request_session().scalars(stmt.order_by(Organization.name)))


@web.route("/bureau/credit-ratings", methods=["GET", "POST"])
@page(OrgKind.BUREAU)
def bureau_credit_ratings() -> ResponseReturnValue:
    """Ratings with what each holds suspended; record one (its consequences follow at once)."""
    who = actor()
    status = 200
    form = dict(request.form) if request.method == "POST" else {}
    if request.method == "POST":
        if who.role not in WRITERS:
            abort(403)
        payload = form_dict(request.form, ints=("enterprise_id",))
        payload["product_ids"] = _product_ids(request.form.get("product_ids", ""))
        payload.setdefault("amount", None)
        try:
            data = load(CreditRatingCreateSchema(), payload)
            linked = attempt(
                lambda db: credit_linkage.record_rating(
                    db,
                    who,
                    home_province=_home(),
                    enterprise_id=data["enterprise_id"],
                    province_code=data["province_code"],
                    cause=data["cause"],
                    amount_fen=data["amount"],
                    product_ids=data["product_ids"],
                    effective_on=data["effective_on"],
                    now=clock.now(),
                )
            )
        except FormFailed:
            status = 422
        else:
            message = _(
                "Rating %(id)s recorded: %(listings)s listings and %(auths)s authorizations suspended.",
                id=linked.rating.id,
                listings=len(linked.listing_ids),
                auths=len(linked.authorization_ids),
            )
            return done(message, "web.bureau_credit_ratings")
    held = dict(
        request_session()
        .execute(
            select(CreditSuspension.rating_id, func.count())
            .where(CreditSuspension.restored_at.is_(None))
            .group_by(CreditSuspension.rating_id)
        )
        .all()
    )
    return render_template(
        "web/supervision_credit_ratings.html",
        pager=paged(ratings.ratings_visible_to(who).order_by(CreditRating.id.desc())),
        held=held,
        enterprises=_enterprises(),
        causes=list(CreditCause),
        form=form,
        home=_home(),
        today=clock.business_date(clock.now()).isoformat(),
        can_write=who.role in WRITERS,
    ), status


@web.route("/bureau/credit-ratings/<int:rating_id>/repair", methods=["POST"])
@page(OrgKind.BUREAU, roles=WRITERS)
def bureau_credit_repair(rating_id: int) -> ResponseReturnValue:
    """信用修复 of one rating: what it alone held suspended is listed again."""
    try:
        data = load(_RepairForm(), form_dict(request.form))
        linked = attempt(
            lambda db: credit_linkage.repair_rating(
                db, actor(), rating_id, repaired_on=data["repaired_on"], now=clock.now()
            )
        )
    except FormFailed:
        return redirect(url_for("web.bureau_credit_ratings"))
    message = _(
        "Rating %(id)s repaired: %(count)s listings or authorizations restored.",
        id=rating_id,
        count=len(linked.listing_ids) + len(linked.authorization_ids),
    )
    return done(message, "web.bureau_credit_ratings")


def _month() -> date:
    match = _MONTH.match(request.args.get("month", ""))
    if match and 1 <= int(match.group(2)) <= 12:
        return date(int(match.group(1)), int(match.group(2)), 1)
    return clock.business_date(clock.now()).replace(day=1)


@web.route("/fund-savings")
@page(OrgKind.BUREAU, OrgKind.HOSPITAL)
def fund_savings_page() -> ResponseReturnValue:
    """基金节约 of a month: the bureau every hospital's, a hospital its own."""
    month = _month()
    report = fund_savings(
        request_session(), actor(), month=month, settings=current_app.config["VBP"].supervision
    )
    return render_template(
        "web/supervision_credit_savings.html", report=report, month=f"{month:%Y-%m}", basis=REWARD_BASIS
    )


@web.route("/fund-savings.xlsx")
@page(OrgKind.BUREAU, OrgKind.HOSPITAL)
def fund_savings_xlsx() -> ResponseReturnValue:
    month = _month()
    report = fund_savings(
        request_session(), actor(), month=month, settings=current_app.config["VBP"].supervision
    )
    response = Response(savings_output.to_xlsx(report), mimetype=savings_output.XLSX_MIMETYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="fund-savings-{month:%Y%m}.xlsx"'
    return response
