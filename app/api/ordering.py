"""Ordering: listings (three modes), distribution authorizations, reference prices, hospital
orders (API with Idempotency-Key, or xlsx/CSV upload), agreed-volume progress, off-platform purchases."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_smorest import Blueprint
from flask_smorest.pagination import PaginationParameters

from app.api.common import PAGE, paginate
from app.api.files import uploaded_table, validated_rows
from app.api.tendering import UploadSchema
from app.auth import WRITERS, current_actor, requires
from app.db import request_session, unit_of_work
from app.idempotency import idempotent
from app.order_upload import KIND as ORDER_UPLOAD
from app.order_upload import ORDER_COLUMNS, import_orders, upload_params
from app.upload_jobs import above_threshold_as_job
from core import clock
from core.actors import OrgKind
from core.errors import ValidationFailed
from core.spreadsheets import Column
from ledger import queries
from ledger.models import DistributionAuthorization, Listing, OffPlatformPurchase, Order, ReferencePrice
from ledger.order_views import order_view, order_views, where_status
from ledger.schemas import (
    AuthorizationCreateSchema,
    AuthorizationSchema,
    FiledPurchaseSchema,
    ListingQuerySchema,
    ListingSchema,
    ListingStatusSchema,
    OffPlatformCreateSchema,
    OffPlatformRowSchema,
    OffPlatformSchema,
    OrderCreateSchema,
    OrderQuerySchema,
    OrderSchema,
    OrderSummarySchema,
    PriceLinkedApplySchema,
    ProgressQuerySchema,
    ProgressSchema,
    ReferencePriceCreateSchema,
    ReferencePriceSchema,
)
from ledger.services import authorizations, listings, ordering, purchases
from ledger.supervision import supply
from ledger.supervision.listing_facts import annotate

PREFIX = ""
blp = Blueprint("ordering", __name__, description="挂网与订单 (listings and orders)")


def deadlines() -> Any:
    return current_app.config["VBP"].delivery_deadlines()


# --- listings ----------------------------------------------------------------------------------


@blp.route("/listings", methods=["GET"])
@requires()
@blp.arguments(ListingQuerySchema, location="query")
@blp.response(200, ListingSchema(many=True))
@blp.paginate(**PAGE)
def list_listings(query: dict[str, Any], pagination_parameters: PaginationParameters) -> Any:
    """Listings the caller may see (hospitals: what they may order, with prices)."""
    stmt = listings.listings_visible_to(current_actor()).order_by(Listing.id)
    for name in ("mode", "status", "product_id", "region_code"):
        if name in query:
            stmt = stmt.where(getattr(Listing, name) == query[name])
    rows = paginate(request_session(), stmt, pagination_parameters)
    annotate(request_session(), rows, current_app.config["VBP"].supervision)  # credit grade, 支付标准
    return rows


@blp.route("/batches/<int:batch_id>/listings", methods=["POST"])
@requires(OrgKind.BUREAU, roles=WRITERS)
@blp.response(201, ListingSchema(many=True))
def create_vbp_listings(batch_id: int) -> Any:
    """List the batch's winners at their winning prices in their supply regions (repeatable)."""
    with unit_of_work() as session:
        return listings.create_vbp_listings(session, current_actor(), batch_id, now=clock.now())


@blp.route("/listings/price-linked", methods=["POST"])
@requires(OrgKind.MANUFACTURER, roles=WRITERS)
@idempotent()
@blp.arguments(PriceLinkedApplySchema)
@blp.response(201, ListingSchema)
def apply_price_linked(data: dict[str, Any]) -> Any:
    """价格联动挂网: apply with a price; refused above a cap, flagged above the lowest reference."""
    with unit_of_work() as session:
        return listings.apply_price_linked(
            session,
            current_actor(),
            product_id=data["product_id"],
            region_code=data["region_code"],
            pack_price_fen=data["pack_price"],
            now=clock.now(),
        )


@blp.route("/listings/filed", methods=["POST"])
@requires(OrgKind.HOSPITAL, roles=WRITERS)
@idempotent()
@blp.arguments(FiledPurchaseSchema)
@blp.response(201, ListingSchema)
def file_purchase(data: dict[str, Any]) -> Any:
    """备案采购: file an off-list or urgent purchase with its reason and negotiated price."""
    with unit_of_work() as session:
        return listings.file_purchase(
            session,
            current_actor(),
            product_id=data["product_id"],
            pack_price_fen=data["pack_price"],
            reason=data["reason"],
            now=clock.now(),
        )


