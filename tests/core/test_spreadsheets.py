import csv
import io
import zipfile
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal

import openpyxl
import pytest

from core.spreadsheets import (
    DEFAULT_LIMITS,
    Column,
    Percent,
    Row,
    RowError,
    RowValidationError,
    Sheet,
    SpreadsheetError,
    SpreadsheetLimits,
    Table,
    collect_row_errors,
    neutralize,
    read_table,
    template_xlsx,
    write_csv,
    write_xlsx,
)

COLUMNS = (
    Column("drug_code", ("药品编码", "drug code")),
    Column("quantity", ("数量", "quantity")),
    Column("unit_price", ("单价", "unit price")),
    Column("delivery_date", ("交货日期", "delivery date"), required=False),
)
ZH_HEADERS = ["药品编码", "数量", "单价", "交货日期"]
ACCEPTED = "可用的列：药品编码、数量、单价、交货日期"
ACCEPTED_EN = "accepted columns: drug code, quantity, unit price, delivery date"

FORMULA_CELL = "公式单元格不被接受，请粘贴为数值 (formula cells are not accepted; paste values only)"
INJECTION = (
    "内容以“=”开头，可能是公式注入，不被接受 "
    "(values starting with '=' are refused as possible formula injection)"
)
#: Excel has no time zones: naive datetimes are what a workbook holds.
MARCH_1 = datetime.fromisoformat("2024-03-01T00:00:00")
MARCH_1_0830 = datetime.fromisoformat("2024-03-01T08:30:00")


