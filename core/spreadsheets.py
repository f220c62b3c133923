"""Spreadsheet import and export (xlsx and CSV) for every bulk write and every report.

Reading: `read_table` turns an uploaded .xlsx or .csv into rows of `str | None` keyed by
`Column.key`; callers then validate each row with their own marshmallow schema through
`collect_row_errors`, so one upload reports every bad row at once (all-or-nothing imports).

- Cell values are always text. Numbers come back as exact decimal strings, never floats: an xlsx
  number is rounded to the 15 significant digits Excel itself shows, so 14.56 → "14.56",
  28.0 → "28" and a computed 0.1+0.2 → "0.3". Callers parse them with `core.money`.
  Number formats are not applied: a cell showing "5%" is read as "0.05".
- Dates → ISO strings ("2024-03-01"; a datetime that is not midnight → "2024-03-01T08:30:00").
  Booleans → "TRUE"/"FALSE". Blank cells and whitespace-only text → None.
- Row numbers are the ones a user sees in Excel (header row = 1 when it is the first row), blank
  rows are skipped without shifting later numbers. Only the first worksheet is read.
- Formula cells are refused (the platform stores values, not formulas), so are cells holding Excel
  error values (#N/A...), and, unless `reject_formulas=False`, text starting with "=" (CSV formula
  injection). Text starting with + - @ is allowed, so "-5" reaches the validator as "-5".
- Amplification is bounded before openpyxl sees the file (`core/upload_limits.py`): the parts' declared
  and actual unpacked sizes, each part's compression ratio, and the longest text run of every XML
  part (no cell or shared string can be larger than Excel's 32,767 characters allow); cells longer
  than `max_cell_chars` are refused. Messages quote at most a short prefix of what was sent.
- File-level problems (type, size, encoding, header) raise `SpreadsheetError` at once; cell
  problems are collected for the whole sheet (up to `SpreadsheetLimits.max_errors`) and raised
  together. Every message is Chinese first with English in parentheses.

Writing: `write_xlsx` (openpyxl write-only mode, streams 100k+ rows), `write_csv` (UTF-8 with BOM
so Excel shows Chinese, CRLF) and `template_xlsx` (an empty upload template). Every text cell is
passed through `neutralize` (OWASP CSV-injection defence). Exactness of numbers in exports:

- `Decimal` with at most 15 significant digits (every realistic amount or unit price) is written
  as a *number* cell whose stored text is the exact decimal ("9.87", not openpyxl's default
  "9.869999999999999") with a number format keeping its places and grouping thousands ("#,##0.00"
  for amounts, "#,##0.0000" for unit prices), so Excel sums it and displays it exactly as the
  pages do (1,234,567.80), and `read_table` gives the same string back. A Decimal with more
  significant digits (which Excel cannot hold) and an int beyond 15 digits are written as text.
- Aware datetimes are converted to China Standard Time and written without a zone (Excel has
  none); naive datetimes and dates are written as they are.
"""

from __future__ import annotations

import contextlib
import csv
import io
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import TypeVar
from uuid import UUID

import openpyxl
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ERROR_CODES, ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from core import clock
from core.upload_limits import (
    DEFAULT_LIMITS,
    EXCERPT_CHARS,
    MSG_DAMAGED,
    SpreadsheetLimits,
    UploadRefused,
    check_parts,
    excerpt,
    size_text,
)

__all__ = [
    "DEFAULT_LIMITS",
    "EXCERPT_CHARS",
    "Column",
    "Percent",
    "Row",
    "RowError",
    "RowValidationError",
    "Sheet",
    "SpreadsheetError",
    "SpreadsheetLimits",
    "Table",
    "collect_row_errors",
    "display_width",
    "excerpt",
    "neutralize",
    "read_table",
    "template_xlsx",
    "write_csv",
    "write_xlsx",
]

T = TypeVar("T")
V = TypeVar("V")

#: Characters that make Excel/LibreOffice treat a cell as a formula (OWASP "CSV Injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: Excel holds 15 significant decimal digits; more cannot be stored in a number cell exactly.
EXCEL_DIGITS = 15

_ZIP_MAGIC = b"PK\x03\x04"  # a zip (xlsx) starts with a local file header
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls, and password-protected .xlsx
_UTF8_BOM = b"\xef\xbb\xbf"
_CSV_DELIMITERS = (",", ";", "\t")
_SHEET_TITLE_FORBIDDEN = str.maketrans({c: "_" for c in "[]:*?/\\"})