@blp.route("/listings/<int:listing_id>/status", methods=["POST"])
@requires(OrgKind.BUREAU, roles=WRITERS)
@blp.arguments(ListingStatusSchema)
@blp.response(200, ListingSchema)
def change_listing_status(data: dict[str, Any], listing_id: int) -> Any:
    """Suspend, delist or relist; new orders stop at once, placed orders still ship."""
    with unit_of_work() as session:
        return listings.change_listing_status(
            session, current_actor(), listing_id, to=data["to"], reason=data["reason"], now=clock.now()
        )


@blp.route("/reference-prices", methods=["POST"])
@requires(OrgKind.BUREAU, roles=WRITERS)
@blp.arguments(ReferencePriceCreateSchema)
@blp.response(201, ReferencePriceSchema)
def add_reference_price(data: dict[str, Any]) -> Any:
    """Record a reference price (other provinces' lowest listing, provincial reference)."""
    with unit_of_work() as session:
        return listings.add_reference_price(
            session,
            current_actor(),
            product_id=data["product_id"],
            pack_price_fen=data["pack_price"],
            source=data["source"],
            valid_on=data["valid_on"],
            now=clock.now(),
        )


@blp.route("/reference-prices", methods=["GET"])
@requires(OrgKind.BUREAU)
@blp.response(200, ReferencePriceSchema(many=True))
@blp.paginate(**PAGE)
def list_reference_prices(pagination_parameters: PaginationParameters) -> Any:
    """Reference prices held by the platform (bureau)."""
    from sqlalchemy import select

    return paginate(
        request_session(), select(ReferencePrice).order_by(ReferencePrice.id), pagination_parameters
    )


# --- distribution authorizations ---------------------------------------------------------------


@blp.route("/distribution-authorizations", methods=["POST"])
@requires(OrgKind.MANUFACTURER, roles=WRITERS)
@blp.arguments(AuthorizationCreateSchema)
@blp.response(201, AuthorizationSchema)
def authorize(data: dict[str, Any]) -> Any:
    """Authorize a distributor for a product (or all products) in a region."""
    with unit_of_work() as session:
        return authorizations.authorize_distributor(session, current_actor(), now=clock.now(), **data)


@blp.route("/distribution-authorizations", methods=["GET"])
@requires()
@blp.response(200, AuthorizationSchema(many=True))
@blp.paginate(**PAGE)
def list_authorizations(pagination_parameters: PaginationParameters) -> Any:
    """Distribution authorizations (published to hospitals; an enterprise sees its own)."""
    stmt = authorizations.authorizations_visible_to(current_actor()).order_by(DistributionAuthorization.id)
    return paginate(request_session(), stmt, pagination_parameters)


@blp.route("/distribution-authorizations/<int:authorization_id>", methods=["DELETE"])
@requires(OrgKind.MANUFACTURER, OrgKind.BUREAU, roles=WRITERS)
@blp.response(200, AuthorizationSchema)
def revoke(authorization_id: int) -> Any:
    """End an authorization."""
    with unit_of_work() as session:
        return authorizations.revoke_authorization(
            session, current_actor(), authorization_id, now=clock.now()
        )


# --- orders ------------------------------------------------------------------------------------


@blp.route("/orders", methods=["POST"])
@requires(OrgKind.HOSPITAL, roles=WRITERS)
@idempotent()
@blp.arguments(OrderCreateSchema)
@blp.response(201, OrderSchema)
def place_order(data: dict[str, Any]) -> Any:
    """Place an order with one distributor. Send an Idempotency-Key header: a retried request
    returns the first order and creates nothing."""
    lines = [ordering.LineRequest(**line) for line in data["lines"]]
    with unit_of_work() as session:
        return ordering.place_orders(
            session,
            current_actor(),
            distributor_id=data["distributor_id"],
            lines=lines,
            urgency=data["urgency"],
            note=data["note"],
            now=clock.now(),
            deadlines=deadlines(),
        )


@blp.route("/orders/upload", methods=["POST"])
@requires(OrgKind.HOSPITAL, roles=WRITERS)
@above_threshold_as_job(
    ORDER_COLUMNS,
    ORDER_UPLOAD,
    lambda actor, filename, digest: upload_params(actor, filename=filename, sha256=digest, now=clock.now()),
)
@idempotent()
@blp.arguments(UploadSchema, location="files")
@blp.response(201, OrderSummarySchema(many=True))
@blp.alt_response(202, description="后台任务 (a background job: more rows than VBP_UPLOAD_JOB_ROWS)")
def upload_orders(_files: dict[str, Any]) -> Any:
    """Orders from xlsx/CSV (挂网ID or 院内编码/国家医保编码, 数量, 配送企业ID, 紧急程度): an item
    code is resolved through the hospital's item-code mapping. One order per distributor and
    urgency; every bad row is reported and nothing is written unless all rows are good. More
    rows than VBP_UPLOAD_JOB_ROWS: 202 with a background job doing the same import on a worker."""
    table = uploaded_table(ORDER_COLUMNS)
    with unit_of_work() as session:
        return import_orders(session, current_actor(), table, now=clock.now(), deadlines=deadlines())


