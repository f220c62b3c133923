"""Tendering: catalogue, batches and items, demand reports, sealed bids, opening, results, allocations,
credit ratings. Views: check role → validate → unit_of_work(service) → dump."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from flask_smorest.pagination import PaginationParameters
from marshmallow import fields
from sqlalchemy import select

from app import bid_sealer
from app.api.common import PAGE, paginate
from app.api.files import XLSX, download, file_responses, uploaded_table, validated_rows
from app.api.supervision_credit import LinkedRatingSchema, home_province, linked
from app.auth import WRITERS, current_actor, requires
from app.db import request_session, unit_of_work
from app.idempotency import idempotent
from app.replica import replica_reads
from bidding import batches, bids, catalogue, demand, opening, queries, ratings
from bidding.models import BatchItem, Bid, DemandReport, ProcurementBatch, Product, VolumeAllocation
from bidding.schemas import (
    AllocationSchema,
    BatchCreateSchema,
    BatchSchema,
    BidSchema,
    BidSubmitSchema,
    CreditRatingCreateSchema,
    CreditRatingSchema,
    DemandReportSchema,
    DemandRowSchema,
    DemandSchema,
    DemandTotalSchema,
    ExportQuerySchema,
    ItemCreateSchema,
    ItemSchema,
    NationalCodeSetSchema,
    ProductCreateSchema,
    ProductQuerySchema,
    ProductRowSchema,
    ProductSchema,
    ReceiptSchema,
    ResultsSchema,
    RulesUpdateSchema,
    TransitionSchema,
)
from core import clock
from core.actors import OrgKind, Role
from core.money import e4_to_decimal, fen_to_decimal
from core.organizations import Organization
from core.spreadsheets import Column, template_xlsx
from core.validation import BaseSchema
from ledger.supervision import credit_linkage

PREFIX = ""
blp = Blueprint("tendering", __name__, description="招标采购 (tendering)")
BUREAU_WRITERS = (Role.ADMIN, Role.OPERATOR)


class UploadSchema(BaseSchema):
    file = Upload(required=True, metadata={"description": "xlsx or csv"})


class OpeningSummarySchema(BaseSchema):
    batch_id = fields.Integer()
    items = fields.Integer()
    bids = fields.Integer()
    winners = fields.Integer()
    allocations = fields.Integer()


class ImportResultSchema(BaseSchema):
    created = fields.Integer()


PRODUCT_COLUMNS = (
    Column("category", ("类别", "category")),
    # 医保编码 stays accepted for the catalogue code: files written before national codes had it.
    Column("code", ("产品编码", "医保编码", "code")),
    Column("generic_name", ("通用名", "generic_name")),
    Column("dosage_form", ("剂型", "dosage_form")),
    Column("dosage_form_group", ("剂型组", "dosage_form_group")),
    Column("strength_value", ("含量", "strength_value")),
    Column("strength_unit", ("含量单位", "strength_unit")),
    Column("fill_volume_ml", ("装量(ml)", "fill_volume_ml"), required=False),
    Column("spec_text", ("规格", "spec_text")),
    Column("min_unit", ("最小单位", "min_unit")),
    Column("units_per_pack", ("包装数量", "units_per_pack")),
    Column("mah_uscc", ("上市许可持有人信用代码", "mah_uscc")),
    Column("originator", ("原研", "originator"), required=False),
    Column("reference_listed", ("参比制剂", "reference_listed"), required=False),
    Column("consistency_evaluated", ("通过一致性评价", "consistency_evaluated"), required=False),
    Column("registration_no", ("注册证编号", "registration_no"), required=False),
    Column("national_code", ("国家医保编码", "national_code"), required=False),
)
DEMAND_COLUMNS = (
    Column("item_id", ("品种ID", "item_id")),
    Column("quantity", ("年需求量", "quantity")),
    Column("region_code", ("地区代码", "region_code"), required=False),
    Column("brand_product_id", ("指定厂牌产品ID", "brand_product_id"), required=False),
)


# --- catalogue ---------------------------------------------------------------------------------


@blp.route("/products", methods=["GET"])
@requires()
@blp.arguments(ProductQuerySchema, location="query")
@blp.response(200, ProductSchema(many=True))
@blp.paginate(**PAGE)
def list_products(query: dict[str, Any], pagination_parameters: PaginationParameters) -> Any:
    """The catalogue (drugs and consumables)."""
    stmt = catalogue.products_visible_to(current_actor()).order_by(Product.id)
    for name in ("category", "generic_name", "mah_id"):
        if name in query:
            stmt = stmt.where(getattr(Product, name) == query[name])
    stmt = catalogue.search_products(
        stmt,
        national_code=query.get("national_code"),
        national_code_prefix=query.get("national_code_prefix"),
        q=query.get("q"),
    )
    return paginate(request_session(), stmt, pagination_parameters)


@blp.route("/products", methods=["POST"])
@requires(OrgKind.BUREAU, OrgKind.MANUFACTURER, roles=WRITERS)
@blp.arguments(ProductCreateSchema)
@blp.response(201, ProductSchema)
def create_product(data: dict[str, Any]) -> Any:
    """Register a product (bureau; a manufacturer for its own products)."""
    with unit_of_work() as session:
        return catalogue.create_product(session, current_actor(), data=data, now=clock.now())


@blp.route("/products/<int:product_id>", methods=["GET"])
@requires()
@blp.response(200, ProductSchema)
def get_product(product_id: int) -> Any:
    """One product."""
    return catalogue.get_product(request_session(), current_actor(), product_id)


@blp.route("/products/<int:product_id>/national-code", methods=["PUT"])
@requires(OrgKind.BUREAU, roles=WRITERS)
@blp.arguments(NationalCodeSetSchema)
@blp.response(200, ProductSchema)
def set_national_code(data: dict[str, Any], product_id: int) -> Any:
    """Set or correct a product's national code (bureau; each change is audited)."""
    with unit_of_work() as session:
        return catalogue.set_national_code(
            session, current_actor(), product_id, national_code=data["national_code"], now=clock.now()
        )


