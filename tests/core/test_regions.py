"""Region codes are shown by their names; a code the table does not hold is shown as the code."""

from __future__ import annotations

from core.regions import REGIONS, full_name, region_name, search


def test_the_codes_the_demo_and_the_tests_use_have_names() -> None:
    assert region_name("510000") == "四川省"
    assert region_name("510100") == "成都市"
    assert region_name("510104") == "锦江区"
    assert region_name("510600") == "德阳市"
    for code in ("510300", "510500", "510700"):
        assert region_name(code) != code


def test_an_unknown_code_is_shown_as_the_code_and_none_as_nothing() -> None:
    assert region_name("529999") == "529999"
    assert region_name("") == ""
    assert region_name(None) == ""


def test_a_district_is_named_with_its_prefecture() -> None:
    assert full_name("510104") == "成都市锦江区"
    assert full_name("510100") == "成都市"
    assert full_name("510000") == "四川省"
    assert full_name("519999") == "519999"


def test_search_matches_code_or_name_in_code_order() -> None:
    assert search("成都")[0] == ("510100", "成都市")
    assert ("510104", "成都市锦江区") in search("锦江")
    assert search("5106") == [("510600", "德阳市")]
    assert search("", limit=3) == [(c, full_name(c)) for c in sorted(REGIONS)[:3]]
    assert search("", codes=["510600", "529999"]) == [("510600", "德阳市"), ("529999", "529999")]