@blp.route("/orders", methods=["GET"])
@requires()
@blp.arguments(OrderQuerySchema, location="query")
@blp.response(200, OrderSchema(many=True))
@blp.paginate(**PAGE)
def list_orders(query: dict[str, Any], pagination_parameters: PaginationParameters) -> Any:
    """Orders the caller may see: a hospital its own, a distributor those addressed to it,
    a manufacturer those for its products, the bureau all."""
    actor, session = current_actor(), request_session()
    stmt = ordering.orders_visible_to(actor).order_by(Order.id.desc())
    if "status" in query:
        stmt = where_status(stmt, actor, query["status"])
    return order_views(session, actor, paginate(session, stmt, pagination_parameters))


@blp.route("/orders/<int:order_id>", methods=["GET"])
@requires()
@blp.response(200, OrderSchema)
def get_order(order_id: int) -> Any:
    """One order with the lines the caller is a party to (a manufacturer: its products' lines only;
    404 for another organization's order). The distributor's first open is recorded (first read)."""
    session, actor = request_session(), current_actor()
    order = ordering.get_order(session, actor, order_id)
    if actor.org_kind is OrgKind.DISTRIBUTOR and order.first_read_at is None:
        with unit_of_work(session):
            supply.note_first_read(session, actor, order, now=clock.now())
    return order_view(session, actor, order)


# --- agreed-volume progress and off-platform purchases -----------------------------------------


@blp.route("/agreed-volume-progress", methods=["GET"])
@requires()
@blp.arguments(ProgressQuerySchema, location="query")
@blp.response(200, ProgressSchema(many=True))
def progress(query: dict[str, Any]) -> Any:
    """Agreed volume vs completed units and time elapsed, per hospital and award, in the cycle year
    containing the day judged (default today), as of that day."""
    on = query.pop("on", None) or clock.business_date(clock.now())
    return queries.agreed_volume_progress(request_session(), current_actor(), on=on, **query)


@blp.route("/off-platform-purchases", methods=["POST"])
@requires(OrgKind.HOSPITAL, roles=WRITERS)
@blp.arguments(OffPlatformCreateSchema)
@blp.response(200, OffPlatformSchema)
def report_off_platform(data: dict[str, Any]) -> Any:
    """Report (or correct) a month's off-platform purchase amount by category."""
    with unit_of_work() as session:
        return purchases.report_off_platform(
            session,
            current_actor(),
            month=data["month"],
            category=data["category"],
            amount_fen=data["amount"],
            now=clock.now(),
        )


OFF_PLATFORM_COLUMNS = (
    Column("month", ("月份", "month")),
    Column("category", ("类别", "category")),
    Column("amount", ("金额(元)", "金额", "amount")),
)


@blp.route("/off-platform-purchases/upload", methods=["POST"])
@requires(OrgKind.HOSPITAL, roles=WRITERS)
@blp.arguments(UploadSchema, location="files")
@blp.response(200, OffPlatformSchema(many=True))
def upload_off_platform(_files: dict[str, Any]) -> Any:
    """Off-platform amounts from xlsx/CSV (月份, 类别, 金额); all rows or none."""
    rows = validated_rows(uploaded_table(OFF_PLATFORM_COLUMNS), OffPlatformRowSchema())
    now, saved, errors = clock.now(), [], {}
    with unit_of_work() as session:
        for number, row in rows:
            try:
                with session.begin_nested():
                    saved.append(
                        purchases.report_off_platform(
                            session,
                            current_actor(),
                            month=row["month"],
                            category=row["category"],
                            amount_fen=row["amount"],
                            now=now,
                        )
                    )
            except ValidationFailed as exc:
                errors.update({f"row {number}.{name}": messages for name, messages in exc.fields.items()})
        if errors:
            raise ValidationFailed("表格有误，未写入任何数据 (nothing was written)", fields=errors)
        return saved


@blp.route("/off-platform-purchases", methods=["GET"])
@requires(OrgKind.BUREAU, OrgKind.HOSPITAL)
@blp.response(200, OffPlatformSchema(many=True))
@blp.paginate(**PAGE)
def list_off_platform(pagination_parameters: PaginationParameters) -> Any:
    """Off-platform amounts: a hospital's own, all for the bureau."""
    stmt = purchases.off_platform_visible_to(current_actor()).order_by(OffPlatformPurchase.id)
    return paginate(request_session(), stmt, pagination_parameters)