@blp.route("/products/import", methods=["POST"])
@requires(OrgKind.BUREAU, OrgKind.MANUFACTURER, roles=WRITERS)
@blp.arguments(UploadSchema, location="files")
@blp.response(201, ImportResultSchema)
def import_products(_files: dict[str, Any]) -> Any:
    """Import products from xlsx/CSV: all rows or none; every bad row is reported."""
    rows = validated_rows(uploaded_table(PRODUCT_COLUMNS), ProductRowSchema())
    with unit_of_work() as session:
        created = catalogue.import_products(session, current_actor(), rows=rows, now=clock.now())
    return {"created": len(created)}


@blp.route("/products/export", methods=["GET"])
@requires()
@blp.arguments(ExportQuerySchema, location="query")
@blp.doc(**file_responses(XLSX, "text/csv", description="产品目录 xlsx / CSV"))
@replica_reads
def export_products(query: dict[str, Any]) -> Response:
    """The catalogue as xlsx or CSV (same columns as the import)."""
    products = request_session().scalars(catalogue.products_visible_to(current_actor()).order_by(Product.id))
    headers = [c.headers[0] for c in PRODUCT_COLUMNS]
    fmt = "csv" if query["format"] == "csv" else "xlsx"
    return download(headers, catalogue.export_rows(products), fmt=fmt, filename="products", title="产品目录")


@blp.route("/products/template", methods=["GET"])
@requires()
@blp.doc(**file_responses(XLSX, description="导入模板 (import template)"))
def product_template() -> Response:
    """An empty xlsx template for the catalogue import."""
    response = Response(template_xlsx(PRODUCT_COLUMNS, title="产品目录"), mimetype=XLSX)
    response.headers["Content-Disposition"] = 'attachment; filename="products-template.xlsx"'
    return response


