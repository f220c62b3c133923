"""Spreadsheet uploads and downloads for the API (xlsx/CSV), on top of core.spreadsheets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Response, current_app, request
from marshmallow import Schema, ValidationError

from core.errors import ValidationFailed
from core.spreadsheets import (
    Column,
    Row,
    RowValidationError,
    Sheet,
    SpreadsheetError,
    Table,
    collect_row_errors,
    read_table,
    write_csv,
    write_xlsx,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def uploaded_table(columns: Sequence[Column]) -> Table:
    """The `file` part of a multipart upload, read as a table (422 naming the problem otherwise)."""
    from app.upload_jobs import screened_table

    already = screened_table()  # read by the size check (app/upload_jobs.py)
    if already is not None:
        return already
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationFailed(
            fields={"file": ["请上传 xlsx 或 csv 文件 (upload an xlsx or csv file as 'file')"]}
        )
    limits = current_app.config["VBP"].spreadsheet_limits()
    # Read one byte past the limit, not the whole part: the reader refuses what is too big.
    return read_table(
        upload.read(limits.max_bytes + 1), filename=upload.filename, columns=columns, limits=limits
    )


def validated_rows(
    table: Table, schema: Schema, *, collect: dict[str, list[str]] | None = None
) -> list[tuple[int, dict[str, Any]]]:
    """Validate every row with `schema`; all row errors are reported together, nothing is written."""

    def validate(row: Row) -> tuple[int, dict[str, Any]]:
        try:
            data = schema.load(row.non_empty())
        except ValidationError as exc:
            raise RowValidationError(
                exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
            ) from exc
        return row.number, data

    rows, errors = collect_row_errors(table, validate)
    if errors and collect is None:
        raise SpreadsheetError(errors)
    for err in errors:  # the caller checks the good rows further and reports everything at once
        name = "file" if err.row is None else f"row {err.row}" + (f".{err.column}" if err.column else "")
        (collect if collect is not None else {}).setdefault(name, []).append(err.message)
    return rows


def download(
    headers: Sequence[str],
    rows: list[list[Any]],
    *,
    fmt: str,
    filename: str,
    title: str,
    totals: list[Any] | None = None,
) -> Response:
    """An xlsx or CSV attachment (cells neutralized against formula injection); `totals` is the
    xlsx's bold closing row (a CSV stays rows only, as an import expects)."""
    if fmt == "csv":
        data, mimetype, ext = write_csv(headers, rows), "text/csv; charset=utf-8", "csv"
    else:
        sheet = Sheet(title=title, headers=headers, rows=rows, totals=totals)
        data, mimetype, ext = write_xlsx([sheet]), XLSX, "xlsx"
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}.{ext}"'
    return response


def file_responses(*content_types: str, description: str = "文件 (file)") -> dict[str, Any]:
    """OpenAPI for a 200 that is a file in one of several formats (flask-smorest's
    `@blp.response` documents a single content type)."""
    binary = {"type": "string", "format": "binary"}
    return {
        "responses": {
            "200": {
                "description": description,
                "content": {
                    ct: {"schema": {"type": "object"} if "json" in ct else binary} for ct in content_types
                },
            }
        }
    }
