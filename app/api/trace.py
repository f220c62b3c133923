"""Traceability codes (追溯码, issue 19 item 2): the distributor attaches its packs' codes to a
shipment line (JSON list or a file), the hospital's receipt matches its scan (JSON field on the
receipt, or a file here), the hospital downloads what it kept for its HIS, the bureau looks up a
code's history."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Response, current_app, request
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from flask_smorest.pagination import PaginationParameters
from marshmallow import fields, validate

from app import input_guard
from app.api.common import PAGE, paginate
from app.api.files import XLSX, file_responses
from app.auth import ALL_ROLES, WRITERS, current_actor, requires
from app.db import request_session, unit_of_work
from app.idempotency import idempotent
from app.replica import replica_reads
from core import clock
from core.actors import OrgKind
from core.errors import ValidationFailed
from core.spreadsheets import Sheet, write_csv, write_xlsx
from core.upload_limits import MiB, SpreadsheetLimits
from core.validation import BaseSchema
from ledger.schemas import ReceiptLineCreateSchema, ReceiptLineSchema
from ledger.services import ordering
from ledger.trace import attach, queries
from ledger.trace.files import read_codes
from ledger.trace.schemas import MAX_CODES, AttachedSchema, AttachSchema, TraceCodeSchema, TraceMatchSchema

PREFIX = ""
blp = Blueprint("trace", __name__, description="药品追溯码 (traceability codes)")

# One code per pack: a JSON list of MAX_CODES codes is MAX_CODES values and a few more, above the
# platform's general bound (app/input_guard.py), raised here on purpose for these two routes.
for _endpoint in ("trace.attach_codes", "delivery.confirm_receipt"):
    input_guard.MAX_JSON_VALUES_BY_ENDPOINT[_endpoint] = MAX_CODES + 100

F = TypeVar("F", bound=Callable[..., Any])


def _limits() -> SpreadsheetLimits:
    """Code files: a row per pack, MAX_CODES rows (plus a header); up to 12 MiB, the size of
    200,000 GS1 codes in CSV, raised on purpose over the general upload bound."""
    base: SpreadsheetLimits = current_app.config["VBP"].spreadsheet_limits()
    return dataclasses.replace(base, max_rows=MAX_CODES + 1, max_bytes=max(base.max_bytes, 12 * MiB))


def _uploaded_codes() -> list[str]:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationFailed(fields={"file": ["请上传 csv、txt 或 xlsx 文件 (upload the file as 'file')"]})
    limits = _limits()
    try:
        data = upload.read(limits.max_bytes + 1)
    finally:
        upload.close()  # a large upload is spooled to a temporary file: closed now, not at GC
    return read_codes(data, filename=upload.filename or "", limits=limits)


def reports_duplicates(view: F) -> F:
    """Around the write's own unit of work (and its idempotency record): when the write is refused
    because codes are already delivered elsewhere, the rollback has happened; the warnings are
    then written in a transaction of their own, in the same request, and the 409 goes out."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except attach.DuplicateTraceCodes as refused:
            with unit_of_work() as session:
                attach.report_duplicates(session, refused.duplicates, now=clock.now())
            raise

    return cast(F, wrapper)


class CodeFileSchema(BaseSchema):
    file = Upload(required=True, metadata={"description": "csv / txt (one code per line) or xlsx"})


class ReceiptFormSchema(ReceiptLineCreateSchema):
    """The receipt's fields as form fields, next to the scan file (form values are text)."""

    accepted_quantity = fields.Integer(required=True)
    rejected_quantity = fields.Integer(load_default=0)

    class Meta:
        exclude = ("scanned_codes",)


class KeptQuerySchema(BaseSchema):
    format = fields.String(load_default="csv", validate=validate.OneOf(("csv", "xlsx")))
    shipment_id = fields.Integer(validate=validate.Range(min=1))
    date_from = fields.Date()
    date_to = fields.Date()


class HistoryQuerySchema(BaseSchema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=100))


@blp.route("/shipment-lines/<int:shipment_line_id>/trace-codes", methods=["POST"])
@requires(OrgKind.DISTRIBUTOR, roles=WRITERS)
@reports_duplicates
@idempotent()
@blp.arguments(AttachSchema)
@blp.response(201, AttachedSchema)
def attach_codes(data: dict[str, Any], shipment_line_id: int) -> Any:
    """Attach one code per shipped pack (JSON list); again before receipt replaces the set. A code
    delivered on another line is refused (409) and raises a supervision warning."""
    with unit_of_work() as session:
        return attach.attach_codes(
            session, current_actor(), shipment_line_id, codes=data["codes"], now=clock.now()
        )