# --- batches and items -------------------------------------------------------------------------


@blp.route("/batches", methods=["GET"])
@requires()
@blp.response(200, BatchSchema(many=True))
@blp.paginate(**PAGE)
def list_batches(pagination_parameters: PaginationParameters) -> Any:
    """Procurement batches (drafts only for the bureau)."""
    stmt = batches.batches_visible_to(current_actor()).order_by(ProcurementBatch.id.desc())
    return paginate(request_session(), stmt, pagination_parameters)


@blp.route("/batches", methods=["POST"])
@requires(OrgKind.BUREAU, roles=BUREAU_WRITERS)
@blp.arguments(BatchCreateSchema)
@blp.response(201, BatchSchema)
def create_batch(data: dict[str, Any]) -> Any:
    """Create a draft batch from a rule-set preset (batch_4_9, batch_10, batch_11), optionally adjusted."""
    timeline = {k: data[k] for k in BatchCreateSchema.timeline_fields()}
    with unit_of_work() as session:
        return batches.create_batch(
            session,
            current_actor(),
            name=data["name"],
            category=data["category"],
            scope=data["scope"],
            rule_version=data["rule_version"],
            rule_overrides=data["rule_overrides"],
            timeline=timeline,
            now=clock.now(),
        )


@blp.route("/batches/<int:batch_id>", methods=["GET"])
@requires()
@blp.response(200, BatchSchema)
def get_batch(batch_id: int) -> Any:
    """One batch with its full rule set and timeline."""
    return batches.get_batch(request_session(), current_actor(), batch_id)


@blp.route("/batches/<int:batch_id>/rules", methods=["PATCH"])
@requires(OrgKind.BUREAU, roles=BUREAU_WRITERS)
@blp.arguments(RulesUpdateSchema)
@blp.response(200, BatchSchema)
def update_rules(data: dict[str, Any], batch_id: int) -> Any:
    """Adjust rule parameters (draft only)."""
    with unit_of_work() as session:
        return batches.update_rules(
            session, current_actor(), batch_id, overrides=data["rule_overrides"], now=clock.now()
        )


@blp.route("/batches/<int:batch_id>/transitions", methods=["POST"])
@requires(OrgKind.BUREAU, roles=BUREAU_WRITERS)
@blp.arguments(TransitionSchema)
@blp.response(200, BatchSchema)
def transition(data: dict[str, Any], batch_id: int) -> Any:
    """Move the batch along draft → demand_collection → bidding → sealed …; illegal moves are 409."""
    with unit_of_work() as session:
        return batches.transition(session, current_actor(), batch_id, to=data["to"], now=clock.now())


@blp.route("/batches/<int:batch_id>/items", methods=["GET"])
@requires()
@blp.response(200, ItemSchema(many=True))
def list_items(batch_id: int) -> Any:
    """The batch's varieties with representative specs and ceiling prices."""
    return batches.get_batch(request_session(), current_actor(), batch_id).items


@blp.route("/batches/<int:batch_id>/items", methods=["POST"])
@requires(OrgKind.BUREAU, roles=BUREAU_WRITERS)
@blp.arguments(ItemCreateSchema)
@blp.response(201, ItemSchema)
def add_item(data: dict[str, Any], batch_id: int) -> BatchItem:
    """Add a variety (draft only)."""
    with unit_of_work() as session:
        return batches.add_item(session, current_actor(), batch_id, data=data, now=clock.now())


# --- demand ------------------------------------------------------------------------------------


@blp.route("/batches/<int:batch_id>/demand", methods=["POST"])
@requires(OrgKind.HOSPITAL, roles=WRITERS)
@idempotent()
@blp.arguments(DemandReportSchema)
@blp.response(200, DemandSchema(many=True))
def report_demand(data: dict[str, Any], batch_id: int) -> Any:
    """Report (or correct) annual demand; lines for the same item/region/brand replace earlier ones."""
    lines = [demand.DemandLine(**line) for line in data["lines"]]
    with unit_of_work() as session:
        return demand.report_demand(session, current_actor(), batch_id, lines=lines, now=clock.now())