def xlsx_bytes(*rows: Sequence[object]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_text(*rows: Sequence[str], delimiter: str = ",") -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def errors_of(
    data: bytes, filename: str, *, limits: SpreadsheetLimits = DEFAULT_LIMITS, reject_formulas: bool = True
) -> list[RowError]:
    with pytest.raises(SpreadsheetError) as caught:
        read_table(data, filename=filename, columns=COLUMNS, limits=limits, reject_formulas=reject_formulas)
    return caught.value.errors


def file_error(message: str) -> list[RowError]:
    return [RowError(None, None, message)]


# --- reading: happy paths --------------------------------------------------------------------


def test_xlsx_with_chinese_headers_reads_rows_keyed_by_column_key() -> None:
    data = xlsx_bytes(ZH_HEADERS, ["X01", 100, 14.56, date(2024, 3, 1)], ["X02", 7, 0.52, None])

    table = read_table(data, filename="需求.xlsx", columns=COLUMNS)

    assert table == Table(
        rows=[
            Row(
                2,
                {"drug_code": "X01", "quantity": "100", "unit_price": "14.56", "delivery_date": "2024-03-01"},
            ),
            Row(3, {"drug_code": "X02", "quantity": "7", "unit_price": "0.52", "delivery_date": None}),
        ],
        columns_present=frozenset({"drug_code", "quantity", "unit_price", "delivery_date"}),
    )


def test_csv_with_english_headers_in_any_case_and_spacing_reads_the_same_values() -> None:
    text = csv_text([" Drug  Code ", "QUANTITY", "unit price"], ["X01", "100", "14.56"])

    table = read_table(text.encode(), filename="demand.CSV", columns=COLUMNS)

    assert table.rows == [
        Row(2, {"drug_code": "X01", "quantity": "100", "unit_price": "14.56", "delivery_date": None})
    ]
    assert table.columns_present == frozenset({"drug_code", "quantity", "unit_price"})


def test_full_width_header_characters_match_their_ascii_form() -> None:
    columns = [Column("unit_price", ("单价(元)",))]
    text = csv_text(["单价（元）"], ["1.50"])

    table = read_table(text.encode(), filename="a.csv", columns=columns)

    assert table.rows == [Row(2, {"unit_price": "1.50"})]


def test_xlsx_round_trip_with_english_headers() -> None:
    data = xlsx_bytes(["drug code", "quantity", "unit price"], ["X01", 3, 34.46])

    table = read_table(data, filename="a.xlsx", columns=COLUMNS)

    assert table.rows == [
        Row(2, {"drug_code": "X01", "quantity": "3", "unit_price": "34.46", "delivery_date": None})
    ]


@pytest.mark.parametrize(
    ("cell", "text"),
    [
        (14.56, "14.56"),
        (28.0, "28"),
        (0.1 + 0.2, "0.3"),  # stored as 0.30000000000000004, shown by Excel as 0.3
        (9.87, "9.87"),  # openpyxl writes 9.869999999999999 ("%.16g")
        (112.3267, "112.3267"),
        (1e-05, "0.00001"),
        (-5, "-5"),
        (86900001000012, "86900001000012"),
        ("0012", "0012"),  # a text cell keeps its leading zeros
    ],
)
def test_xlsx_number_cells_come_back_as_exact_decimal_strings(cell: object, text: str) -> None:
    data = xlsx_bytes(["药品编码", "数量", "单价"], ["X01", 1, cell])

    table = read_table(data, filename="a.xlsx", columns=COLUMNS)

    assert table.rows[0].values["unit_price"] == text


def test_xlsx_date_cells_come_back_as_iso_strings() -> None:
    data = xlsx_bytes(
        ZH_HEADERS,
        ["X01", 1, 1, date(2024, 3, 1)],
        ["X02", 1, 1, MARCH_1_0830],
    )

    table = read_table(data, filename="a.xlsx", columns=COLUMNS)

    assert [row.values["delivery_date"] for row in table.rows] == ["2024-03-01", "2024-03-01T08:30:00"]


def test_xlsx_boolean_cells_come_back_as_excel_words() -> None:
    data = xlsx_bytes(["药品编码", "数量", "单价"], [True, False, 1])

    table = read_table(data, filename="a.xlsx", columns=COLUMNS)

    assert (table.rows[0].values["drug_code"], table.rows[0].values["quantity"]) == ("TRUE", "FALSE")


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gbk", "gb18030"])
def test_csv_is_decoded_as_utf8_with_or_without_bom_or_as_gb18030(encoding: str) -> None:
    data = csv_text(["药品编码", "数量", "单价"], ["阿托伐他汀钙片", "28", "14.56"]).encode(encoding)

    table = read_table(data, filename="需求.csv", columns=COLUMNS)

    assert table.rows[0].values == {
        "drug_code": "阿托伐他汀钙片",
        "quantity": "28",
        "unit_price": "14.56",
        "delivery_date": None,
    }


@pytest.mark.parametrize("delimiter", [";", "\t", ","])
def test_csv_delimiter_is_sniffed_from_the_header_line(delimiter: str) -> None:
    text = csv_text(["药品编码", "数量", "单价"], ["A,B;C", "28", "14,56"], delimiter=delimiter)

    table = read_table(text.encode(), filename="a.csv", columns=COLUMNS)

    assert table.rows[0].values == {
        "drug_code": "A,B;C",
        "quantity": "28",
        "unit_price": "14,56",
        "delivery_date": None,
    }


def test_cells_are_stripped_and_whitespace_only_cells_are_none() -> None:
    text = csv_text(["药品编码", "数量", "单价", "交货日期"], ["  X01\u3000", " 28 ", "14.56", "   "])

    table = read_table(text.encode(), filename="a.csv", columns=COLUMNS)

    assert table.rows[0].values == {
        "drug_code": "X01",
        "quantity": "28",
        "unit_price": "14.56",
        "delivery_date": None,
    }


def test_non_empty_drops_none_values_for_schemas_that_tell_missing_from_null() -> None:
    row = Row(2, {"drug_code": "X01", "delivery_date": None})

    assert row.non_empty() == {"drug_code": "X01"}


def test_only_the_first_worksheet_is_read() -> None:
    workbook = openpyxl.Workbook()
    first = workbook.active
    assert first is not None
    first.append(["药品编码", "数量", "单价"])
    first.append(["X01", 1, 2])
    workbook.create_sheet("说明").append(["随便写的说明", "=1+1"])
    buffer = io.BytesIO()
    workbook.save(buffer)

    table = read_table(buffer.getvalue(), filename="a.xlsx", columns=COLUMNS)

    assert [row.values["drug_code"] for row in table.rows] == ["X01"]


def test_csv_whose_text_starts_with_pk_is_not_mistaken_for_a_zip() -> None:
    columns = [Column("package", ("PKG",)), Column("quantity", ("数量",))]

    table = read_table("PKG,数量\r\n盒,1\r\n".encode(), filename="a.csv", columns=columns)

    assert table.rows == [Row(2, {"package": "盒", "quantity": "1"})]


def test_header_only_file_gives_an_empty_table() -> None:
    table = read_table("药品编码,数量,单价\r\n".encode(), filename="a.csv", columns=COLUMNS)

    assert table == Table(rows=[], columns_present=frozenset({"drug_code", "quantity", "unit_price"}))


# --- row numbers as the user sees them ---------------------------------------------------------


def test_xlsx_blank_rows_are_skipped_without_shifting_later_row_numbers() -> None:
    data = xlsx_bytes(
        [],  # row 1: absent from the XML
        ["", "  ", None],  # row 2: cells holding only whitespace
        ["药品编码", "数量", "单价"],  # row 3: header
        ["X01", 1, 1],
        [],
        [None, None, None],
        ["X02", 2, 2],
    )

    table = read_table(data, filename="a.xlsx", columns=COLUMNS)

    assert [(row.number, row.values["drug_code"]) for row in table.rows] == [(4, "X01"), (7, "X02")]


def test_csv_blank_lines_are_skipped_without_shifting_later_row_numbers() -> None:
    text = "\r\n药品编码,数量,单价\r\nX01,1,1\r\n\r\n,,\r\nX02,2,2\r\n"

    table = read_table(text.encode(), filename="a.csv", columns=COLUMNS)

    assert [(row.number, row.values["drug_code"]) for row in table.rows] == [(3, "X01"), (6, "X02")]


def test_csv_cell_with_a_quoted_line_break_is_one_row_as_in_excel() -> None:
    text = '药品编码,数量,单价\r\n"X01\r\n第二行",1,1\r\nX02,2,2\r\n'

    table = read_table(text.encode(), filename="a.csv", columns=COLUMNS)

    assert [(row.number, row.values["drug_code"]) for row in table.rows] == [(2, "X01\r\n第二行"), (3, "X02")]


# --- header problems ------------------------------------------------------------------------


def test_unknown_column_is_named_in_the_error() -> None:
    data = csv_text(["药品编码", "数理", "单价", "备注"], ["X01", "1", "1", ""]).encode()

    errors = errors_of(data, "a.csv")

    assert errors == [
        RowError(1, None, f"无法识别的列“数理”，{ACCEPTED} (unknown column '数理'; {ACCEPTED_EN})"),
        RowError(1, None, f"无法识别的列“备注”，{ACCEPTED} (unknown column '备注'; {ACCEPTED_EN})"),
        RowError(1, "quantity", "缺少必填列“数量”(missing required column 'quantity')"),
    ]


def test_missing_required_column_is_an_error_naming_it() -> None:
    data = xlsx_bytes(["药品编码", "数量"], ["X01", 1])

    errors = errors_of(data, "a.xlsx")

    assert errors == [RowError(1, "unit_price", "缺少必填列“单价”(missing required column 'unit price')")]


def test_missing_optional_column_gives_none_values() -> None:
    data = xlsx_bytes(["药品编码", "数量", "单价"], ["X01", 1, 2])

    table = read_table(data, filename="a.xlsx", columns=COLUMNS)

    assert table.rows[0].values["delivery_date"] is None
    assert "delivery_date" not in table.columns_present


def test_duplicate_header_is_an_error() -> None:
    data = csv_text(["药品编码", "数量", "单价", "数量"], ["X01", "1", "1", "2"]).encode()

    errors = errors_of(data, "a.csv")

    assert errors == [RowError(1, "quantity", "列“数量”重复出现 (duplicate column '数量')")]


def test_chinese_and_english_header_of_the_same_field_is_a_duplicate() -> None:
    data = csv_text(["药品编码", "数量", "单价", "Quantity"], ["X01", "1", "1", "2"]).encode()

    errors = errors_of(data, "a.csv")

    assert errors == [
        RowError(
            1,
            "quantity",
            "列“数量”和“Quantity”是同一列，只能保留一个 "
            "(columns '数量' and 'Quantity' are the same field 'quantity'; keep only one)",
        )
    ]


def test_data_under_a_blank_header_is_an_error_naming_the_column_letter() -> None:
    data = xlsx_bytes(["药品编码", "数量", "单价", None], ["X01", 1, 1], ["X02", 1, 1, "多出来的"])

    errors = errors_of(data, "a.xlsx")

    assert errors == [RowError(3, None, "第 D 列有数据但没有表头 (column D has data but no header)")]


def test_file_without_any_content_has_no_header_row() -> None:
    errors = errors_of(b"\r\n,,\r\n", "a.csv")

    assert errors == file_error("找不到表头行，文件中没有内容 (no header row: the file has no content)")


def test_ambiguous_column_declarations_are_a_programming_error() -> None:
    columns = [Column("a", ("数量",)), Column("b", ("数量",))]

    with pytest.raises(ValueError, match="declared for two columns"):
        read_table(b"x", filename="a.csv", columns=columns)


# --- file-level problems ---------------------------------------------------------------------


def test_oversized_file_is_refused_before_parsing() -> None:
    limits = SpreadsheetLimits(max_bytes=100)

    errors = errors_of(b"\xff" * 101, "a.xlsx", limits=limits)

    assert errors == file_error("文件大小超过上限 100 bytes (the file is larger than the 100 bytes limit)")


def test_file_of_exactly_max_bytes_is_accepted() -> None:
    data = csv_text(["药品编码", "数量", "单价"], ["X01", "1", "1"]).encode()

    table = read_table(data, filename="a.csv", columns=COLUMNS, limits=SpreadsheetLimits(max_bytes=len(data)))

    assert len(table.rows) == 1


def test_default_limits_are_ten_mebibytes_and_two_hundred_thousand_rows() -> None:
    assert (SpreadsheetLimits().max_bytes, SpreadsheetLimits().max_rows) == (10 * 1024 * 1024, 200_000)


def test_too_many_xlsx_rows_stops_reading_at_the_limit() -> None:
    rows = [[f"X{i:02d}", 1, 1] for i in range(1, 6)]
    # Row 7 holds a formula: had the reader gone on past the limit, it would report it too.
    data = xlsx_bytes(["药品编码", "数量", "单价"], *rows, ["X06", "=1+1", 1])

    errors = errors_of(data, "a.xlsx", limits=SpreadsheetLimits(max_rows=3))

    assert errors == file_error(
        "数据行超过 3 行的上限，请拆分后分批上传 (more than 3 data rows; split the file)"
    )


def test_too_many_csv_rows_stops_reading_at_the_limit() -> None:
    # Line 5 would be a CSV error (field larger than csv's limit) if the reader ever got there.
    text = "药品编码,数量,单价\r\nX01,1,1\r\nX02,1,1\r\nX03,1,1\r\n" + "Y" * 200_000 + ",1,1\r\n"

    errors = errors_of(text.encode(), "a.csv", limits=SpreadsheetLimits(max_rows=2))

    assert errors == file_error(
        "数据行超过 2 行的上限，请拆分后分批上传 (more than 2 data rows; split the file)"
    )


def test_exactly_max_rows_data_rows_are_accepted_and_blank_rows_do_not_count() -> None:
    data = xlsx_bytes(["药品编码", "数量", "单价"], ["X01", 1, 1], [], ["X02", 1, 1], [])

    table = read_table(data, filename="a.xlsx", columns=COLUMNS, limits=SpreadsheetLimits(max_rows=2))

    assert [row.number for row in table.rows] == [2, 4]


def test_xlsx_unpacking_beyond_the_limit_is_refused() -> None:
    data = xlsx_bytes(["药品编码", "数量", "单价"], ["X01", 1, 1])

    errors = errors_of(data, "a.xlsx", limits=SpreadsheetLimits(max_unpacked_bytes=1024))

    assert errors == file_error(
        "工作簿解压后超过 1 KiB，请拆分后上传 (the workbook unpacks to more than 1 KiB; split it)"
    )


def test_text_file_named_xlsx_is_refused() -> None:
    errors = errors_of("药品编码,数量,单价\r\n".encode(), "a.xlsx")

    assert errors == file_error("文件内容不是 xlsx 工作簿 (the file content is not an xlsx workbook)")


def test_zip_that_is_not_a_workbook_is_reported_as_damaged() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")

    errors = errors_of(buffer.getvalue(), "a.xlsx")

    assert errors == file_error(
        "无法读取 xlsx 工作簿，文件可能已损坏 (cannot read the xlsx workbook; the file may be damaged)"
    )


def test_legacy_xls_file_name_is_refused() -> None:
    errors = errors_of(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "采购.XLS")

    assert errors == file_error(
        "不支持旧版 Excel 97-2003 (.xls) 文件，请在 Excel 中另存为 .xlsx 后上传 "
        "(legacy .xls files are not supported; save the file as .xlsx and upload it again)"
    )


def test_legacy_xls_content_renamed_to_xlsx_is_refused() -> None:
    errors = errors_of(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "a.xlsx")

    assert errors == file_error(
        "文件是旧版 .xls 或已加密的工作簿，请另存为未加密的 .xlsx 后上传 "
        "(the file is a legacy .xls or a password-protected workbook; save it as an unprotected .xlsx)"
    )


def test_workbook_named_csv_is_refused() -> None:
    errors = errors_of(xlsx_bytes(["药品编码"]), "a.csv")

    assert errors == file_error(
        "文件内容是 Excel 工作簿而不是 CSV，请使用正确的扩展名 "
        "(the content is an Excel workbook, not CSV; use the right file extension)"
    )


@pytest.mark.parametrize("filename", ["a.txt", "a.xlsm", "C:\\fakepath\\noext"])
def test_other_file_types_are_refused_naming_the_file(filename: str) -> None:
    errors = errors_of(b"x", filename)

    name = filename.rsplit("\\", 1)[-1]
    assert errors == file_error(
        f"不支持的文件类型“{name}”，请上传 .xlsx 或 .csv 文件 "
        f"(unsupported file type '{name}'; upload an .xlsx or .csv file)"
    )


def test_empty_file_is_refused() -> None:
    assert errors_of(b"", "a.csv") == file_error("文件为空 (the file is empty)")


def test_bytes_that_are_neither_utf8_nor_gb18030_are_refused() -> None:
    errors = errors_of(b"\xff\xfe\x80\x81,\xff\r\n", "a.csv")

    assert errors == file_error(
        "无法识别文件编码，请另存为“CSV UTF-8（逗号分隔）”后上传 "
        "(cannot decode the file as UTF-8 or GB18030; save it as 'CSV UTF-8')"
    )


def test_csv_with_nul_bytes_is_refused_as_binary() -> None:
    errors = errors_of(b"a\x00b,c\r\n", "a.csv")

    assert errors == file_error(
        "文件含有二进制内容，不是文本 CSV (the file contains binary data, not CSV text)"
    )


# --- formulas and formula injection ----------------------------------------------------------


def test_formula_cell_in_xlsx_is_rejected_with_its_row_and_column() -> None:
    data = xlsx_bytes(["药品编码", "数量", "单价"], ["X01", 1, 1], ["X02", "=B2*2", "=SUM(C1:C2)"])

    errors = errors_of(data, "a.xlsx")

    assert errors == [RowError(3, "quantity", FORMULA_CELL), RowError(3, "unit_price", FORMULA_CELL)]


def test_formula_cell_is_rejected_even_when_formulas_are_allowed_as_text() -> None:
    data = xlsx_bytes(["药品编码", "数量", "单价"], ["X01", "=1+1", 1])

    errors = errors_of(data, "a.xlsx", reject_formulas=False)

    assert errors == [RowError(2, "quantity", FORMULA_CELL)]


def test_xlsx_text_cell_starting_with_equals_is_rejected_as_injection() -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["药品编码", "数量", "单价"])
    sheet["A2"] = '=HYPERLINK("http://evil")'
    sheet["A2"].data_type = "s"  # stored as text, not as a formula
    sheet["B2"], sheet["C2"] = 1, 1
    buffer = io.BytesIO()
    workbook.save(buffer)

    errors = errors_of(buffer.getvalue(), "a.xlsx")

    assert errors == [RowError(2, "drug_code", INJECTION)]


