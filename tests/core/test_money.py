from decimal import Decimal

import pytest

from core.money import (
    MoneyError,
    e4_to_str,
    fen_to_str,
    parse_decimal,
    to_e4,
    to_fen,
    unit_price_e4_from_pack,
)


@pytest.mark.parametrize(
    ("yuan", "fen"),
    [("13.416", 1342), ("13.415", 1342), ("13.4149", 1341), ("0.005", 1), ("0.004", 0), ("-0.005", -1)],
)
def test_to_fen_rounds_half_up_once(yuan: str, fen: int) -> None:
    assert to_fen(Decimal(yuan)) == fen


@pytest.mark.parametrize(("yuan", "e4"), [("0.40970", 4097), ("0.409749", 4097), ("0.40975", 4098)])
def test_to_e4_rounds_unit_prices_to_four_places_half_up(yuan: str, e4: int) -> None:
    assert to_e4(Decimal(yuan)) == e4


def test_pack_price_converts_linearly_to_unit_price_as_in_e1() -> None:
    assert unit_price_e4_from_pack(1456, 28) == 5200  # 14.56 / 28 = 0.5200
    assert unit_price_e4_from_pack(3446, 28) == 12307  # 34.46 / 28 = 1.230714… → 1.2307
    assert unit_price_e4_from_pack(3889, 30) == 12963  # ezetimibe, vbp-rules.md §9.3


def test_formatting_carries_decimal_strings() -> None:
    assert fen_to_str(1456) == "14.56"
    assert fen_to_str(-5) == "-0.05"
    assert e4_to_str(5200) == "0.5200"


def test_parse_refuses_floats_and_extra_places_instead_of_rounding() -> None:
    with pytest.raises(MoneyError, match="floats"):
        parse_decimal(14.56, places=2)  # type: ignore[arg-type]
    with pytest.raises(MoneyError, match="at most 2"):
        parse_decimal("14.565", places=2)
    with pytest.raises(MoneyError, match="plain decimal notation"):
        parse_decimal("14,56", places=2)
    with pytest.raises(MoneyError, match="plain decimal notation"):
        parse_decimal("NaN", places=2)
    with pytest.raises(MoneyError, match="finite"):
        parse_decimal(Decimal("NaN"), places=2)
    assert parse_decimal("14.50", places=2) == Decimal("14.5")
    assert parse_decimal("14.5000", places=2) == Decimal("14.5")  # trailing zeros are not extra precision


def test_zero_units_per_pack_is_an_error() -> None:
    with pytest.raises(MoneyError):
        unit_price_e4_from_pack(100, 0)


@pytest.mark.parametrize(
    "text",
    [
        "1e999999999",
        "1e300000",
        "1E2",
        "１２.５",
        "١٢",
        "1_000",
        "Infinity",
        "-inf",
        "+12",
        " 12",
        "12 ",
        "12\n",
        "\u00a012",
        "1,000",
        ".5",
        "5.",
        "0x10",
        "--1",
        "",
        "1" * 10_000_000,
    ],
)
def test_money_is_plain_decimal_notation_only(text: str) -> None:
    with pytest.raises(MoneyError):
        parse_decimal(text, places=2)


def test_money_has_bounded_digits_before_and_after_the_point() -> None:
    assert parse_decimal("999999999999.99", places=2) == Decimal("999999999999.99")
    assert parse_decimal("-0012.50", places=2) == Decimal("-12.5")
    for too_big in ("1000000000000", 10**12, -(10**12), Decimal("1e12"), Decimal("1E+999999999")):
        with pytest.raises(MoneyError, match="at most 12 digits"):
            parse_decimal(too_big, places=2)
    with pytest.raises(MoneyError, match="at most 4 decimal"):
        parse_decimal("0.00001", places=4)
    with pytest.raises(MoneyError):
        parse_decimal("1." + "0" * 20, places=2)  # trailing zeros, but an absurd length
