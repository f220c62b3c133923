"""Codes from an uploaded file: CSV/TXT one code per line (the first column of a CSV), or the first
column of an xlsx's first sheet; an optional header line ("追溯码" / "code") is skipped. The xlsx
goes through the same zip-bomb checks as every spreadsheet (core/upload_limits.py)."""

from __future__ import annotations

import io
import warnings

import openpyxl

from core.errors import ValidationFailed
from core.upload_limits import SpreadsheetLimits, UploadRefused, check_parts

_HEADERS = {"追溯码", "药品追溯码", "code", "codes", "trace_code", "drug_trac_codg"}
_ZIP_MAGIC = b"PK\x03\x04"


def _refused(message: str) -> ValidationFailed:
    return ValidationFailed(message, fields={"file": [message]})


def read_codes(data: bytes, *, filename: str, limits: SpreadsheetLimits) -> list[str]:
    if len(data) > limits.max_bytes:
        raise _refused("文件过大 (the file is too large)")
    name = filename.lower()
    if name.endswith(".xlsx") or data.startswith(_ZIP_MAGIC):
        cells = _xlsx_cells(data, limits)
    elif name.endswith((".csv", ".txt")):
        cells = _text_cells(data)
    else:
        raise _refused("请上传 csv、txt 或 xlsx 文件 (upload a .csv, .txt or .xlsx file)")
    if cells and cells[0].strip().lower() in _HEADERS:
        cells = cells[1:]
    if len(cells) > limits.max_rows:
        raise _refused(f"超过 {limits.max_rows} 行 (more than {limits.max_rows} rows)")
    return cells


def _text_cells(data: bytes) -> list[str]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _refused("文件须为 UTF-8 编码 (the file must be UTF-8)") from exc
    # The GS separator (\x1d) of a raw GS1 code is kept: only line ends split.
    cells = (line.split(",", 1)[0].strip().strip('"') for line in text.splitlines())
    return [c for c in cells if c]


def _xlsx_cells(data: bytes, limits: SpreadsheetLimits) -> list[str]:
    try:
        check_parts(data, limits)
    except UploadRefused as exc:
        raise _refused(str(exc)) from exc
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:
            raise _refused("无法读取 xlsx 工作簿 (cannot read the xlsx workbook)") from exc
        try:
            cells: list[str] = []
            for row in workbook.worksheets[0].iter_rows(max_col=1, values_only=True):
                value = row[0] if row else None
                if value is None:
                    continue
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                text = str(value).strip()
                if text:
                    cells.append(text)
                if len(cells) > limits.max_rows:
                    break
            return cells
        finally:
            workbook.close()
