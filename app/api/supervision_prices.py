"""Price governance and the shortage list (issue 18 items 2 and 4): other provinces' listed prices
(import bureau-only; the prices themselves are public information), a listing's four-same
comparison, the shortage-prone list, direct listing of a shortage product, price changes."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from flask_smorest.pagination import PaginationParameters
from marshmallow import fields, validate
from sqlalchemy import select

from app.api.common import PAGE, paginate
from app.api.files import XLSX, file_responses
from app.auth import WRITERS, current_actor, requires
from app.db import request_session, unit_of_work
from app.idempotency import idempotent
from core import clock
from core.actors import OrgKind
from core.errors import ValidationFailed
from core.money import e4_to_str
from core.regions import PROVINCES
from core.validation import BaseSchema, Yuan
from ledger.schemas import ListingSchema, PriceLinkedApplySchema
from ledger.services import listings
from ledger.supervision import price_changes, prices, shortage
from ledger.supervision.price_models import OtherProvincePrice, ShortageEntry, ShortageListKind

PREFIX = ""
blp = Blueprint(
    "supervision_prices",
    __name__,
    description="价格治理与短缺药品 (price governance and the shortage list)",
)


class FileSchema(BaseSchema):
    file = Upload(required=True, metadata={"description": "xlsx or csv"})


class ImportedSchema(BaseSchema):
    rows = fields.Integer()


class OtherProvincePriceSchema(BaseSchema):
    id = fields.Integer()
    generic_name = fields.String()
    manufacturer_name = fields.String(allow_none=True)
    manufacturer_uscc = fields.String(allow_none=True)
    dosage_form = fields.String()
    spec = fields.String()
    product_code = fields.String(allow_none=True)
    province_code = fields.String()
    pack_price = Yuan(attribute="pack_price_fen", allow_none=True)
    unit_price = fields.Method("_unit", allow_none=True)
    price_on = fields.Date()
    source = fields.String()

    def _unit(self, row: OtherProvincePrice) -> str | None:
        return None if row.unit_price_e4 is None else e4_to_str(row.unit_price_e4)


class PriceQuerySchema(BaseSchema):
    province_code = fields.String(validate=validate.OneOf(sorted(PROVINCES)))
    generic_name = fields.String(validate=validate.Length(min=1, max=200))
    product_code = fields.String(validate=validate.Length(min=1, max=40))


class PeerSchema(BaseSchema):
    province_code = fields.String()
    province_name = fields.String()
    pack_price = Yuan(attribute="pack_price_fen")
    price_on = fields.Date()
    source = fields.String()


class ComparisonSchema(BaseSchema):
    listing = fields.Nested(ListingSchema)
    peers = fields.List(fields.Nested(PeerSchema))


class ShortageEntrySchema(BaseSchema):
    id = fields.Integer()
    list_kind = fields.Enum(ShortageListKind, by_value=True)
    generic_name = fields.String()
    dosage_form = fields.String()
    spec = fields.String(allow_none=True)
    product_code = fields.String(allow_none=True)
    source = fields.String()
    listed_on = fields.Date()


class ShortageQuerySchema(BaseSchema):
    list_kind = fields.Enum(ShortageListKind, by_value=True)
    generic_name = fields.String(validate=validate.Length(min=1, max=200))


class PriceChangeSchema(BaseSchema):
    pack_price = Yuan(required=True)


def _settings() -> Any:
    return current_app.config["VBP"].supervision


def _upload() -> tuple[bytes, str]:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationFailed(fields={"file": ["请上传 xlsx 或 csv 文件 (upload the file as 'file')"]})
    limits = current_app.config["VBP"].spreadsheet_limits()
    data = upload.read(limits.max_bytes + 1)
    if len(data) > limits.max_bytes:
        raise ValidationFailed(fields={"file": ["文件过大 (the file is too large)"]})
    return data, upload.filename


def _xlsx(data: bytes, name: str) -> Response:
    response = Response(data, mimetype=XLSX)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    return response


# --- other provinces' prices --------------------------------------------------------------------


@blp.route("/prices/other-provinces", methods=["POST"])
@requires(OrgKind.BUREAU, roles=WRITERS)
@blp.arguments(FileSchema, location="files")
@blp.response(201, ImportedSchema)
def import_prices(_files: dict[str, Any]) -> Any:
    """Import other provinces' listed prices (xlsx/CSV, multipart field `file`): all rows or none,
    every bad cell named (`row 7.pack_price`); the same file twice is a 409. Every listing's
    four-same comparison is recomputed."""
    data, filename = _upload()
    with unit_of_work() as session:
        rows = prices.import_other_province_prices(
            session, current_actor(), data=data, filename=filename, settings=_settings(), now=clock.now()
        )
    return {"rows": rows}


@blp.route("/prices/other-provinces", methods=["GET"])
@requires()
@blp.arguments(PriceQuerySchema, location="query")
@blp.response(200, OtherProvincePriceSchema(many=True))
@blp.paginate(**PAGE)
def list_prices(query: dict[str, Any], pagination_parameters: PaginationParameters) -> Any:
    """Other provinces' listed prices (public information), newest first."""
    stmt = select(OtherProvincePrice).order_by(
        OtherProvincePrice.price_on.desc(), OtherProvincePrice.id.desc()
    )
    if "province_code" in query:
        stmt = stmt.where(OtherProvincePrice.province_code == query["province_code"])
    if "generic_name" in query:
        stmt = stmt.where(OtherProvincePrice.generic_key == prices.normalize(query["generic_name"]))
    if "product_code" in query:
        stmt = stmt.where(OtherProvincePrice.product_code == query["product_code"])
    return paginate(request_session(), stmt, pagination_parameters)