def test_xlsx_error_value_cell_is_rejected() -> None:
    data = xlsx_bytes(["药品编码", "数量", "单价"], ["X01", "#DIV/0!", 1])

    errors = errors_of(data, "a.xlsx")

    assert errors == [
        RowError(2, "quantity", "单元格是错误值“#DIV/0!”(the cell holds an error value '#DIV/0!')")
    ]


def test_csv_formula_injection_is_rejected_with_its_row_number() -> None:
    text = csv_text(["药品编码", "数量", "单价"], ["X01", "1", "1"], ["=CMD|' /C calc'!A0", "1", "1"])

    errors = errors_of(text.encode(), "a.csv")

    assert errors == [RowError(3, "drug_code", INJECTION)]


def test_every_injected_cell_of_the_file_is_reported_at_once() -> None:
    text = csv_text(["药品编码", "数量", "单价"], ["=1", "1", "1"], ["X02", "1", "1"], ["X03", "=2", "=3"])

    errors = errors_of(text.encode(), "a.csv")

    assert errors == [
        RowError(2, "drug_code", INJECTION),
        RowError(4, "quantity", INJECTION),
        RowError(4, "unit_price", INJECTION),
    ]


def test_cell_errors_are_capped_at_max_errors() -> None:
    text = csv_text(["药品编码", "数量", "单价"], *[["=1", "=2", "1"]] * 3)

    errors = errors_of(text.encode(), "a.csv", limits=SpreadsheetLimits(max_errors=3))

    assert errors == [
        RowError(2, "drug_code", INJECTION),
        RowError(2, "quantity", INJECTION),
        RowError(3, "drug_code", INJECTION),
        RowError(None, None, "错误过多，仅列出前 3 条 (too many errors; only the first 3 are listed)"),
    ]