@blp.route("/batches/<int:batch_id>/demand/upload", methods=["POST"])
@requires(OrgKind.HOSPITAL, roles=WRITERS)
@blp.arguments(UploadSchema, location="files")
@blp.response(200, DemandSchema(many=True))
def upload_demand(_files: dict[str, Any], batch_id: int) -> Any:
    """Report demand from xlsx/CSV (columns 品种ID, 年需求量, 地区代码, 指定厂牌产品ID); all rows or none."""
    rows = validated_rows(uploaded_table(DEMAND_COLUMNS), DemandRowSchema())
    lines = [demand.DemandLine(**data) for _, data in rows]
    with unit_of_work() as session:
        return demand.report_demand(
            session, current_actor(), batch_id, lines=lines, now=clock.now(), row_numbers=[n for n, _ in rows]
        )


@blp.route("/batches/<int:batch_id>/demand", methods=["GET"])
@requires(OrgKind.BUREAU, OrgKind.HOSPITAL)
@blp.response(200, DemandSchema(many=True))
@blp.paginate(**PAGE)
def list_demand(batch_id: int, pagination_parameters: PaginationParameters) -> Any:
    """Demand reports: a hospital's own, or all for the bureau."""
    session, actor = request_session(), current_actor()
    batch = batches.get_batch(session, actor, batch_id)
    stmt = demand.demand_visible_to(actor).where(DemandReport.batch_id == batch.id).order_by(DemandReport.id)
    return paginate(session, stmt, pagination_parameters)


@blp.route("/batches/<int:batch_id>/demand/totals", methods=["GET"])
@requires(OrgKind.BUREAU)
@blp.response(200, DemandTotalSchema(many=True))
def demand_totals(batch_id: int) -> Any:
    """Reported demand per item and region (the base of the agreed volumes)."""
    return demand.demand_totals(request_session(), current_actor(), batch_id)


# --- bids --------------------------------------------------------------------------------------


@blp.route("/batches/<int:batch_id>/bids", methods=["POST"])
@requires(OrgKind.MANUFACTURER, roles=WRITERS)
@idempotent()
@blp.arguments(BidSubmitSchema)
@blp.response(201, ReceiptSchema)
def submit_bid(data: dict[str, Any], batch_id: int) -> Any:
    """Submit or replace the sealed bid for an item; the receipt's digest and salt let you check the
    opened bid later. The price is never returned before the opening."""
    with unit_of_work() as session:
        return bids.submit_bid(
            session,
            current_actor(),
            batch_id,
            item_id=data["item_id"],
            product_id=data["product_id"],
            pack_price_fen=data["pack_price"],
            accepts_revival=data["accepts_revival"],
            province=current_app.config["VBP"].province_code,
            sealer=bid_sealer(),
            now=clock.now(),
        )


@blp.route("/batches/<int:batch_id>/bids", methods=["GET"])
@requires(OrgKind.BUREAU, OrgKind.MANUFACTURER)
@blp.response(200, BidSchema(many=True))
@blp.paginate(**PAGE)
def list_bids(batch_id: int, pagination_parameters: PaginationParameters) -> Any:
    """Bid records without prices: a manufacturer's own, all for the bureau."""
    session, actor = request_session(), current_actor()
    batch = batches.get_batch(session, actor, batch_id)
    stmt = bids.bids_visible_to(actor).where(Bid.batch_id == batch.id).order_by(Bid.id)
    return paginate(session, stmt, pagination_parameters)


@blp.route("/bids/<int:bid_id>", methods=["DELETE"])
@requires(OrgKind.MANUFACTURER, roles=WRITERS)
@blp.response(200, BidSchema)
def withdraw_bid(bid_id: int) -> Any:
    """Withdraw an active bid before the deadline."""
    with unit_of_work() as session:
        return bids.withdraw_bid(session, current_actor(), bid_id, now=clock.now())