@blp.route("/prices/other-provinces/template", methods=["GET"])
@requires(OrgKind.BUREAU)
@blp.doc(**file_responses(XLSX, description="外省挂网价导入模板"))
def prices_template() -> Response:
    """An empty import file with the columns the import reads (Chinese headers)."""
    return _xlsx(prices.template(), "other-province-prices-template")


@blp.route("/listings/<int:listing_id>/price-comparison", methods=["GET"])
@requires()
@blp.response(200, ComparisonSchema)
def price_comparison(listing_id: int) -> Any:
    """The listing's four-same group elsewhere (latest price per province, this province left
    out) with its stored risk level and red line; only for listings the caller may see (a
    manufacturer: its own)."""
    session = request_session()
    listing = listings.get_listing(session, current_actor(), listing_id)
    return {"listing": listing, "peers": prices.peer_prices(session, listing)}


@blp.route("/listings/<int:listing_id>/price", methods=["POST"])
@requires(OrgKind.MANUFACTURER, roles=WRITERS)
@blp.arguments(PriceChangeSchema)
@blp.response(200, ListingSchema)
def change_price(data: dict[str, Any], listing_id: int) -> Any:
    """调价: change the price of one's own price-linked listing (history kept, audited)."""
    now = clock.now()
    with unit_of_work() as session:
        listing = price_changes.change_listing_price(
            session, current_actor(), listing_id, pack_price_fen=data["pack_price"], now=now
        )
        prices.refresh_listing(session, listing, settings=_settings(), now=now)
        return listing


# --- shortage list ------------------------------------------------------------------------------


@blp.route("/shortage-list", methods=["POST"])
@requires(OrgKind.BUREAU, roles=WRITERS)
@blp.arguments(FileSchema, location="files")
@blp.response(201, ImportedSchema)
def import_shortage(_files: dict[str, Any]) -> Any:
    """Import a national or provincial shortage-prone list (all rows or none; same file twice: 409)."""
    data, filename = _upload()
    with unit_of_work() as session:
        rows = shortage.import_shortage_list(
            session, current_actor(), data=data, filename=filename, settings=_settings(), now=clock.now()
        )
    return {"rows": rows}


@blp.route("/shortage-list", methods=["GET"])
@requires()
@blp.arguments(ShortageQuerySchema, location="query")
@blp.response(200, ShortageEntrySchema(many=True))
@blp.paginate(**PAGE)
def list_shortage(query: dict[str, Any], pagination_parameters: PaginationParameters) -> Any:
    """The shortage-prone list (public)."""
    stmt = select(ShortageEntry).order_by(ShortageEntry.id)
    if "list_kind" in query:
        stmt = stmt.where(ShortageEntry.list_kind == query["list_kind"])
    if "generic_name" in query:
        stmt = stmt.where(ShortageEntry.generic_key == prices.normalize(query["generic_name"]))
    return paginate(request_session(), stmt, pagination_parameters)


@blp.route("/shortage-list/template", methods=["GET"])
@requires(OrgKind.BUREAU)
@blp.doc(**file_responses(XLSX, description="短缺药品清单导入模板"))
def shortage_template() -> Response:
    return _xlsx(shortage.template(), "shortage-list-template")


@blp.route("/listings/shortage", methods=["POST"])
@requires(OrgKind.MANUFACTURER, roles=WRITERS)
@idempotent()
@blp.arguments(PriceLinkedApplySchema)
@blp.response(201, ListingSchema)
def apply_shortage(data: dict[str, Any]) -> Any:
    """短缺药品直接挂网: list a product on the shortage list at a self-set price (no price-linked
    cap; flagged `shortage`, audited). A product not on the list: 422 naming product_id."""
    now = clock.now()
    with unit_of_work() as session:
        listing = listings.apply_price_linked(
            session,
            current_actor(),
            product_id=data["product_id"],
            region_code=data["region_code"],
            pack_price_fen=data["pack_price"],
            now=now,
            shortage=True,
        )
        prices.refresh_listing(session, listing, settings=_settings(), now=now)
        return listing