def test_plus_minus_and_at_signs_reach_the_validator_unchanged() -> None:
    text = csv_text(["药品编码", "数量", "单价"], ["@X01", "-5", "+1.5"])

    table = read_table(text.encode(), filename="a.csv", columns=COLUMNS)

    assert table.rows[0].values == {
        "drug_code": "@X01",
        "quantity": "-5",
        "unit_price": "+1.5",
        "delivery_date": None,
    }


def test_equals_sign_text_is_passed_through_when_formulas_are_not_rejected() -> None:
    text = csv_text(["药品编码", "数量", "单价"], ["==备注==", "1", "1"])

    table = read_table(text.encode(), filename="a.csv", columns=COLUMNS, reject_formulas=False)

    assert table.rows[0].values["drug_code"] == "==备注=="


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+8613800000000", "'+8613800000000"),
        ("-5", "'-5"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("阿托伐他汀", "阿托伐他汀"),
        ("a=b", "a=b"),
        ("", ""),
        (-5, -5),
        (Decimal("-5.00"), Decimal("-5.00")),
        (None, None),
    ],
)
def test_neutralize_prefixes_an_apostrophe_to_formula_like_text_only(value: object, expected: object) -> None:
    assert neutralize(value) == expected


# --- writing ----------------------------------------------------------------------------------