# ---------------------------------------------------------------------------------------------
# Data types
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One expected column: schema field `key` and the header texts accepted for it (Chinese first)."""

    key: str
    headers: tuple[str, ...]
    required: bool = True

    def __post_init__(self) -> None:
        if not self.key or not self.headers or not all(h.strip() for h in self.headers):
            raise ValueError(f"Column {self.key!r} needs a key and at least one non-blank header")

    @property
    def display_zh(self) -> str:
        """The header shown to users in Chinese (the first accepted header)."""
        return self.headers[0]

    @property
    def display_en(self) -> str:
        """The first ASCII header, else the key: the English name used in messages."""
        return next((h for h in self.headers if h.isascii()), self.key)


@dataclass(frozen=True)
class Row:
    """One data row: its row number as the user sees it and its values keyed by Column.key."""

    number: int
    values: dict[str, str | None]

    def non_empty(self) -> dict[str, str]:
        """The values that are not empty, for schemas that tell "missing" from "null"."""
        return {k: v for k, v in self.values.items() if v is not None}


@dataclass(frozen=True)
class Table:
    """The data rows of a sheet (blank rows skipped) and the column keys found in its header."""

    rows: list[Row]
    columns_present: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class RowError:
    """One problem: `row` None means the whole file, `column` is a Column.key or None."""

    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        """The message prefixed with its location, e.g. "第 3 行（quantity）：…"."""
        if self.row is None:
            return self.message if self.column is None else f"（{self.column}）：{self.message}"
        where = f"第 {self.row} 行" + ("" if self.column is None else f"（{self.column}）")
        return f"{where}：{self.message}"


class SpreadsheetError(Exception):
    """An upload that cannot be imported; `errors` lists every problem found."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        if not errors:
            raise ValueError("SpreadsheetError needs at least one RowError")
        self.errors: list[RowError] = list(errors)
        summary = str(self.errors[0])
        if len(self.errors) > 1:
            summary += f"（等 {len(self.errors)} 处错误 / {len(self.errors)} errors）"
        super().__init__(summary)


def error_fields(exc: SpreadsheetError) -> dict[str, list[str]]:
    """The errors as a service's ValidationFailed fields: "row 3.quantity", "file"."""
    fields: dict[str, list[str]] = {}
    for e in exc.errors:
        key = (f"row {e.row}" if e.row else "file") + (f".{e.column}" if e.column else "")
        fields.setdefault(key, []).append(e.message)
    return fields


class RowValidationError(Exception):
    """Raised by a row validator; `messages` maps field keys ("_schema" = whole row) to messages."""

    def __init__(self, messages: Mapping[str, object]) -> None:
        self.messages: dict[str, list[str]] = {k: _flatten_messages(v) for k, v in messages.items()}
        super().__init__(self.messages)


