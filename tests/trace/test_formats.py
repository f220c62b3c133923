"""The format rules of a traceability code, one test per rule (ledger/trace/formats.py)."""

from datetime import date

import pytest

from ledger.trace.formats import CodeFormatError, CodeKind, gtin_check_digit, parse

GTIN = "09506000134352"  # GS1's own example GTIN (check digit 2)


def test_a_domestic_code_is_20_digits_starting_with_8() -> None:
    assert parse(" 81234567890123456789\n") == parse("81234567890123456789")
    assert parse("81234567890123456789").kind is CodeKind.DOMESTIC


@pytest.mark.parametrize("code", ["8123456789012345678", "812345678901234567890"])
def test_a_domestic_code_of_another_length_is_refused(code: str) -> None:
    with pytest.raises(CodeFormatError, match="20"):
        parse(code)


def test_a_domestic_code_not_starting_with_8_is_refused() -> None:
    with pytest.raises(CodeFormatError, match="8"):
        parse("71234567890123456789")


def test_the_gtin_check_digit_is_the_published_mod_10() -> None:
    assert gtin_check_digit(GTIN[:13]) == 2
    assert gtin_check_digit("629104150021") == 3  # GTIN-13 6291041500213


def test_a_gtin_with_a_wrong_check_digit_is_refused() -> None:
    with pytest.raises(CodeFormatError, match="check digit"):
        parse(f"(01){GTIN[:13]}3(21)ABC")


def test_the_human_readable_and_raw_forms_give_one_canonical_code() -> None:
    human = parse(f"(01){GTIN}(17)270131(10)LOT7(21)SN-001")
    raw = parse(f"]d201{GTIN}1727013110LOT7\x1d21SN-001")
    fnc1 = parse(f"\x1d01{GTIN}21SN-001")
    assert human.code == raw.code == fnc1.code == f"01{GTIN}21SN-001"
    assert (human.kind, human.expiry, human.batch) == (CodeKind.GS1, date(2027, 1, 31), "LOT7")


def test_expiry_day_00_means_the_last_day_of_the_month() -> None:
    assert parse(f"(01){GTIN}(17)280200(21)X").expiry == date(2028, 2, 29)


@pytest.mark.parametrize(
    ("code", "rule"),
    [
        (f"(01){GTIN}", "(21)"),
        ("(21)ABC", "(01)"),
        (f"(01){GTIN}(21)" + "A" * 21, "1–20"),
        (f"(01){GTIN}(21)AB CD", "1–20"),
        (f"(01){GTIN}(10)批号(21)A", "(10)"),
        (f"(01){GTIN}(17)271332(21)A", "(17)"),
        (f"(01){GTIN}(99)X(21)A", "(99)"),
        (f"(01){GTIN}(21)A(21)B", "twice"),
        ("(01)123(21)A", "14 digits"),
        ("", "empty"),
    ],
)
def test_each_gs1_rule_names_itself(code: str, rule: str) -> None:
    with pytest.raises(CodeFormatError) as refused:
        parse(code)
    assert rule in str(refused.value)


def test_canonical_gs1_and_domestic_codes_never_collide() -> None:
    assert parse(f"01{GTIN}21123").code.startswith("01")
    assert parse("81234567890123456789").code.startswith("8")