def test_exported_xlsx_neutralizes_text_and_reads_back_exactly() -> None:
    rows: list[list[object]] = [
        ["=1+2", -5, Decimal("9.87")],
        ["@x", 28, Decimal("-3.20")],
        ["#N/A", None, None],
    ]

    data = write_xlsx([Sheet(title="报表", headers=["药品编码", "数量", "单价"], rows=iter(rows))])

    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    assert [[cell.value for cell in row] for row in sheet.iter_rows()] == [
        ["药品编码", "数量", "单价"],
        ["'=1+2", -5, 9.87],
        ["'@x", 28, -3.2],
        ["#N/A", None, None],
    ]
    assert [sheet["A2"].data_type, sheet["A4"].data_type] == ["s", "s"]
    assert (sheet["C2"].number_format, sheet["C3"].number_format) == ("#,##0.00", "#,##0.00")
    assert (sheet["A1"].font.bold, sheet.freeze_panes) == (True, "A2")
    table = read_table(data, filename="报表.xlsx", columns=COLUMNS)
    assert [row.values for row in table.rows] == [
        {"drug_code": "'=1+2", "quantity": "-5", "unit_price": "9.87", "delivery_date": None},
        {"drug_code": "'@x", "quantity": "28", "unit_price": "-3.2", "delivery_date": None},
        {"drug_code": "#N/A", "quantity": None, "unit_price": None, "delivery_date": None},
    ]