# --- opening, results, allocations -------------------------------------------------------------


@blp.route("/batches/<int:batch_id>/open", methods=["POST"])
@requires(OrgKind.BUREAU, roles=BUREAU_WRITERS)
@blp.response(200, OpeningSummarySchema)
def open_batch(batch_id: int) -> Any:
    """Open the sealed bids (at or after the opening time), select winners and allocate volumes."""
    with unit_of_work() as session:
        return opening.open_bids(session, current_actor(), batch_id, sealer=bid_sealer(), now=clock.now())


@blp.route("/batches/<int:batch_id>/publish", methods=["POST"])
@requires(OrgKind.BUREAU, roles=BUREAU_WRITERS)
@blp.response(200, BatchSchema)
def publish(batch_id: int) -> Any:
    """Propose the opened results for the publicity period (公示, VBP_PUBLICITY_DAYS or the batch's
    own); they become published when it ends with no open objection (/api/v1/proposals)."""
    days = current_app.config["VBP"].publicity_days
    with unit_of_work() as session:
        return opening.publish_results(session, current_actor(), batch_id, now=clock.now(), days=days)


@blp.route("/batches/<int:batch_id>/results", methods=["GET"])
@requires()
@blp.response(200, ResultsSchema)
def results(batch_id: int) -> Any:
    """Opening results visible to the caller (see bidding/queries.py for who sees what)."""
    return queries.results_for(request_session(), current_actor(), batch_id)


@blp.route("/batches/<int:batch_id>/results/export", methods=["GET"])
@requires()
@blp.arguments(ExportQuerySchema, location="query")
@blp.doc(**file_responses(XLSX, "text/csv", "application/json", description="中选结果 (results)"))
@replica_reads
def export_results(query: dict[str, Any], batch_id: int) -> Response:
    """Results as xlsx (winners) or JSON (the full record the caller may see)."""
    data = queries.results_for(request_session(), current_actor(), batch_id)
    if query["format"] == "json":
        body = json.dumps(ResultsSchema().dump(data), ensure_ascii=False, indent=2)
        response = Response(body, mimetype="application/json")
        response.headers["Content-Disposition"] = f'attachment; filename="batch-{batch_id}-results.json"'
        return response
    items = _item_names(batch_id)
    headers = [
        "品种ID",
        "品种名称",
        "排名",
        "中选企业",
        "产品ID",
        "产品名称",
        "中选途径",
        "单位可比价",
        "单价",
        "包装价格",
    ]
    rows = [
        [
            a.item_id,
            items.get(a.item_id, ""),
            a.rank,
            a.manufacturer.name,
            a.product_id,
            _product_name(a.product),
            a.route,
            e4_to_decimal(a.comparable_e4),
            e4_to_decimal(a.unit_price_e4),
            fen_to_decimal(a.pack_price_fen),
        ]
        for a in data.awards
    ]
    return download(
        headers, rows, fmt=query["format"], filename=f"batch-{batch_id}-results", title="中选结果"
    )


@blp.route("/batches/<int:batch_id>/allocations", methods=["GET"])
@requires()
@blp.response(200, AllocationSchema(many=True))
@blp.paginate(**PAGE)
def list_allocations(batch_id: int, pagination_parameters: PaginationParameters) -> Any:
    """Agreed volumes: per hospital, item and supplier, with the winning price."""
    session = request_session()
    stmt = queries.allocations_visible_to(session, current_actor(), batch_id).order_by(VolumeAllocation.id)
    return paginate(session, stmt, pagination_parameters)


