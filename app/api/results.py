"""Results decided elsewhere and alliances led here (issue 22): import a national or alliance
results file, execute it after demand closes, re-derive; alliance members, their demand, their
agreed volumes and their results files."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from marshmallow import fields, validate

from app.api.files import XLSX, download, file_responses
from app.auth import current_actor, requires
from app.db import request_session, unit_of_work
from app.replica import replica_reads
from bidding import alliance, results_format, results_import
from bidding.schemas import BatchSchema
from core import clock
from core.actors import OrgKind, Role
from core.errors import ValidationFailed
from core.regions import PROVINCES
from core.validation import BaseSchema

PREFIX = ""
blp = Blueprint(
    "results", __name__, description="国家/联盟中选结果落地与联盟牵头 (results decided elsewhere; alliances)"
)
BUREAU_WRITERS = (Role.ADMIN, Role.OPERATOR)
MIMETYPES = {"xlsx": XLSX, "csv": "text/csv; charset=utf-8", "json": "application/json"}
PROVINCE = fields.String(
    required=True, validate=validate.OneOf(sorted(PROVINCES)), metadata={"example": "500000"}
)


class ResultsFileSchema(BaseSchema):
    file = Upload(required=True, metadata={"description": "xlsx, csv or json"})


class ResultsImportSchema(BaseSchema):
    demand_opens_at = fields.AwareDateTime(required=True)
    demand_closes_at = fields.AwareDateTime(required=True)


class ImportSummarySchema(BaseSchema):
    batch = fields.Nested(BatchSchema)
    items = fields.Integer()
    winners = fields.Integer()
    unsupplied_items = fields.List(fields.String(), metadata={"description": "本省无主供企业的品种"})


class ExecutionSummarySchema(BaseSchema):
    batch_id = fields.Integer()
    items = fields.Integer()
    allocations = fields.Integer()
    agreed_quantity = fields.Integer()


class RederivationSchema(BaseSchema):
    selected_here = fields.Boolean()
    statement = fields.String()
    source = fields.Dict(allow_none=True)
    differences = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))


class MembersSchema(BaseSchema):
    member_provinces = fields.List(fields.String(validate=validate.OneOf(sorted(PROVINCES))), required=True)


class ProvinceQuerySchema(BaseSchema):
    province = PROVINCE


class MemberDemandQuerySchema(BaseSchema):
    #: Checked when given; its absence is reported after the file's (see member_demand).
    province = fields.String(
        load_default=None, validate=validate.OneOf(sorted(PROVINCES)), metadata={"example": "500000"}
    )


class ProvinceExportSchema(ProvinceQuerySchema):
    format = fields.String(load_default="xlsx", validate=validate.OneOf(["xlsx", "csv", "json"]))


class MemberVolumeSchema(BaseSchema):
    item_id = fields.Integer()
    generic_name = fields.String()
    hospital_uscc = fields.String(attribute="volume.hospital")
    hospital_name = fields.String()
    region_code = fields.String(attribute="volume.region")
    product_code = fields.String(attribute="volume.supplier")
    base_quantity = fields.Integer(attribute="volume.base_quantity")
    agreed_quantity = fields.Integer(attribute="volume.agreed_quantity")
    brand_specific = fields.Boolean(attribute="volume.brand_specific")


class MemberDemandSummarySchema(BaseSchema):
    province = fields.String()
    rows = fields.Integer()


class FormatQuerySchema(BaseSchema):
    format = fields.String(load_default="xlsx", validate=validate.OneOf(["xlsx", "csv", "json"]))


def _province() -> str:
    return str(current_app.config["VBP"].province_code)


def _upload() -> tuple[bytes, str]:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationFailed(fields={"file": ["请上传 xlsx、csv 或 json 文件 (upload the file as 'file')"]})
    limits = current_app.config["VBP"].spreadsheet_limits()
    data = upload.read(limits.max_bytes + 1)
    if len(data) > limits.max_bytes:
        raise ValidationFailed(fields={"file": ["文件过大 (the file is too large)"]})
    return data, upload.filename


def _file(data: bytes, fmt: str, filename: str) -> Response:
    response = Response(data, mimetype=MIMETYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    return response


@blp.route("/batches/import-results", methods=["POST"])
@requires(OrgKind.BUREAU, roles=BUREAU_WRITERS)
@blp.arguments(ResultsFileSchema, location="files")
@blp.arguments(ResultsImportSchema, location="query")
@blp.response(201, ImportSummarySchema)
def import_results(_files: dict[str, Any], data: dict[str, Any]) -> Any:
    """Create a national or alliance batch from its results file (xlsx, csv or json; multipart
    field `file`), with this province's demand window in the query string. All rows or none:
    every bad row is named (`row 7.product_code`)."""
    content, filename = _upload()
    with unit_of_work() as session:
        summary = results_import.import_results(
            session,
            current_actor(),
            data=content,
            filename=filename,
            province_code=_province(),
            demand_opens_at=data["demand_opens_at"],
            demand_closes_at=data["demand_closes_at"],
            now=clock.now(),
        )
        return {
            "batch": summary.batch,
            "items": summary.items,
            "winners": summary.winners,
            "unsupplied_items": summary.unsupplied_items,
        }


@blp.route("/batches/results-template", methods=["GET"])
@requires(OrgKind.BUREAU)
@blp.arguments(FormatQuerySchema, location="query")
@blp.doc(**file_responses(XLSX, "text/csv", "application/json", description="中选结果文件模板"))
def results_template(query: dict[str, Any]) -> Response:
    """An empty results file with the columns the import reads."""
    return _file(results_format.template(query["format"]), query["format"], "results-template")


@blp.route("/batches/<int:batch_id>/execute", methods=["POST"])
@requires(OrgKind.BUREAU, roles=BUREAU_WRITERS)
@blp.response(200, ExecutionSummarySchema)
def execute(batch_id: int) -> Any:
    """落地: after demand closes, the province's demand becomes agreed volumes with the winners
    that supply it; the results are published here."""
    with unit_of_work() as session:
        return results_import.execute_results(session, current_actor(), batch_id, now=clock.now())


@blp.route("/batches/<int:batch_id>/rederive", methods=["GET"])
@requires(OrgKind.BUREAU)
@blp.response(200, RederivationSchema)
def rederive(batch_id: int) -> Any:
    """Re-run the selection from the stored inputs, or say that it was not done here."""
    session = request_session()
    from bidding.batches import get_batch

    get_batch(session, current_actor(), batch_id)
    report = results_import.rederive_batch(session, batch_id)
    return {
        "selected_here": report.selected_here,
        "statement": report.statement,
        "source": report.source,
        "differences": {str(k): v for k, v in report.differences.items()},
    }


@blp.route("/batches/<int:batch_id>/member-provinces", methods=["PUT"])
@requires(OrgKind.BUREAU, roles=BUREAU_WRITERS)
@blp.arguments(MembersSchema)
@blp.response(200, BatchSchema)
def set_members(data: dict[str, Any], batch_id: int) -> Any:
    """The member provinces of an alliance batch led here (this province is always one)."""
    with unit_of_work() as session:
        return alliance.set_member_provinces(
            session,
            current_actor(),
            batch_id,
            data["member_provinces"],
            own_province=_province(),
            now=clock.now(),
        )


@blp.route("/batches/<int:batch_id>/member-demand", methods=["POST"])
@requires(OrgKind.BUREAU, roles=BUREAU_WRITERS)
@blp.arguments(MemberDemandQuerySchema, location="query")
@blp.arguments(ResultsFileSchema, location="files")
@blp.response(200, MemberDemandSummarySchema)
def member_demand(query: dict[str, Any], _files: dict[str, Any], batch_id: int) -> Any:
    """Replace a member province's demand with an xlsx/CSV (all rows or none)."""
    if query["province"] is None:
        raise ValidationFailed(fields={"province": ["必填字段 (Missing data for required field.)"]})
    content, filename = _upload()
    with unit_of_work() as session:
        rows = alliance.import_member_demand(
            session,
            current_actor(),
            batch_id,
            province=query["province"],
            own_province=_province(),
            data=content,
            filename=filename,
            now=clock.now(),
        )
    return {"province": query["province"], "rows": rows}