def _flatten_messages(value: object) -> list[str]:
    """Marshmallow-style messages (str, list, nested dict) flattened to a list of strings."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [f"{k}: {m}" for k, v in value.items() for m in _flatten_messages(v)]
    if isinstance(value, Iterable):
        return [m for item in value for m in _flatten_messages(item)]
    return [str(value)]


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Problem:
    """A cell that cannot be imported, with the reason."""

    message: str


_Cell = str | _Problem | None

_MSG_FORMULA_CELL = "公式单元格不被接受，请粘贴为数值 (formula cells are not accepted; paste values only)"
_MSG_INJECTION = (
    "内容以“=”开头，可能是公式注入，不被接受 "
    "(values starting with '=' are refused as possible formula injection)"
)
_MSG_DAMAGED = MSG_DAMAGED


class RowLimitExceeded(SpreadsheetError):
    """More data rows than the limit: a caller that read with a lower limit on purpose (to tell
    a small upload from one for the background workers) tells this apart from other errors."""


def _too_many_errors(n: int) -> RowError:
    """The file-level note closing an error list cut at `n` entries."""
    return RowError(None, None, f"错误过多，仅列出前 {n} 条 (too many errors; only the first {n} are listed)")


def _file_error(message: str, *, row: int | None = None) -> SpreadsheetError:
    """A SpreadsheetError with a single file-level error."""
    return SpreadsheetError([RowError(row, None, message)])


def read_table(
    data: bytes,
    *,
    filename: str,
    columns: Sequence[Column],
    limits: SpreadsheetLimits = DEFAULT_LIMITS,
    reject_formulas: bool = True,
) -> Table:
    """Read the first sheet of an uploaded .xlsx/.csv into rows keyed by Column.key."""
    lookup = _header_lookup(columns)
    if len(data) > limits.max_bytes:
        raise _file_error(
            f"文件大小超过上限 {size_text(limits.max_bytes)} "
            f"(the file is larger than the {size_text(limits.max_bytes)} limit)"
        )
    kind = _file_kind(filename)
    if not data:
        raise _file_error("文件为空 (the file is empty)")
    if kind == "csv":
        return _build_table(_csv_rows(data, limits), columns, lookup, limits, reject_formulas)
    if data.startswith(_OLE_MAGIC):
        raise _file_error(
            "文件是旧版 .xls 或已加密的工作簿，请另存为未加密的 .xlsx 后上传 "
            "(the file is a legacy .xls or a password-protected workbook; save it as an unprotected .xlsx)"
        )
    if not data.startswith(_ZIP_MAGIC):
        raise _file_error("文件内容不是 xlsx 工作簿 (the file content is not an xlsx workbook)")
    try:
        check_parts(data, limits)
    except UploadRefused as exc:
        raise _file_error(str(exc)) from exc
    with warnings.catch_warnings():
        # openpyxl warns about features it drops (data validation, styles); none matter here.
        # (catch_warnings is process-wide: a concurrent thread may at worst also ignore them.)
        warnings.simplefilter("ignore")
        try:
            workbook = openpyxl.load_workbook(
                io.BytesIO(data), read_only=True, data_only=False, keep_links=False
            )
        except Exception as exc:
            raise _file_error(_MSG_DAMAGED) from exc
        try:
            if not workbook.worksheets:
                raise _file_error("工作簿中没有工作表 (the workbook has no worksheet)")
            sheet = workbook.worksheets[0]
            return _build_table(_xlsx_rows(sheet, limits), columns, lookup, limits, reject_formulas)
        finally:
            workbook.close()


def _file_kind(filename: str) -> str:
    """The format ("xlsx" or "csv") from the file name's suffix; anything else is refused."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    suffix = "." + base.rsplit(".", 1)[-1].strip().lower() if "." in base else ""
    if suffix == ".xlsx":
        return "xlsx"
    if suffix == ".csv":
        return "csv"
    if suffix == ".xls":
        raise _file_error(
            "不支持旧版 Excel 97-2003 (.xls) 文件，请在 Excel 中另存为 .xlsx 后上传 "
            "(legacy .xls files are not supported; save the file as .xlsx and upload it again)"
        )
    shown = excerpt(base)
    raise _file_error(
        f"不支持的文件类型“{shown}”，请上传 .xlsx 或 .csv 文件 "
        f"(unsupported file type '{shown}'; upload an .xlsx or .csv file)"
    )


def _normalize_header(text: str) -> str:
    """Header comparison form: NFKC (full-width → ASCII), whitespace collapsed, case-folded."""
    return " ".join(unicodedata.normalize("NFKC", text).split()).casefold()


def _header_lookup(columns: Sequence[Column]) -> dict[str, Column]:
    """Normalized header text → Column; refuses a column list that is ambiguous (a caller bug)."""
    if not columns:
        raise ValueError("read_table needs at least one Column")
    if len({c.key for c in columns}) != len(columns):
        raise ValueError("Column keys must be unique")
    lookup: dict[str, Column] = {}
    for column in columns:
        for header in column.headers:
            norm = _normalize_header(header)
            if lookup.get(norm, column) is not column:
                raise ValueError(f"header {header!r} is declared for two columns")
            lookup[norm] = column
    return lookup


def _too_long(text: str, limits: SpreadsheetLimits) -> _Cell:
    """A cell's text, or a problem quoting its beginning when it is longer than a cell may be."""
    if len(text) <= limits.max_cell_chars:
        return text
    chars = limits.max_cell_chars
    return _Problem(
        f"内容超过 {chars} 个字符 (the cell is longer than {chars} characters)：“{excerpt(text)}”"
    )