@blp.route("/batches/<int:batch_id>/allocations/export", methods=["GET"])
@requires()
@blp.arguments(ExportQuerySchema, location="query")
@blp.doc(**file_responses(XLSX, "text/csv", "application/json", description="约定采购量 (allocations)"))
@replica_reads
def export_allocations(query: dict[str, Any], batch_id: int) -> Response:
    """Agreed volumes as xlsx/CSV or JSON."""
    session = request_session()
    allocations = session.scalars(
        queries.allocations_visible_to(session, current_actor(), batch_id).order_by(VolumeAllocation.id)
    ).all()
    if query["format"] == "json":
        body = json.dumps(AllocationSchema(many=True).dump(allocations), ensure_ascii=False, indent=2)
        return Response(body, mimetype="application/json")
    headers = [
        "品种ID",
        "品种名称",
        "医疗机构ID",
        "医疗机构名称",
        "地区",
        "中选企业ID",
        "中选企业名称",
        "产品ID",
        "产品名称",
        "报量",
        "约定采购量",
        "指定厂牌",
        "单价",
        "包装价格",
    ]
    items = _item_names(batch_id)
    hospitals = dict(
        session.execute(
            select(Organization.id, Organization.name).where(
                Organization.id.in_({a.hospital_id for a in allocations})
            )
        ).all()
    )
    rows = [
        [
            a.item_id,
            items.get(a.item_id, ""),
            a.hospital_id,
            hospitals.get(a.hospital_id, ""),
            a.region_code,
            a.award.manufacturer_id,
            a.award.manufacturer.name,
            a.award.product_id,
            _product_name(a.award.product),
            a.base_quantity,
            a.agreed_quantity,
            a.brand_specific,
            e4_to_decimal(a.award.unit_price_e4),
            fen_to_decimal(a.award.pack_price_fen),
        ]
        for a in allocations
    ]
    totals: list[Any] = ["合计", *[""] * (len(headers) - 1)]
    for column in ("报量", "约定采购量"):
        totals[headers.index(column)] = sum(row[headers.index(column)] for row in rows)
    return download(
        headers,
        rows,
        fmt=query["format"],
        filename=f"batch-{batch_id}-allocations",
        title="约定采购量",
        totals=totals,
    )


def _item_names(batch_id: int) -> dict[int, str]:
    """The batch's varieties by id (the caller's exports already passed the batch's visibility)."""
    stmt = select(BatchItem.id, BatchItem.generic_name).where(BatchItem.batch_id == batch_id)
    return dict(request_session().execute(stmt).all())


def _product_name(product: Product) -> str:
    return f"{product.generic_name} {product.spec_text}"


# --- credit ratings ----------------------------------------------------------------------------


@blp.route("/credit-ratings", methods=["POST"])
@requires(OrgKind.BUREAU, roles=BUREAU_WRITERS)
@idempotent()
@blp.arguments(CreditRatingCreateSchema)
@blp.response(201, LinkedRatingSchema)
def record_rating(data: dict[str, Any]) -> Any:
    """Record a credit rating; the grade follows from cause and amount (2025 table), and the
    listings or distribution rights it requires are suspended at once (credit linkage, §7)."""
    with unit_of_work() as session:
        done = credit_linkage.record_rating(
            session,
            current_actor(),
            home_province=home_province(),
            enterprise_id=data["enterprise_id"],
            province_code=data["province_code"],
            cause=data["cause"],
            amount_fen=data["amount"],
            product_ids=data["product_ids"],
            effective_on=data["effective_on"],
            now=clock.now(),
        )
        return linked(done)


@blp.route("/credit-ratings", methods=["GET"])
@requires(OrgKind.BUREAU, OrgKind.MANUFACTURER, OrgKind.DISTRIBUTOR)
@blp.response(200, CreditRatingSchema(many=True))
@blp.paginate(**PAGE)
def list_ratings(pagination_parameters: PaginationParameters) -> Any:
    """Ratings: all for the bureau, an enterprise's own."""
    from bidding.models import CreditRating

    stmt = ratings.ratings_visible_to(current_actor()).order_by(CreditRating.id)
    return paginate(request_session(), stmt, pagination_parameters)