@blp.route("/batches/member-demand-template", methods=["GET"])
@requires(OrgKind.BUREAU)
@blp.doc(**file_responses(XLSX, description="成员省报量模板"))
def member_demand_template() -> Response:
    return _file(alliance.demand_template(), "xlsx", "member-demand-template")


@blp.route("/batches/<int:batch_id>/member-volumes", methods=["GET"])
@requires(OrgKind.BUREAU)
@blp.arguments(ProvinceQuerySchema, location="query")
@blp.response(200, MemberVolumeSchema(many=True))
def member_volumes(query: dict[str, Any], batch_id: int) -> Any:
    """A member province's agreed volumes per hospital and winner, as the lead works them out."""
    return alliance.province_volumes(request_session(), current_actor(), batch_id, query["province"])


@blp.route("/batches/<int:batch_id>/member-volumes/export", methods=["GET"])
@requires(OrgKind.BUREAU)
@blp.arguments(ProvinceExportSchema, location="query")
@blp.doc(**file_responses(XLSX, "text/csv", description="成员省约定采购量"))
@replica_reads
def export_member_volumes(query: dict[str, Any], batch_id: int) -> Response:
    rows = alliance.province_volumes(request_session(), current_actor(), batch_id, query["province"])
    headers = [
        "品种",
        "医疗机构统一社会信用代码",
        "医疗机构",
        "地区代码",
        "中选产品编码",
        "报量",
        "约定采购量",
        "按厂牌",
    ]
    data = [
        [r.generic_name, r.volume.hospital, r.hospital_name, r.volume.region, r.volume.supplier,
         r.volume.base_quantity, r.volume.agreed_quantity, "是" if r.volume.brand_specific else ""]
        for r in rows
    ]  # fmt: skip
    fmt = "csv" if query["format"] == "csv" else "xlsx"
    return download(
        headers, data, fmt=fmt, filename=f"volumes-{batch_id}-{query['province']}", title="约定采购量"
    )


@blp.route("/batches/<int:batch_id>/results-export", methods=["GET"])
@requires(OrgKind.BUREAU, roles=BUREAU_WRITERS)
@blp.arguments(ProvinceExportSchema, location="query")
@blp.doc(**file_responses(XLSX, "text/csv", "application/json", description="成员省中选结果文件"))
@replica_reads
def export_results(query: dict[str, Any], batch_id: int) -> Response:
    """A member province's results, in exactly the format the results import reads."""
    with unit_of_work() as session:
        data = alliance.export_for_member(
            session,
            current_actor(),
            batch_id,
            query["province"],
            own_province=_province(),
            fmt=query["format"],
            now=clock.now(),
        )
    return _file(data, query["format"], f"results-{batch_id}-{query['province']}")
