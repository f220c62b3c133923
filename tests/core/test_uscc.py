import pytest

from core.uscc import check_char, make_uscc, region_code_error, uscc_error


@pytest.mark.parametrize("code", ["91110000802100433B", "911100001000044477", make_uscc("91510100MA6C00001")])
def test_valid_codes_pass(code: str) -> None:
    assert uscc_error(code) is None


def test_check_character_is_computed_per_gb_32100() -> None:
    # 91110000802100433 → weights sum mod 31 gives 'B'
    assert check_char("91110000802100433") == "B"


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("91110000802100433C", "校验位"),  # wrong check character
        ("9111000080210043", "18位"),  # too short
        ("91110000802100433BX", "18位"),  # too long
        ("91110000I02100433B", "非法字符"),  # I is never used
        ("91AB0000802100433B", "非法字符"),  # division code must be digits
    ],
)
def test_invalid_codes_name_the_reason(code: str, fragment: str) -> None:
    error = uscc_error(code)
    assert error is not None
    assert fragment in error


@pytest.mark.parametrize(
    ("code", "ok"), [("510100", True), ("110000", True), ("990000", False), ("51010", False)]
)
def test_region_codes_need_six_digits_and_a_real_province(code: str, ok: bool) -> None:
    assert (region_code_error(code) is None) is ok