def _xlsx_rows(sheet: ReadOnlyWorksheet, limits: SpreadsheetLimits) -> Iterator[tuple[int, list[_Cell]]]:
    """Stream (row number, cells) from a read-only worksheet; missing rows come as empty rows."""
    sheet.reset_dimensions()  # a wrong <dimension> tag must not cut the sheet short: read every row
    rows = iter(sheet.iter_rows(min_row=1))
    number = 0
    while True:
        try:
            cells = next(rows)
        except StopIteration:
            return
        except Exception as exc:
            raise _file_error(_MSG_DAMAGED) from exc
        number += 1
        values = [_xlsx_cell(cell.value, cell.data_type) for cell in cells]
        yield number, [_too_long(v, limits) if isinstance(v, str) else v for v in values]


def _xlsx_cell(value: object, data_type: str) -> _Cell:
    """One xlsx cell (raw mode, formulas not evaluated) as text, None or a problem."""
    if value is None:
        return None
    if data_type == "f":
        return _Problem(_MSG_FORMULA_CELL)
    if data_type == "e":
        shown = excerpt(str(value))
        return _Problem(f"单元格是错误值“{shown}”(the cell holds an error value '{shown}')")
    if isinstance(value, str):
        return value.strip() or None
    return _scalar_text(value)


