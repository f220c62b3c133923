"""Hospital item-code mappings (院内编码对照): list, map, remap, xlsx/CSV import and export.
A hospital sees and edits only its own; the bureau reads all."""

from __future__ import annotations

from typing import Any

from flask import Response
from flask_smorest import Blueprint
from flask_smorest.pagination import PaginationParameters
from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from app.api.common import PAGE, paginate
from app.api.files import XLSX, download, file_responses, uploaded_table, validated_rows
from app.api.tendering import UploadSchema
from app.auth import WRITERS, current_actor, requires
from app.db import request_session, unit_of_work
from app.idempotency import idempotent
from app.replica import replica_reads
from bidding.models import Product
from core import clock
from core.actors import OrgKind
from core.spreadsheets import Column, template_xlsx
from core.validation import BaseSchema
from ledger.models import HospitalItemCode
from ledger.schemas import ItemCodeSchema
from ledger.services import item_codes

PREFIX = ""
blp = Blueprint("item_codes", __name__, description="院内编码对照 (hospital item-code mappings)")

ITEM_CODE_COLUMNS = (
    Column("item_code", ("院内编码", "item_code")),
    Column("product", ("产品编码或国家医保编码", "产品编码", "product"), required=False),
    Column("item_name", ("院内名称", "item_name"), required=False),
    # Either column names the product; the export writes both, and the generic name for the reader.
    Column("national_code", ("国家医保编码", "national_code"), required=False),
    Column("generic_name", ("通用名", "generic_name"), required=False),
)
#: Export columns: the import's, then the product's national code and name for the reader.
EXPORT_HEADERS = ("院内编码", "产品编码或国家医保编码", "院内名称", "国家医保编码", "通用名")

_item_code = validate.Length(min=1, max=60)
_item_name = validate.Length(max=200)


class _ProductRef(BaseSchema):
    product_id = fields.Integer(metadata={"description": "platform product id"})
    product = fields.String(
        validate=validate.Length(min=1, max=40),
        metadata={"description": "catalogue code or national code (instead of product_id)"},
    )
    item_name = fields.String(load_default=None, allow_none=True, validate=_item_name)

    @validates_schema
    def _one_product(self, data: dict[str, Any], **_: Any) -> None:
        if ("product_id" in data) == ("product" in data):
            raise ValidationError(
                "填写 product_id 或 product 之一 (give product_id or product)", "product_id"
            )


class ItemCodeCreateSchema(_ProductRef):
    item_code = fields.String(required=True, validate=_item_code)


class ItemCodeReplaceSchema(_ProductRef):
    pass


class ItemCodeQuerySchema(BaseSchema):
    item_code = fields.String(validate=_item_code)
    product_id = fields.Integer()
    history = fields.Boolean(load_default=False, metadata={"description": "include superseded rows"})


class ItemCodeExportSchema(ItemCodeQuerySchema):
    format = fields.String(load_default="xlsx", validate=validate.OneOf(["xlsx", "csv"]))


