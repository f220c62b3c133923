"""Credit linkage, payment standards and the fund-savings report (issue 18, vbp-rules.md §1.9, §7).
Views: check role → validate → unit_of_work(service) → dump."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app
from flask_smorest import Blueprint
from marshmallow import fields, validate
from sqlalchemy import select

import ledger.supervision.credit_linkage  # noqa: F401  (registers the linkage's message rules)
from app.api.files import XLSX, file_responses
from app.auth import current_actor, requires
from app.db import request_session, unit_of_work
from app.idempotency import idempotent
from bidding import ratings
from bidding.models import CreditRating, Product
from bidding.schemas import CreditRatingSchema
from core import clock
from core.actors import OrgKind, Role
from core.errors import NotFound
from core.validation import PLAUSIBLE_DATE, BaseSchema, Month, UnitPrice, Yuan
from ledger.supervision import credit_linkage, fund_savings, payment_standard
from ledger.supervision.credit_models import CreditSuspension
from reports import fund_savings as savings_output

PREFIX = ""
blp = Blueprint(
    "supervision_credit", __name__, description="信用联动、支付标准与基金节约 (credit, payment standard)"
)
BUREAU_WRITERS = (Role.ADMIN, Role.OPERATOR)


def _supervision() -> Any:
    return current_app.config["VBP"].supervision


def home_province() -> str:
    return str(current_app.config["VBP"].province_code)


class LinkedRatingSchema(CreditRatingSchema):
    """A rating with what this recording or repair suspended or restored."""

    listing_ids = fields.List(fields.Integer(), metadata={"description": "listings suspended / restored now"})
    authorization_ids = fields.List(
        fields.Integer(), metadata={"description": "authorizations suspended / restored"}
    )


def linked(done: credit_linkage.Linkage) -> dict[str, Any]:
    out = {k: getattr(done.rating, k) for k in ("id", "enterprise_id", "province_code", "grade", "cause")}
    out |= {
        "amount_fen": done.rating.amount_fen,
        "product_ids": done.rating.product_ids,
        "effective_on": done.rating.effective_on,
        "repaired_on": done.rating.repaired_on,
        "listing_ids": list(done.listing_ids),
        "authorization_ids": list(done.authorization_ids),
    }
    return out


class RepairSchema(BaseSchema):
    repaired_on = fields.Date(required=True, validate=PLAUSIBLE_DATE)


class SuspensionSchema(BaseSchema):
    id = fields.Integer()
    rating_id = fields.Integer()
    listing_id = fields.Integer(allow_none=True)
    authorization_id = fields.Integer(allow_none=True)
    moved = fields.Boolean(metadata={"description": "false: joined a suspension another rating made"})
    suspended_at = fields.DateTime()
    restored_at = fields.DateTime(allow_none=True)


class StandardQuerySchema(BaseSchema):
    product_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**62))
    pack_price = Yuan(required=True, validate=validate.Range(min=1, max=10**13))


class StandardSchema(BaseSchema):
    product_id = fields.Integer()
    basis = fields.String(
        metadata={"description": "winning_price | within_multiple | above_multiple | not_evaluated"}
    )
    base_award_id = fields.Integer()
    winning_pack_price = Yuan(attribute="winning_pack_fen")
    payment_standard = Yuan(attribute="pack_fen")
    payment_standard_unit = UnitPrice(attribute="unit_e4")


class SavingsQuerySchema(BaseSchema):
    month = Month(required=True, metadata={"description": "YYYY-MM"})
    hospital_id = fields.Integer(validate=validate.Range(min=1, max=2**62))
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "xlsx"]))


@blp.route("/credit-ratings/<int:rating_id>/repair", methods=["POST"])
@requires(OrgKind.BUREAU, roles=BUREAU_WRITERS)
@idempotent()
@blp.arguments(RepairSchema)
@blp.response(200, LinkedRatingSchema)
def repair_rating(data: dict[str, Any], rating_id: int) -> Any:
    """信用修复: the rating stops restricting; what it alone held suspended is restored (409 if
    already repaired)."""
    with unit_of_work() as session:
        done = credit_linkage.repair_rating(
            session, current_actor(), rating_id, repaired_on=data["repaired_on"], now=clock.now()
        )
        return linked(done)


@blp.route("/credit-ratings/<int:rating_id>/suspensions", methods=["GET"])
@requires(OrgKind.BUREAU, OrgKind.MANUFACTURER, OrgKind.DISTRIBUTOR)
@blp.response(200, SuspensionSchema(many=True))
def rating_suspensions(rating_id: int) -> Any:
    """What a rating holds (or held) suspended: the bureau for any rating, an enterprise its own."""
    session = request_session()
    visible = ratings.ratings_visible_to(current_actor()).where(CreditRating.id == rating_id)
    if session.scalars(visible).first() is None:
        raise NotFound("信用评价不存在 (rating not found)")
    stmt = (
        select(CreditSuspension).where(CreditSuspension.rating_id == rating_id).order_by(CreditSuspension.id)
    )
    return list(session.scalars(stmt))


@blp.route("/payment-standards", methods=["GET"])
@requires()
@blp.arguments(StandardQuerySchema, location="query")
@blp.response(200, StandardSchema)
def get_payment_standard(query: dict[str, Any]) -> Any:
    """支付标准 of a product at a pack price (vbp-rules.md §1.9); 404 when its variety has no winner."""
    session = request_session()
    product = session.get(Product, query["product_id"])
    if product is None:
        raise NotFound("产品不存在 (product not found)", fields={"product_id": ["不存在 (not found)"]})
    std = payment_standard.payment_standard(session, product, query["pack_price"], _supervision())
    if std is None:
        raise NotFound("该品种无中选产品，无支付标准 (no VBP winner for this variety)", code="no_standard")
    return std


@blp.route("/reports/fund-savings", methods=["GET"])
@requires(OrgKind.BUREAU, OrgKind.HOSPITAL)
@blp.arguments(SavingsQuerySchema, location="query")
@blp.doc(**file_responses("application/json", XLSX, description="基金节约 (fund savings)"))
def fund_savings_report(query: dict[str, Any]) -> Response:
    """Non-VBP purchases of a month below their payment standard, per hospital and product: the
    bureau sees every hospital, a hospital its own (可作为结余留用/激励依据)."""
    report = fund_savings.fund_savings(
        request_session(),
        current_actor(),
        month=query["month"],
        hospital_id=query.get("hospital_id"),
        settings=_supervision(),
    )
    if query["format"] == "xlsx":
        response = Response(savings_output.to_xlsx(report), mimetype=XLSX)
        response.headers["Content-Disposition"] = (
            f'attachment; filename="fund-savings-{report.month:%Y%m}.xlsx"'
        )
        return response
    return Response(
        json.dumps(savings_output.to_json(report), ensure_ascii=False), mimetype="application/json"
    )