def _scalar_text(value: object) -> str:
    """A non-text cell value as the exact text a user sees (numbers never as float text)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        if value.time() == time(0) and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value).strip()


def _float_text(value: float) -> str:
    """A float from Excel as the decimal Excel displays: 15 significant digits, no exponent."""
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if value == 0:
        return "0"
    return format(Decimal(format(value, f".{EXCEL_DIGITS}g")).normalize(), "f")


def _csv_rows(data: bytes, limits: SpreadsheetLimits) -> Iterator[tuple[int, list[_Cell]]]:
    """Decode, sniff the delimiter and stream (record number, stripped cells) from a CSV."""
    if data.startswith((_ZIP_MAGIC, _OLE_MAGIC)):
        raise _file_error(
            "文件内容是 Excel 工作簿而不是 CSV，请使用正确的扩展名 "
            "(the content is an Excel workbook, not CSV; use the right file extension)"
        )
    text = _decode_csv(data)
    delimiter = _sniff_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    number = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _file_error(f"CSV 格式错误：{exc} (malformed CSV)", row=number + 1) from exc
        number += 1
        yield number, [_too_long(cell, limits) if (cell := raw.strip()) else None for raw in record]


def _decode_csv(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK, what Chinese Excel saves)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise _file_error(
                "无法识别文件编码，请另存为“CSV UTF-8（逗号分隔）”后上传 "
                "(cannot decode the file as UTF-8 or GB18030; save it as 'CSV UTF-8')"
            ) from exc
    if "\x00" in text:
        raise _file_error("文件含有二进制内容，不是文本 CSV (the file contains binary data, not CSV text)")
    return text


def _sniff_delimiter(text: str) -> str:
    """The delimiter (comma, semicolon or tab) occurring most, outside quotes, in the header line."""
    for line in text[:65536].splitlines():
        if not line.strip(" \t,;\"'"):
            continue
        counts = dict.fromkeys(_CSV_DELIMITERS, 0)
        quoted = False
        for char in line:
            if char == '"':
                quoted = not quoted
            elif not quoted and char in counts:
                counts[char] += 1
        best = max(_CSV_DELIMITERS, key=lambda d: counts[d])  # ties: first in the tuple (comma)
        return best if counts[best] else ","
    return ","


def _build_table(
    rows: Iterator[tuple[int, list[_Cell]]],
    columns: Sequence[Column],
    lookup: Mapping[str, Column],
    limits: SpreadsheetLimits,
    reject_formulas: bool,
) -> Table:
    """Find the header, map columns and collect the data rows and cell errors of a row stream."""
    mapping: dict[int, str] | None = None
    result: list[Row] = []
    errors: list[RowError] = []
    for number, cells in rows:
        if all(cell is None for cell in cells):
            continue
        if mapping is None:
            mapping = _map_header(number, cells, columns, lookup)
            continue
        if len(result) >= limits.max_rows:
            message = (
                f"数据行超过 {limits.max_rows} 行的上限，请拆分后分批上传 "
                f"(more than {limits.max_rows} data rows; split the file)"
            )
            raise RowLimitExceeded([RowError(None, None, message)])
        values: dict[str, str | None] = {c.key: None for c in columns}
        for index, cell in enumerate(cells):
            if cell is None:
                continue
            key = mapping.get(index)
            if key is None:
                letter = get_column_letter(index + 1)
                message = f"第 {letter} 列有数据但没有表头 (column {letter} has data but no header)"
                errors.append(RowError(number, None, message))
            elif isinstance(cell, _Problem):
                errors.append(RowError(number, key, cell.message))
            elif reject_formulas and cell.startswith("="):
                errors.append(RowError(number, key, _MSG_INJECTION))
            else:
                values[key] = cell
        result.append(Row(number, values))
        if len(errors) >= limits.max_errors:
            errors = [*errors[: limits.max_errors], _too_many_errors(limits.max_errors)]
            break
    if mapping is None:
        raise _file_error("找不到表头行，文件中没有内容 (no header row: the file has no content)")
    if errors:
        raise SpreadsheetError(errors)
    return Table(rows=result, columns_present=frozenset(mapping.values()))


def _map_header(
    number: int, cells: Sequence[_Cell], columns: Sequence[Column], lookup: Mapping[str, Column]
) -> dict[int, str]:
    """Cell index → Column.key for a header row; raises listing every header problem at once."""
    errors: list[RowError] = []
    mapping: dict[int, str] = {}
    seen: dict[str, str] = {}  # key → header text as written
    zh_names = "、".join(c.display_zh for c in columns)
    en_names = ", ".join(c.display_en for c in columns)
    for index, cell in enumerate(cells):
        if cell is None:
            continue
        if isinstance(cell, _Problem):
            errors.append(RowError(number, None, cell.message))
            continue
        column = lookup.get(_normalize_header(cell))
        shown = excerpt(cell)
        if column is None:
            message = (
                f"无法识别的列“{shown}”，可用的列：{zh_names} "
                f"(unknown column '{shown}'; accepted columns: {en_names})"
            )
            errors.append(RowError(number, None, message))
        elif column.key in seen:
            first = excerpt(seen[column.key])
            message = (
                f"列“{shown}”重复出现 (duplicate column '{shown}')"
                if _normalize_header(seen[column.key]) == _normalize_header(cell)
                else f"列“{first}”和“{shown}”是同一列，只能保留一个 "
                f"(columns '{first}' and '{shown}' are the same field '{column.key}'; keep only one)"
            )
            errors.append(RowError(number, column.key, message))
        else:
            seen[column.key] = cell
            mapping[index] = column.key
    for column in columns:
        if column.required and column.key not in seen:
            errors.append(
                RowError(
                    number,
                    column.key,
                    f"缺少必填列“{column.display_zh}”(missing required column '{column.display_en}')",
                )
            )
    if errors:
        raise SpreadsheetError(errors)
    return mapping


def collect_row_errors(
    table: Table, validate: Callable[[Row], T], *, max_errors: int = 1000
) -> tuple[list[T], list[RowError]]:
    """Validate every row; return the results and every RowValidationError as RowErrors."""
    results: list[T] = []
    errors: list[RowError] = []
    for row in table.rows:
        try:
            results.append(validate(row))
        except RowValidationError as exc:
            for key, messages in exc.messages.items():
                column = None if key == "_schema" else key
                errors.extend(RowError(row.number, column, message) for message in messages)
        if len(errors) >= max_errors:
            errors = [*errors[:max_errors], _too_many_errors(max_errors)]
            break
    return results, errors


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def neutralize(value: V) -> V:
    """Prefix "'" to text starting with = + - @ tab or CR so spreadsheets never run it as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value  # type: ignore[return-value]  # str in, str out
    return value


@dataclass(frozen=True)
class Sheet:
    """One worksheet to export: rows are streamed, so a generator of 100k rows is fine."""

    title: str
    headers: Sequence[str]
    rows: Iterable[Sequence[object]]
    #: Widths in Excel character units, one per column; None sizes columns from the headers.
    column_widths: Sequence[float] | None = None
    #: A closing row (e.g. 合计) written bold after the rows, outside the header's autofilter.
    totals: Sequence[object] | None = None
    #: The first cell that scrolls: "A2" freezes the header row, "C2" also the first two columns.
    freeze: str = "A2"


@dataclass(frozen=True)
class Percent:
    """A rate (0.9294) exported as a number cell with a percentage format ("92.94%"): the stored
    value stays the exact rate, and the format shows every place it has (0.89999 → "89.999%")."""

    value: Decimal