class ItemCodeRowSchema(BaseSchema):
    """A mapping row: the product by catalogue code or national code (the first given wins)."""

    item_code = fields.String(required=True, validate=_item_code)
    product = fields.String(validate=validate.Length(min=1, max=40))
    national_code = fields.String(validate=validate.Length(min=1, max=40))
    item_name = fields.String(load_default=None, validate=_item_name)
    generic_name = fields.String(load_only=True)  # read-only column of the export, ignored

    @validates_schema
    def _a_product(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("product") and not data.get("national_code"):
            raise ValidationError(
                "填写产品编码或国家医保编码 (give the product code or national code)", "product"
            )

    @post_load
    def _reference(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {
            "item_code": data["item_code"],
            "product": data.get("product") or data["national_code"],
            "item_name": data["item_name"],
        }


class ItemCodeImportSchema(BaseSchema):
    created = fields.Integer()
    remapped = fields.Integer()
    unchanged = fields.Integer()


def _ref(data: dict[str, Any]) -> str | int:
    return data["product_id"] if "product_id" in data else data["product"]


def _filtered(query: dict[str, Any]) -> Any:
    stmt = item_codes.item_codes_visible_to(current_actor(), history=query.get("history", False))
    if "item_code" in query:
        stmt = stmt.where(HospitalItemCode.item_code == query["item_code"])
    if "product_id" in query:
        stmt = stmt.where(HospitalItemCode.product_id == query["product_id"])
    return stmt.order_by(HospitalItemCode.hospital_id, HospitalItemCode.item_code, HospitalItemCode.id)


@blp.route("/item-codes", methods=["GET"])
@requires(OrgKind.HOSPITAL, OrgKind.BUREAU)
@blp.arguments(ItemCodeQuerySchema, location="query")
@blp.response(200, ItemCodeSchema(many=True))
@blp.paginate(**PAGE)
def list_item_codes(query: dict[str, Any], pagination_parameters: PaginationParameters) -> Any:
    """The caller's item-code mappings (live ones; `history=true` adds superseded rows)."""
    return paginate(request_session(), _filtered(query), pagination_parameters)


@blp.route("/item-codes", methods=["POST"])
@requires(OrgKind.HOSPITAL, roles=WRITERS)
@idempotent()
@blp.arguments(ItemCodeCreateSchema)
@blp.response(201, ItemCodeSchema)
def create_item_code(data: dict[str, Any]) -> Any:
    """Map one of the hospital's item codes to a product (by id, catalogue code or national
    code). An item code already mapped: 409 (remap it instead)."""
    with unit_of_work() as session:
        return item_codes.create_mapping(
            session,
            current_actor(),
            item_code=data["item_code"],
            product=_ref(data),
            item_name=data["item_name"],
            now=clock.now(),
        )


@blp.route("/item-codes/<int:mapping_id>", methods=["GET"])
@requires(OrgKind.HOSPITAL, OrgKind.BUREAU)
@blp.response(200, ItemCodeSchema)
def get_item_code(mapping_id: int) -> Any:
    """One mapping (another hospital's: 404)."""
    return item_codes.get_mapping(request_session(), current_actor(), mapping_id)


@blp.route("/item-codes/<int:mapping_id>/replacement", methods=["POST"])
@requires(OrgKind.HOSPITAL, roles=WRITERS)
@idempotent()
@blp.arguments(ItemCodeReplaceSchema)
@blp.response(201, ItemCodeSchema)
def replace_item_code(data: dict[str, Any], mapping_id: int) -> Any:
    """Remap an item code: a new mapping that supersedes this one (already superseded: 409)."""
    with unit_of_work() as session:
        return item_codes.replace_mapping(
            session,
            current_actor(),
            mapping_id,
            product=_ref(data),
            item_name=data["item_name"],
            now=clock.now(),
        )


@blp.route("/item-codes/import", methods=["POST"])
@requires(OrgKind.HOSPITAL, roles=WRITERS)
@idempotent()
@blp.arguments(UploadSchema, location="files")
@blp.response(201, ItemCodeImportSchema)
def import_item_codes(_files: dict[str, Any]) -> Any:
    """Import a mapping table from xlsx/CSV (院内编码; 产品编码或国家医保编码 or 国家医保编码;
    院内名称): all rows or none, every bad row named with its column; mapped codes pointing
    elsewhere are remapped."""
    rows = validated_rows(uploaded_table(ITEM_CODE_COLUMNS), ItemCodeRowSchema())
    with unit_of_work() as session:
        created, remapped, unchanged = item_codes.import_mappings(
            session,
            current_actor(),
            rows=[(number, item_codes.MappingRow(**data)) for number, data in rows],
            now=clock.now(),
        )
    return {"created": created, "remapped": remapped, "unchanged": unchanged}


@blp.route("/item-codes/export", methods=["GET"])
@requires(OrgKind.HOSPITAL, OrgKind.BUREAU)
@blp.arguments(ItemCodeExportSchema, location="query")
@blp.doc(**file_responses(XLSX, "text/csv", description="院内编码对照 xlsx / CSV"))
@replica_reads
def export_item_codes(query: dict[str, Any]) -> Response:
    """The caller's mappings as xlsx or CSV (the import's columns first, so it re-imports)."""
    session = request_session()
    rows = item_codes.export_rows(session, session.scalars(_filtered(query).join(Product)))
    return download(
        list(EXPORT_HEADERS), rows, fmt=query["format"], filename="item-codes", title="院内编码对照"
    )


@blp.route("/item-codes/template", methods=["GET"])
@requires(OrgKind.HOSPITAL, OrgKind.BUREAU)
@blp.doc(**file_responses(XLSX, description="导入模板 (import template)"))
def item_code_template() -> Response:
    """An empty xlsx template for the mapping import."""
    response = Response(template_xlsx(ITEM_CODE_COLUMNS, title="院内编码对照"), mimetype=XLSX)
    response.headers["Content-Disposition"] = 'attachment; filename="item-codes-template.xlsx"'
    return response
