"""National-code formats (core/national_codes.py, supervision-and-interop.md §4): one test per rule."""

import pytest

from core.national_codes import (
    consumable_code_error,
    drug_code_error,
    looks_like_national_code,
    national_code_error,
)

DRUG = "XA01ABD075A002010100483"  # the documented example
CHINESE_PATENT = "ZG02AAG0401" + "010101004830"[:12]  # Z, classification, name, form digit, digits
GRANULE = "T" + "0" * 12 + "ABC1234"
CONSUMABLE = "C" + "0201011010000000000" + "0000123"


def test_documented_examples_are_valid() -> None:
    assert len(CHINESE_PATENT) == 23
    for code in (DRUG, CHINESE_PATENT, GRANULE):
        assert drug_code_error(code) is None, code
    assert consumable_code_error(CONSUMABLE) is None


@pytest.mark.parametrize("code", [DRUG[:-1], DRUG + "0"])
def test_a_drug_code_has_23_characters(code: str) -> None:
    error = drug_code_error(code)
    assert error is not None
    assert "23 位" in error
    assert f"现为 {len(code)} 位" in error


@pytest.mark.parametrize("first", ["Y", "A", "x", "1"])
def test_a_drug_code_starts_with_x_or_z(first: str) -> None:
    error = drug_code_error(first + DRUG[1:])
    assert error is not None
    assert "首字母" in error


@pytest.mark.parametrize(
    ("position", "char", "segment"),
    [
        (2, "1", "分类"),  # classification starts with a letter
        (3, "A", "分类"),  # then two digits
        (5, "1", "分类"),  # then two letters
        (7, "5", "通用名"),  # name code: a letter
        (9, "X", "通用名"),  # then three digits
        (11, "-", "剂型"),  # dosage-form group: letter or digit
        (14, "B", "剂型、产品和包装"),  # the rest: digits
        (23, "Z", "剂型、产品和包装"),
    ],
)
def test_a_drug_code_names_the_bad_position_and_its_segment(position: int, char: str, segment: str) -> None:
    code = DRUG[: position - 1] + char + DRUG[position:]
    error = drug_code_error(code)
    assert error is not None
    assert f"第 {position} 位" in error
    assert f"position {position}" in error
    assert error.startswith(segment)


def test_a_drug_code_is_upper_case() -> None:
    error = drug_code_error(DRUG.lower().replace("x", "X", 1))
    assert error is not None
    assert "第 2 位" in error


def test_formula_granules_have_20_characters_starting_with_t() -> None:
    assert drug_code_error(GRANULE) is None
    too_long = drug_code_error(GRANULE + "1")
    assert too_long is not None
    assert "20 位" in too_long
    lower = drug_code_error(GRANULE[:5] + "a" + GRANULE[6:])
    assert lower is not None
    assert "第 6 位" in lower


@pytest.mark.parametrize("code", [CONSUMABLE[:20], CONSUMABLE + "1"])
def test_a_consumable_code_has_27_characters_a_20_base_and_7(code: str) -> None:
    error = consumable_code_error(code)
    assert error is not None
    assert "27 位" in error
    assert "20 位基础码 + 7 位" in error


def test_a_consumable_code_starts_with_c() -> None:
    error = consumable_code_error("D" + CONSUMABLE[1:])
    assert error is not None
    assert "首字母须为 C" in error


def test_a_consumable_code_is_upper_case_letters_or_digits() -> None:
    error = consumable_code_error(CONSUMABLE[:26] + "*")
    assert error is not None
    assert "第 27 位" in error


def test_a_drug_carries_a_drug_code_and_a_consumable_a_consumable_code() -> None:
    assert national_code_error("drug", DRUG) is None
    assert national_code_error("consumable", CONSUMABLE) is None
    wrong_for_drug = national_code_error("drug", CONSUMABLE)
    wrong_for_consumable = national_code_error("consumable", DRUG)
    assert wrong_for_drug is not None
    assert "不是耗材编码" in wrong_for_drug
    assert wrong_for_consumable is not None
    assert "不是药品编码" in wrong_for_consumable


def test_order_uploads_recognise_either_kind_of_national_code() -> None:
    assert looks_like_national_code(DRUG)
    assert looks_like_national_code(CONSUMABLE)
    assert not looks_like_national_code("HIS-0001")