def write_xlsx(sheets: Sequence[Sheet]) -> bytes:
    """Write sheets to an xlsx (write-only, bold frozen header row, neutralized text)."""
    if not sheets:
        raise ValueError("write_xlsx needs at least one Sheet")
    workbook = Workbook(write_only=True)
    try:
        _fill_workbook(workbook, sheets)
    except BaseException:
        for worksheet in workbook.worksheets:  # finish the streaming writers, delete their temp files
            with contextlib.suppress(Exception):
                worksheet.close()
                worksheet._writer.cleanup()
        raise
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _fill_workbook(workbook: Workbook, sheets: Sequence[Sheet]) -> None:
    """Stream every sheet into a write-only workbook."""
    titles: set[str] = set()
    bold = Font(bold=True)
    for position, sheet in enumerate(sheets, start=1):
        worksheet = workbook.create_sheet(title=_sheet_title(sheet.title, position, titles))
        widths = sheet.column_widths or [_auto_width(h) for h in sheet.headers]
        if len(widths) > len(sheet.headers):
            raise ValueError(f"sheet {sheet.title!r}: more column widths than headers")
        for index, width in enumerate(widths, start=1):
            worksheet.column_dimensions[get_column_letter(index)].width = width
        worksheet.freeze_panes = sheet.freeze
        header_cells = []
        for header in sheet.headers:
            cell = _text_cell(worksheet, neutralize(_clean_text(header)))
            cell.font = bold
            header_cells.append(cell)
        worksheet.append(header_cells)
        last = 1
        for last, row in enumerate(sheet.rows, start=2):
            _check_row_width(sheet.title, last, row, sheet.headers)
            worksheet.append([_xlsx_value(worksheet, value) for value in row])
        if sheet.headers:  # a filter button on every header, over the rows (not the totals)
            worksheet.auto_filter.ref = f"A1:{get_column_letter(len(sheet.headers))}{last}"
        if sheet.totals is not None:
            _check_row_width(sheet.title, last + 1, sheet.totals, sheet.headers)
            worksheet.append([_bold(worksheet, _xlsx_value(worksheet, v), bold) for v in sheet.totals])


def _bold(worksheet: WriteOnlyWorksheet, value: object, font: Font) -> Cell:
    cell = value if isinstance(value, Cell) else WriteOnlyCell(worksheet, value=value)
    cell.font = font
    return cell


def _check_row_width(title: str, number: int, row: Sequence[object], headers: Sequence[str]) -> None:
    """A row must have one value per header (a caller bug otherwise)."""
    if len(row) != len(headers):
        raise ValueError(f"sheet {title!r} row {number}: {len(row)} values for {len(headers)} headers")


def _sheet_title(title: str, position: int, taken: set[str]) -> str:
    """A valid, unique Excel sheet title: no []:*?/\\, at most 31 characters, not blank."""
    base = title.translate(_SHEET_TITLE_FORBIDDEN).strip().strip("'")[:31] or f"Sheet{position}"
    candidate, n = base, 1
    while candidate.casefold() in taken:
        n += 1
        suffix = f"({n})"
        candidate = base[: 31 - len(suffix)] + suffix
    taken.add(candidate.casefold())
    return candidate