def test_exported_decimal_is_stored_as_its_exact_decimal_text() -> None:
    data = write_xlsx([Sheet("s", ["a", "b"], [[Decimal("9.87"), Decimal("0.5200")]])])

    xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()

    assert '<c r="A2" s="2" t="n"><v>9.87</v></c>' in xml
    assert '<c r="B2" s="3" t="n"><v>0.5200</v></c>' in xml


def test_exported_values_beyond_excel_precision_are_written_as_text() -> None:
    data = write_xlsx([Sheet("s", ["a", "b"], [[Decimal("1234567890.123456789"), 12345678901234567]])])

    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    assert (sheet["A2"].value, sheet["B2"].value) == ("1234567890.123456789", "12345678901234567")


def test_exported_dates_are_excel_dates_and_aware_datetimes_are_china_time() -> None:
    data = write_xlsx([Sheet("s", ["a", "b"], [[date(2024, 3, 1), datetime(2024, 3, 1, 0, 30, tzinfo=UTC)]])])

    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    assert (sheet["A2"].value, sheet["B2"].value) == (MARCH_1, MARCH_1_0830)
    assert sheet["A2"].is_date


def test_sheet_titles_are_made_valid_and_unique() -> None:
    sheets = [
        Sheet("2024/03 报表", ["a"], []),
        Sheet("报表", ["a"], []),
        Sheet("报表", ["a"], []),
        Sheet("", ["a"], []),
    ]

    workbook = openpyxl.load_workbook(io.BytesIO(write_xlsx(sheets)))

    assert workbook.sheetnames == ["2024_03 报表", "报表", "报表(2)", "Sheet4"]


