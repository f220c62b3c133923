"""The indicator workbook reads like a report: rates as percentages (the stored value stays the
exact rate), the group's name next to its key, an autofilter on the header row, a frozen header
and name columns, a bold totals row labelled 合计, and columns wide enough for Chinese names."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from core.spreadsheets import display_width
from reports import indicators
from reports.indicators import GroupBy, IndicatorReport
from reports.indicators.definitions import IndicatorRow

LONG_NAME = "四川省成都市第一人民医院（四川省肿瘤医院）东区分院"


def _report() -> IndicatorReport:
    rows = (
        IndicatorRow("101", LONG_NAME, drug_platform_fen=90_000, drug_off_platform_fen=10_001, due_lines=3),
        IndicatorRow("102", "华西医院", drug_platform_fen=7_900, drug_off_platform_fen=600, due_lines=1),
    )
    total = IndicatorRow("total", "合计", drug_platform_fen=97_900, drug_off_platform_fen=10_601, due_lines=4)
    return IndicatorReport("全省", GroupBy.HOSPITAL, (date(2026, 5, 1),), date(2026, 6, 30), rows, total)


def _sheet() -> Worksheet:
    return load_workbook(io.BytesIO(indicators.to_xlsx(_report())))["采购监测指标"]


def test_rates_are_percentages_whose_value_stays_exact() -> None:
    sheet = _sheet()
    header = [c.value for c in sheet[1]]
    column = header.index("药品线上采购率(不含中药饮片)") + 1
    near = sheet.cell(row=2, column=column)  # 89.9991 %: printed with the places its verdict needs
    assert Decimal(str(near.value)) == Decimal("0.89999")
    assert near.number_format == "0.000%"
    plain = sheet.cell(row=3, column=column)  # 7,900 / 8,500 = 92.94 %
    assert Decimal(str(plain.value)) == Decimal("0.9294")
    assert plain.number_format == "0.00%"
    amounts = sheet.cell(row=2, column=header.index("药品平台采购额(元)") + 1)
    assert (Decimal(str(amounts.value)), amounts.number_format) == (Decimal("900.00"), "#,##0.00")


def test_names_autofilter_frozen_header_and_totals_row() -> None:
    sheet = _sheet()
    header = [c.value for c in sheet[1]]
    assert header[:2] == ["医疗机构", "名称"]
    assert [c.value for c in sheet[2]][:2] == ["101", LONG_NAME]
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(row=1, column=len(header)).column_letter}3"
    assert sheet.freeze_panes == "C2"  # the header and the key and name columns stay in view
    total = sheet[sheet.max_row]
    assert total[0].value == "合计"  # not the internal key "total"
    assert total[0].font.bold
    assert total[header.index("应付笔数")].value == 4
    assert sheet.max_row == 4  # header, two groups, the total (outside the filter's range)


def test_columns_are_wide_enough_for_chinese_names() -> None:
    sheet = _sheet()
    assert sheet.column_dimensions["B"].width >= display_width(LONG_NAME)
    assert sheet.column_dimensions["C"].width >= display_width("药品线上采购率(不含中药饮片)")