def display_width(text: str) -> int:
    """Width in Excel character units: CJK (wide) characters count two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


_display_width = display_width


def _auto_width(header: str) -> float:
    """A column width that fits the header, between 10 and 60."""
    return float(min(max(_display_width(header) + 4, 10), 60))


def _clean_text(value: str) -> str:
    """Drop control characters that XML (and so xlsx) cannot hold."""
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def _text_cell(worksheet: WriteOnlyWorksheet, text: str) -> Cell:
    """A cell that is always text (openpyxl would otherwise turn "#N/A" into an error cell)."""
    cell = WriteOnlyCell(worksheet, value=text)
    cell.data_type = "s"
    return cell


def _number_cell(worksheet: WriteOnlyWorksheet, text: str, number_format: str) -> Cell:
    """A number cell whose stored text is exactly `text` (openpyxl would write "%.16g" of a float)."""
    cell = WriteOnlyCell(worksheet, value=text)
    cell.data_type = "n"
    cell.number_format = number_format
    return cell


def _significant_digits(value: Decimal) -> int:
    """How many significant digits a finite Decimal has (0 counts as one)."""
    return max(len(value.normalize().as_tuple().digits), 1)


def _xlsx_value(worksheet: WriteOnlyWorksheet, value: object) -> object:
    """Python value → xlsx cell value; see the module docstring for the exactness rules."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, Enum):
        return _xlsx_value(worksheet, value.value)
    if isinstance(value, str):
        text = neutralize(_clean_text(value))
        # After neutralize no text starts with "=", so only "#N/A"-like text needs an explicit cell.
        return _text_cell(worksheet, text) if text in ERROR_CODES else text
    if isinstance(value, int):
        return value if abs(value) < 10**EXCEL_DIGITS else _text_cell(worksheet, str(value))
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot export a non-finite Decimal: {value}")
        if _significant_digits(value) > EXCEL_DIGITS:
            return _text_cell(worksheet, format(value, "f"))
        exponent = value.as_tuple().exponent
        places = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        return _number_cell(worksheet, format(value, "f"), _grouped_format(places))
    if isinstance(value, Percent):
        return _percent_cell(worksheet, value.value)
    if isinstance(value, float):
        return value
    if isinstance(value, datetime):
        return value.astimezone(clock.zone()).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date | time | timedelta):
        return value
    if isinstance(value, UUID):
        return _text_cell(worksheet, str(value))
    raise TypeError(f"不支持导出的数据类型 {type(value).__name__} (unsupported value type)")


def _grouped_format(places: int) -> str:
    """Excel's format for a Decimal of `places` places, with thousand separators: money (2 places)
    shows as 1,234,567.80 ("#,##0.00"), a unit price (4) as 1,234.5678 ("#,##0.0000")."""
    return "#,##0." + "0" * places if places else "#,##0"


def _percent_cell(worksheet: WriteOnlyWorksheet, rate: Decimal) -> object:
    if not rate.is_finite() or _significant_digits(rate) > EXCEL_DIGITS:
        return _xlsx_value(worksheet, rate)  # refused, or text, as for any Decimal
    exponent = rate.as_tuple().exponent
    places = max(-exponent - 2, 0) if isinstance(exponent, int) else 0
    return _number_cell(worksheet, format(rate, "f"), "0." + "0" * places + "%" if places else "0%")


def write_csv(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """Write a CSV Excel opens correctly: UTF-8 with BOM, CRLF, neutralized text cells.

    Numbers stay plain (1234567.80: no separators, the exact decimal) on purpose: a CSV is read by
    other programs and re-imported here, and a "1,234.50" would be split or refused there."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralize(h) for h in headers])
    for number, row in enumerate(rows, start=2):
        _check_row_width("csv", number, row, headers)
        writer.writerow([_csv_value(value) for value in row])
    return _UTF8_BOM + buffer.getvalue().encode("utf-8")


def _csv_value(value: object) -> str:
    """Python value → CSV text: exact decimals, ISO dates (China time), neutralized strings."""
    if value is None:
        return ""
    if isinstance(value, Enum):
        return _csv_value(value.value)
    if isinstance(value, str):
        return neutralize(value)
    if isinstance(value, Percent):
        return _csv_value(value.value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime):
        local = value.astimezone(clock.zone()).replace(tzinfo=None) if value.tzinfo else value
        return local.isoformat(sep=" ")
    if isinstance(value, bool | int | Decimal | date | time | timedelta | UUID):
        return _scalar_text(value)
    raise TypeError(f"不支持导出的数据类型 {type(value).__name__} (unsupported value type)")


def template_xlsx(
    columns: Sequence[Column], *, title: str, example_rows: Iterable[Mapping[str, object]] = ()
) -> bytes:
    """An upload template: Chinese headers (+ example rows by Column.key) and a "填写说明" sheet."""
    keys = [c.key for c in columns]
    rows: list[list[object]] = []
    for example in example_rows:
        unknown = set(example) - set(keys)
        if unknown:
            raise ValueError(f"example row has unknown keys: {sorted(unknown)}")
        rows.append([example.get(key) for key in keys])
    guide = Sheet(
        title="填写说明",
        headers=["列名 (column)", "可用的表头 (accepted headers)", "是否必填 (required)"],
        rows=[
            [c.display_zh, " / ".join(c.headers), "是 (yes)" if c.required else "否 (no)"] for c in columns
        ],
        column_widths=[24, 40, 18],
    )
    return write_xlsx([Sheet(title=title, headers=[c.display_zh for c in columns], rows=rows), guide])