def test_explicit_column_widths_are_applied() -> None:
    data = write_xlsx([Sheet("s", ["a", "b"], [], column_widths=[12, 30])])

    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    assert (sheet.column_dimensions["A"].width, sheet.column_dimensions["B"].width) == (12, 30)


def test_a_row_with_the_wrong_number_of_values_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="row 3: 1 values for 2 headers"):
        write_xlsx([Sheet("s", ["a", "b"], [[1, 2], [1]])])


def test_unsupported_export_value_types_are_refused() -> None:
    with pytest.raises(TypeError, match="unsupported value type"):
        write_csv(["a"], [[object()]])


def test_exported_csv_has_bom_crlf_and_neutralized_exact_cells() -> None:
    data = write_csv(
        ["药品编码", "数量", "单价", "交货日期"],
        [
            ["=CMD|' /C calc'!A0", -5, Decimal("14.50"), datetime(2024, 3, 1, 0, 30, tzinfo=UTC)],
            ["-1", 28, Decimal("1E+2"), date(2024, 3, 1)],
            ["阿托伐他汀, 20mg", None, None, None],
        ],
    )

    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig").split("\r\n") == [
        "药品编码,数量,单价,交货日期",
        "'=CMD|' /C calc'!A0,-5,14.50,2024-03-01 08:30:00",
        "'-1,28,100,2024-03-01",
        '"阿托伐他汀, 20mg",,,',
        "",
    ]
    table = read_table(data, filename="export.csv", columns=COLUMNS)
    assert [row.values["drug_code"] for row in table.rows] == [
        "'=CMD|' /C calc'!A0",
        "'-1",
        "阿托伐他汀, 20mg",
    ]


def test_template_has_chinese_headers_examples_and_a_guide_sheet() -> None:
    data = template_xlsx(COLUMNS, title="需求填报", example_rows=[{"drug_code": "X01", "quantity": 100}])

    workbook = openpyxl.load_workbook(io.BytesIO(data))
    assert workbook.sheetnames == ["需求填报", "填写说明"]
    assert [cell.value for cell in workbook["需求填报"][1]] == ZH_HEADERS
    assert [[cell.value for cell in row] for row in workbook["填写说明"].iter_rows(min_row=2)] == [
        ["药品编码", "药品编码 / drug code", "是 (yes)"],
        ["数量", "数量 / quantity", "是 (yes)"],
        ["单价", "单价 / unit price", "是 (yes)"],
        ["交货日期", "交货日期 / delivery date", "否 (no)"],
    ]
    table = read_table(data, filename="需求填报.xlsx", columns=COLUMNS)
    assert table.rows == [
        Row(2, {"drug_code": "X01", "quantity": "100", "unit_price": None, "delivery_date": None})
    ]


