"""The one table from errors to HTTP status, and the one JSON error shape.

{"error": {"code": "...", "message": "...", "fields": {"lines.0.quantity": ["..."]}}}
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, current_app, jsonify
from flask.typing import ResponseReturnValue
from marshmallow import Schema, ValidationError, fields
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from core.errors import (
    AuthenticationRequired,
    Conflict,
    DomainError,
    InvalidState,
    NotFound,
    PermissionDenied,
    RuleViolation,
    TooLarge,
    UnsupportedMedia,
    ValidationFailed,
)
from core.integrity import violation_conflict
from core.spreadsheets import SpreadsheetError
from core.validation import flatten_messages

log = logging.getLogger(__name__)

#: Domain error class → HTTP status. The first matching base class in this order wins.
STATUS_BY_ERROR: tuple[tuple[type[DomainError], int], ...] = (
    (AuthenticationRequired, 401),
    (PermissionDenied, 403),
    (NotFound, 404),
    (InvalidState, 409),
    (Conflict, 409),
    (RuleViolation, 422),
    (UnsupportedMedia, 415),
    (TooLarge, 413),
    (ValidationFailed, 422),
    (DomainError, 400),
)

#: Generic codes/messages for HTTP errors raised by Flask/werkzeug/webargs themselves.
HTTP_CODES = {
    400: ("bad_request", "请求格式错误 (malformed request)"),
    401: ("authentication_required", "需要登录 (authentication required)"),
    403: ("permission_denied", "无权执行此操作 (permission denied)"),
    404: ("not_found", "未找到 (not found)"),
    405: ("method_not_allowed", "不支持的请求方法 (method not allowed)"),
    409: ("conflict", "与现有数据冲突 (conflict)"),
    413: ("payload_too_large", "请求体过大 (request body too large)"),
    415: ("unsupported_media_type", "不支持的内容类型 (unsupported media type)"),
    422: ("validation_failed", "输入数据无效 (invalid input)"),
    429: ("too_many_requests", "请求过于频繁 (too many requests)"),
}


class ErrorBodySchema(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    fields = fields.Dict(keys=fields.String(), values=fields.List(fields.String()), required=True)


class ErrorSchema(Schema):
    """Documented shape of every 4xx/5xx body."""

    error = fields.Nested(ErrorBodySchema, required=True)


def error_body(code: str, message: str, field_errors: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": field_errors or {}}}


def status_for(exc: DomainError) -> int:
    return next(status for cls, status in STATUS_BY_ERROR if isinstance(exc, cls))


def handle_domain_error(exc: DomainError) -> ResponseReturnValue:
    return jsonify(error_body(exc.code, exc.message, exc.fields)), status_for(exc)


def handle_validation_error(exc: ValidationError) -> ResponseReturnValue:
    code, message = HTTP_CODES[422]
    return jsonify(error_body(code, message, flatten_messages(exc.messages))), 422


def handle_http_exception(exc: HTTPException) -> ResponseReturnValue:
    status = exc.code or 500
    if status >= 500:
        return _internal_error(exc)
    code, message = HTTP_CODES.get(status, ("http_error", exc.name))
    data = getattr(exc, "data", None) or {}
    field_errors: dict[str, list[str]] = {}
    messages = data.get("messages")
    if isinstance(messages, dict):
        # webargs nests messages by location ({"json": {...}, "query": {...}}); the body's field
        # names are what clients know, so the location is dropped except for headers/files.
        for location, errs in messages.items():
            prefix = (
                ""
                if location in ("json", "query", "form", "files", "view_args", "json_or_form")
                else location
            )
            field_errors.update(flatten_messages(errs, prefix))
    response = jsonify(error_body(code, message, field_errors))
    response.status_code = status
    for name, value in exc.get_headers():  # e.g. Allow on 405
        if name.lower() != "content-type":
            response.headers[name] = value
    for name, value in (data.get("headers") or {}).items():
        response.headers[name] = value
    return response


def _internal_error(exc: BaseException) -> ResponseReturnValue:
    log.exception("unhandled error", exc_info=exc)
    return jsonify(error_body("internal_error", "服务器内部错误 (internal server error)")), 500


def handle_unexpected(exc: Exception) -> ResponseReturnValue:
    if current_app.testing:
        raise exc  # tests see the real traceback (never a swallowed error)
    return _internal_error(exc)


def handle_integrity_error(exc: IntegrityError) -> ResponseReturnValue:
    """A constraint violation that escaped a unit of work: the same 409 the boundary gives."""
    conflict = violation_conflict(exc)
    return handle_unexpected(exc) if conflict is None else handle_domain_error(conflict)


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(IntegrityError, handle_integrity_error)
    app.register_error_handler(ValidationError, handle_validation_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(SpreadsheetError, handle_spreadsheet_error)
    app.register_error_handler(Exception, handle_unexpected)


def handle_spreadsheet_error(exc: SpreadsheetError) -> ResponseReturnValue:
    """Row-level upload errors: fields named "row 3.quantity" (or "file") with the reason."""
    field_errors: dict[str, list[str]] = {}
    for err in exc.errors:
        name = "file" if err.row is None else f"row {err.row}" + (f".{err.column}" if err.column else "")
        field_errors.setdefault(name, []).append(err.message)
    body = error_body(
        "spreadsheet_invalid",
        "表格数据有误，未写入任何数据 (spreadsheet rejected; nothing written)",
        field_errors,
    )
    return jsonify(body), 422
