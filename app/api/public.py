"""Public disclosure API (信息公开, no login; read-only): published results, listings, the credit
list, notices, OCDS 1.1 open data and the sharing files. The same data as the public pages
(app/public), from ledger/disclosure.py; rate-limited per client and cached by URL
(app/public/guard.py). No session or credential is read on these routes."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Response, abort, current_app
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from app.api.files import XLSX, file_responses
from app.db import request_session
from app.public.guard import cached, paging, query_text
from core import clock
from core.validation import UnitPrice, Yuan
from ledger import disclosure, public_proposals
from ledger.supervision import sharing
from reports import ocds

PREFIX = "/public"
blp = Blueprint(
    "public_api",
    __name__,
    description="信息公开与开放数据，无需登录 (public disclosure and open data, no login)",
)
PAGING = {"page": "页码，从1开始 (page, from 1)", "page_size": "每页条数 (rows per page)"}


class PublicPageSchema(Schema):
    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer()


class PublicBatchSummarySchema(Schema):
    id = fields.Integer()
    name = fields.String()
    category = fields.String()
    scope = fields.String()
    status = fields.String()
    published_at = fields.DateTime()
    cycle_start_on = fields.Date()
    cycle_end_on = fields.Date()


class PublicBatchPageSchema(PublicPageSchema):
    items = fields.List(fields.Nested(PublicBatchSummarySchema))


class PublicRegionSchema(Schema):
    code = fields.String()
    name = fields.String()


class PublicWinnerSchema(Schema):
    manufacturer = fields.String()
    manufacturer_uscc = fields.String()
    product_code = fields.String()
    product_name = fields.String()
    spec = fields.String()
    rank = fields.Integer()
    unit_price = UnitPrice(attribute="unit_price_e4", metadata={"description": "中选价/最小单位，元"})
    pack_price = Yuan(attribute="pack_price_fen", metadata={"description": "中选价/包装，元"})
    primary_regions = fields.List(fields.Nested(PublicRegionSchema))
    backup_regions = fields.List(fields.Nested(PublicRegionSchema))


class PublicItemOutcomeSchema(Schema):
    generic_name = fields.String()
    dosage_form_group = fields.String()
    representative_spec = fields.String()
    ceiling_unit_price = UnitPrice(attribute="ceiling_e4")
    agreed_total = fields.Integer(metadata={"description": "全省约定采购量合计（最小单位）"})
    winners = fields.List(fields.Nested(PublicWinnerSchema))


class PublicBatchResultsSchema(Schema):
    batch = fields.Nested(PublicBatchSummarySchema)
    items = fields.List(fields.Nested(PublicItemOutcomeSchema))


class PublicProposedWinnerSchema(Schema):
    manufacturer = fields.String()
    product_code = fields.String()
    spec = fields.String()
    rank = fields.Integer()
    unit_price = fields.String(metadata={"description": "拟中选价/最小单位，元 (4 decimals)"})
    pack_price = fields.String(metadata={"description": "拟中选价/包装，元"})
    primary_regions = fields.List(fields.Nested(PublicRegionSchema))
    backup_regions = fields.List(fields.Nested(PublicRegionSchema))


class PublicProposedItemSchema(Schema):
    generic_name = fields.String()
    winners = fields.List(fields.Nested(PublicProposedWinnerSchema))


class PublicProposalSchema(Schema):
    batch_name = fields.String()
    seq = fields.Integer(metadata={"description": "第几次公示 (1, then 2 after a sustained objection …)"})
    kind = fields.String(metadata={"description": "results | backup"})
    period_starts_at = fields.DateTime()
    period_ends_at = fields.DateTime(metadata={"description": "公示截止，异议须在此前提出"})
    items = fields.List(fields.Nested(PublicProposedItemSchema))


class PublicProposalPageSchema(PublicPageSchema):
    items = fields.List(fields.Nested(PublicProposalSchema))


class PublicListingSchema(Schema):
    product_code = fields.String()
    product_name = fields.String()
    dosage_form = fields.String()
    spec = fields.String()
    manufacturer = fields.String()
    region_code = fields.String()
    region = fields.String()
    mode = fields.String()
    supply_role = fields.String(allow_none=True)
    pack_price = Yuan(attribute="pack_price_fen")
    price_risk = fields.String(allow_none=True)
    shortage = fields.Boolean()


class PublicListingPageSchema(PublicPageSchema):
    items = fields.List(fields.Nested(PublicListingSchema))


class PublicRatingSchema(Schema):
    enterprise = fields.String()
    enterprise_uscc = fields.String()
    province_code = fields.String()
    grade = fields.String()
    cause = fields.String()
    effective_on = fields.Date()
    repaired_on = fields.Date(allow_none=True)
    state = fields.String(metadata={"description": "in_force | repaired"})
    products = fields.List(fields.String())


class PublicRatingPageSchema(PublicPageSchema):
    items = fields.List(fields.Nested(PublicRatingSchema))


class PublicNoticeSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    body = fields.String()
    published_at = fields.DateTime()


class PublicNoticePageSchema(PublicPageSchema):
    items = fields.List(fields.Nested(PublicNoticeSchema))


def _paged(found: disclosure.Page) -> dict[str, Any]:
    return {"items": found.items, "page": found.page, "page_size": found.page_size, "total": found.total}


def _type(name: str) -> str:
    return "integer" if name.startswith("page") else "string"


def _query_doc(*extra: tuple[str, str]) -> dict[str, Any]:
    names = [*PAGING.items(), *extra]
    return {
        "parameters": [
            {
                "in": "query",
                "name": n,
                "description": d,
                "schema": {"type": "integer" if n.startswith("page") else "string"},
            }
            for n, d in names
        ]
    }


@blp.route("/batches", methods=["GET"])
@cached
@blp.doc(**_query_doc())
@blp.response(200, PublicBatchPageSchema)
def batches() -> Any:
    """Batches whose results are published (a bad page or page_size is a 400 naming it)."""
    page, size = paging()
    return _paged(disclosure.batch_page(request_session(), page=page, page_size=size))


@blp.route("/batches/<int:batch_id>", methods=["GET"])
@cached
@blp.response(200, PublicBatchResultsSchema)
def batch(batch_id: int) -> Any:
    """A published batch: items, ceiling prices, winners, winning prices and supply regions."""
    results = disclosure.batch_results(request_session(), batch_id)
    if results is None:
        abort(404)
    return asdict(results)


@blp.route("/proposals", methods=["GET"])
@cached
@blp.doc(**_query_doc())
@blp.response(200, PublicProposalPageSchema)
def proposals() -> Any:
    """Proposed results in their publicity period (公示): winners, prices, regions, period end."""
    page, size = paging()
    found = public_proposals.proposal_page(request_session(), now=clock.now(), page=page, page_size=size)
    return _paged(found)


@blp.route("/listings", methods=["GET"])
@cached
@blp.doc(**_query_doc(("q", "通用名或企业名称 (generic or enterprise name)")))
@blp.response(200, PublicListingPageSchema)
def listings() -> Any:
    """Listed products hospitals may order, with price and price-risk level."""
    page, size = paging()
    found = disclosure.listing_page(request_session(), page=page, page_size=size, query=query_text())
    return _paged(found)


@blp.route("/credit-ratings", methods=["GET"])
@cached
@blp.doc(**_query_doc())
@blp.response(200, PublicRatingPageSchema)
def credit_ratings() -> Any:
    """失信名单: ratings in force or repaired, with the repair state (no case amounts)."""
    page, size = paging()
    today = clock.business_date(clock.now())
    return _paged(disclosure.rating_page(request_session(), today=today, page=page, page_size=size))


@blp.route("/notices", methods=["GET"])
@cached
@blp.doc(**_query_doc())
@blp.response(200, PublicNoticePageSchema)
def notices() -> Any:
    """Published notices, newest first."""
    page, size = paging()
    return _paged(disclosure.notice_page(request_session(), page=page, page_size=size))


@blp.route("/notices/<int:notice_id>", methods=["GET"])
@cached
@blp.response(200, PublicNoticeSchema)
def notice(notice_id: int) -> Any:
    """One published notice."""
    found = disclosure.public_notice(request_session(), notice_id)
    if found is None:
        abort(404)
    return found


# --- open data: OCDS 1.1 ----------------------------------------------------------------------------


def publisher() -> ocds.Publisher:
    config = current_app.config["VBP"]
    return ocds.Publisher(prefix=config.ocds_prefix, base_uri=f"{config.public_url}/api/v1/public/ocds")


@blp.route("/ocds/batches/<int:batch_id>/<string:stage>", methods=["GET"])
@cached
@blp.doc(**file_responses("application/json", description="OCDS 1.1 release package"))
def ocds_stage(batch_id: int, stage: str) -> Any:
    """A published batch's OCDS 1.1 release package for one stage (`record`: the record package
    with the compiled release). Stages served here: VBP_OCDS_PUBLIC_STAGES."""
    public = current_app.config["VBP"].ocds_public_stages
    session, now = request_session(), clock.now()
    if stage == "record":
        package = ocds.record_package(session, batch_id, public, publisher=publisher(), published=now)
    elif stage in public:
        package = ocds.release_package(session, batch_id, stage, publisher=publisher(), published=now)
    else:
        package = None
    if package is None:
        abort(404)
    return package


# --- sharing between platforms ---------------------------------------------------------------------


def _xlsx(data: bytes, name: str) -> Response:
    response = Response(data, mimetype=XLSX)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return response


@blp.route("/sharing/prices.xlsx", methods=["GET"])
@cached
@blp.doc(**file_responses(XLSX, description="挂网价格，外省挂网价导入格式"))
def shared_prices() -> Response:
    """This platform's listed prices in the file another platform's other-province price import
    reads (same columns and headers)."""
    province = current_app.config["VBP"].province_code
    return _xlsx(sharing.price_file(request_session(), province_code=province), "listed-prices")


@blp.route("/sharing/shortage.xlsx", methods=["GET"])
@cached
@blp.doc(**file_responses(XLSX, description="短缺药品清单，导入格式"))
def shared_shortage() -> Response:
    """The shortage-prone list held here, in the file the shortage-list import reads."""
    return _xlsx(sharing.shortage_file(request_session()), "shortage-list")


# --- the audit trail's daily roots --------------------------------------------------------------


class PublicAuditRootSchema(Schema):
    day = fields.Date()
    root_hash = fields.String(metadata={"description": "日根：本日各通道链头的摘要 (SHA-256 或 SM3)"})
    prev_root_hash = fields.String(metadata={"description": "前一日根（首个日根为64个0）"})
    heads = fields.List(
        fields.List(fields.Raw()), metadata={"description": "各通道链头 [通道, 序号, 哈希] (lane, seq, hash)"}
    )
    suite = fields.String()
    created_at = fields.DateTime()


class PublicAuditRootPageSchema(PublicPageSchema):
    items = fields.List(fields.Nested(PublicAuditRootSchema))


@blp.route("/audit-roots", methods=["GET"])
@cached
@blp.doc(**_query_doc())
@blp.response(200, PublicAuditRootPageSchema)
def audit_roots() -> Any:
    """The audit trail's daily roots, newest first: each day's digest over every lane head,
    chained to the day before (core/audit_roots.py); `flask audit verify` checks them."""
    from core.audit_roots import root_page

    page, size = paging()
    items, total = root_page(request_session(), page=page, page_size=size)
    return {"items": items, "page": page, "page_size": size, "total": total}