@blp.route("/shipment-lines/<int:shipment_line_id>/trace-codes/upload", methods=["POST"])
@requires(OrgKind.DISTRIBUTOR, roles=WRITERS)
@reports_duplicates
@idempotent()
@blp.arguments(CodeFileSchema, location="files")
@blp.response(201, AttachedSchema)
def upload_codes(_files: dict[str, Any], shipment_line_id: int) -> Any:
    """Attach codes from a file (multipart `file`: csv/txt one code per line, or xlsx first
    column; raw GS1 codes with GS separators accepted)."""
    codes = _uploaded_codes()
    with unit_of_work() as session:
        return attach.attach_codes(
            session, current_actor(), shipment_line_id, codes=codes, now=clock.now(), field="file"
        )


@blp.route("/shipment-lines/<int:shipment_line_id>/trace-codes", methods=["GET"])
@requires(roles=ALL_ROLES)
@blp.response(200, TraceCodeSchema(many=True))
@blp.paginate(**PAGE)
def list_codes(shipment_line_id: int, pagination_parameters: PaginationParameters) -> Any:
    """A shipment line's codes, live and released, in the order attached (its parties)."""
    session = request_session()
    stmt = queries.line_codes(session, current_actor(), shipment_line_id)
    return paginate(session, stmt, pagination_parameters)


@blp.route("/shipment-lines/<int:shipment_line_id>/trace-match", methods=["GET"])
@requires(roles=ALL_ROLES)
@blp.response(200, TraceMatchSchema)
def get_match(shipment_line_id: int) -> Any:
    """The match of the hospital's scan at receipt: counts and the first missing, extra, foreign."""
    return queries.line_match(request_session(), current_actor(), shipment_line_id)


@blp.route("/shipment-lines/<int:shipment_line_id>/receipt/upload", methods=["POST"])
@requires(OrgKind.HOSPITAL, roles=WRITERS)
@blp.arguments(CodeFileSchema, location="files")
@blp.response(201, ReceiptLineSchema)
def confirm_receipt_with_scan(_files: dict[str, Any], shipment_line_id: int) -> Any:
    """验收 with the scan as a file: multipart `file` plus the receipt's fields as form fields
    (`accepted_quantity`, `rejected_quantity`, `reason_code`, `accepted_on`), checked after the
    file by the receipt's own schema."""
    data = ReceiptFormSchema().load(request.form.to_dict())
    codes = _uploaded_codes()
    with unit_of_work() as session:
        return ordering.confirm_receipt(
            session,
            current_actor(),
            shipment_line_id,
            accepted=data["accepted_quantity"],
            rejected=data["rejected_quantity"],
            reason_code=data["reason_code"],
            accepted_on=data["accepted_on"],
            scanned_codes=codes,
            now=clock.now(),
        )


@blp.route("/trace-codes/kept", methods=["GET"])
@requires(OrgKind.HOSPITAL, roles=ALL_ROLES)
@blp.arguments(KeptQuerySchema, location="query")
@blp.doc(**file_responses("text/csv", XLSX, description="验收入库的追溯码"))
@replica_reads
def download_kept(query: dict[str, Any]) -> Response:
    """The codes of the packs the hospital kept (csv or xlsx), by shipment and acceptance date,
    for its HIS: nobody scans twice."""
    rows = queries.kept_codes(
        request_session(),
        current_actor(),
        shipment_id=query.get("shipment_id"),
        date_from=query.get("date_from"),
        date_to=query.get("date_to"),
    )
    if query["format"] == "xlsx":
        body, mimetype = write_xlsx([Sheet("追溯码", queries.DOWNLOAD_HEADERS, rows)]), XLSX
    else:
        body, mimetype = write_csv(queries.DOWNLOAD_HEADERS, rows), "text/csv"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="trace-codes.{query["format"]}"'
    return response


@blp.route("/trace-codes/history", methods=["GET"])
@requires(OrgKind.BUREAU, roles=ALL_ROLES)
@blp.arguments(HistoryQuerySchema, location="query")
@blp.response(200, TraceCodeSchema(many=True))
def code_history(query: dict[str, Any]) -> Any:
    """Every shipment line a code travelled on, oldest first (the bureau)."""
    return queries.history(request_session(), current_actor(), query["code"])
