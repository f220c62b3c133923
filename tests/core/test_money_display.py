"""Amounts as people read them, written once (core/money.py): thousand separators, two decimals
for yuan, four for unit prices, exact integer arithmetic, a leading minus for negatives; and the
same numbers in xlsx as number cells with a separator format, so Excel still sums them."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest

from core.money import e4_to_display, fen_to_display
from core.spreadsheets import Sheet, write_csv, write_xlsx


@pytest.mark.parametrize(
    ("fen", "shown"),
    [
        (0, "0.00"),
        (1, "0.01"),
        (99, "0.99"),
        (100, "1.00"),
        (123_456, "1,234.56"),
        (123_456_780, "1,234,567.80"),
        (100_000_000_000_000, "1,000,000,000,000.00"),
        (99_999_999_999_999_999, "999,999,999,999,999.99"),
        (-1, "-0.01"),
        (-123_450, "-1,234.50"),
        (-123_456_780, "-1,234,567.80"),
    ],
)
def test_amounts_in_fen_show_separators_and_two_decimals(fen: int, shown: str) -> None:
    assert fen_to_display(fen) == shown


@pytest.mark.parametrize(
    ("e4", "shown"),
    [
        (0, "0.0000"),
        (5_200, "0.5200"),
        (1_123_267, "112.3267"),
        (12_345_678, "1,234.5678"),
        (12_345_678_901_234, "1,234,567,890.1234"),
        (-12_345_678, "-1,234.5678"),
        (-1, "-0.0001"),
    ],
)
def test_unit_prices_show_separators_and_four_decimals(e4: int, shown: str) -> None:
    assert e4_to_display(e4) == shown


def test_display_refuses_what_is_not_an_integer() -> None:
    for bad in (1.5, Decimal("1.5"), "100", True):
        with pytest.raises(TypeError):
            fen_to_display(bad)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            e4_to_display(bad)  # type: ignore[arg-type]


def test_the_page_filters_use_the_one_display_rule(app: object) -> None:
    from app.web.common import unit_yuan, yuan

    assert yuan(123_456_780) == fen_to_display(123_456_780) == "1,234,567.80"
    assert yuan(-123_450) == "-1,234.50"
    assert yuan(None) == ""
    assert unit_yuan(12_345_678) == "1,234.5678"
    assert unit_yuan(None) == ""


def test_xlsx_money_is_a_number_with_separators_and_csv_stays_plain() -> None:
    rows = [[Decimal("1234567.80"), Decimal("1234.5678"), Decimal("-1234.50")]]
    data = write_xlsx([Sheet(title="金额", headers=["金额", "单价", "差额"], rows=rows)])
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    amount, unit, diff = sheet["A2"], sheet["B2"], sheet["C2"]
    assert amount.data_type == "n"
    assert amount.number_format == "#,##0.00"
    assert Decimal(str(amount.value)) == Decimal("1234567.8")
    assert unit.number_format == "#,##0.0000"
    assert Decimal(str(unit.value)) == Decimal("1234.5678")
    assert diff.number_format == "#,##0.00"
    assert Decimal(str(diff.value)) == Decimal("-1234.5")
    csv = write_csv(["金额", "单价", "差额"], rows).decode("utf-8-sig")
    assert "1234567.80,1234.5678,-1234.50" in csv