def test_empty_template_reads_back_as_an_empty_table() -> None:
    table = read_table(template_xlsx(COLUMNS, title="t"), filename="t.xlsx", columns=COLUMNS)

    assert table == Table(rows=[], columns_present=frozenset(c.key for c in COLUMNS))


def test_template_example_with_an_unknown_key_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown keys"):
        template_xlsx(COLUMNS, title="t", example_rows=[{"qty": 1}])


# --- validating rows --------------------------------------------------------------------------


def _validate(row: Row) -> tuple[str, int]:
    quantity = int(row.values["quantity"] or "0")
    if quantity <= 0:
        raise RowValidationError({"quantity": ["须为正数 (must be positive)"]})
    if row.values["drug_code"] is None:
        raise RowValidationError({"drug_code": "必填字段 (required)", "_schema": ["整行无效 (invalid row)"]})
    return (row.values["drug_code"] or "", quantity)


def test_collect_row_errors_gathers_errors_from_several_rows() -> None:
    text = csv_text(
        ["药品编码", "数量", "单价"], ["X01", "5", "1"], ["X02", "-5", "1"], ["", "3", "1"], ["X04", "2", "1"]
    )
    table = read_table(text.encode(), filename="a.csv", columns=COLUMNS)

    results, errors = collect_row_errors(table, _validate)

    assert results == [("X01", 5), ("X04", 2)]
    assert errors == [
        RowError(3, "quantity", "须为正数 (must be positive)"),
        RowError(4, "drug_code", "必填字段 (required)"),
        RowError(4, None, "整行无效 (invalid row)"),
    ]


def test_collect_row_errors_stops_after_max_errors() -> None:
    table = Table(rows=[Row(n, {"drug_code": "X", "quantity": "0"}) for n in range(2, 7)])

    _, errors = collect_row_errors(table, _validate, max_errors=2)

    assert errors == [
        RowError(2, "quantity", "须为正数 (must be positive)"),
        RowError(3, "quantity", "须为正数 (must be positive)"),
        RowError(None, None, "错误过多，仅列出前 2 条 (too many errors; only the first 2 are listed)"),
    ]


def test_row_validation_error_flattens_nested_marshmallow_messages() -> None:
    error = RowValidationError({"lines": {0: {"qty": ["须为正数"]}}, "code": "无效"})

    assert error.messages == {"lines": ["0: qty: 须为正数"], "code": ["无效"]}


def test_errors_print_with_their_location() -> None:
    error = SpreadsheetError(
        [RowError(3, "quantity", "须为正数 (must be positive)"), RowError(None, None, "x")]
    )

    assert str(error.errors[0]) == "第 3 行（quantity）：须为正数 (must be positive)"
    assert str(RowError(5, None, "m")) == "第 5 行：m"
    assert str(error) == "第 3 行（quantity）：须为正数 (must be positive)（等 2 处错误 / 2 errors）"


def test_every_sheet_has_a_header_filter_and_percentages_stay_exact() -> None:
    sheets = [
        Sheet(
            "rates", ["名称", "比率"], [["甲", Percent(Decimal("0.5"))], ["乙", Percent(Decimal("0.123456"))]]
        ),
        Sheet("empty", ["a", "b", "c"], [], totals=["合计", 0, Percent(Decimal("1"))]),
    ]
    workbook = openpyxl.load_workbook(io.BytesIO(write_xlsx(sheets)))
    rates, empty = workbook["rates"], workbook["empty"]
    assert rates.auto_filter.ref == "A1:B3"
    assert [(c.value, c.number_format) for c in (rates["B2"], rates["B3"])] == [
        (0.5, "0%"),
        (0.123456, "0.0000%"),
    ]
    assert empty.auto_filter.ref == "A1:C1"
    assert [c.value for c in empty[2]] == ["合计", 0, 1]
    assert empty["A2"].font.bold
    assert write_csv(["r"], [[Percent(Decimal("0.9294"))]]).decode("utf-8-sig").splitlines()[1] == "0.9294"
