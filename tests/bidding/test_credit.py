"""E12: credit grades of the 2025 revision and who may still bid (vbp-rules.md §7.2)."""

from datetime import date

import pytest

from bidding.credit import CreditCause, CreditGrade, CreditRatingFact, bid_blocked, grade_for

WAN = 10_000 * 100  # 1万元 in fen


@pytest.mark.parametrize(
    ("cause", "amount_wan", "grade"),
    [
        (CreditCause.BRIBERY, 30, CreditGrade.SHIXIN),
        (CreditCause.BRIBERY, 50, CreditGrade.SERIOUS),  # edge → higher grade
        (CreditCause.BRIBERY, 80, CreditGrade.SERIOUS),
        (CreditCause.BRIBERY, 100, CreditGrade.PARTICULARLY_SERIOUS),  # edge → higher grade
        (CreditCause.TAX, 300, CreditGrade.PARTICULARLY_SERIOUS),  # 250万元以上
        (CreditCause.TAX, 250, CreditGrade.PARTICULARLY_SERIOUS),
        (CreditCause.TAX, 40, CreditGrade.SHIXIN),  # 5万—50万
        (CreditCause.TAX, 4, None),  # below 5万: no rating
        (CreditCause.BID_RIGGING_NATIONAL_VBP, 0, CreditGrade.PARTICULARLY_SERIOUS),  # 顶格
        (CreditCause.BRIBING_STAFF, 1, CreditGrade.PARTICULARLY_SERIOUS),
    ],
)
def test_e12_grades(cause: CreditCause, amount_wan: int, grade: CreditGrade | None) -> None:
    assert grade_for(cause, amount_wan * WAN) == grade


def test_e12_particularly_serious_blocks_all_products_in_its_province_and_involved_ones_everywhere() -> None:
    rating = CreditRatingFact(
        manufacturer="M",
        province="510000",
        grade=CreditGrade.PARTICULARLY_SERIOUS,
        product_keys=frozenset({"involved"}),
        effective_from=date(2026, 1, 1),
    )
    on = date(2026, 6, 1)
    assert bid_blocked([rating], manufacturer="M", province="510000", product_key="other", on=on) is not None
    assert (
        bid_blocked([rating], manufacturer="M", province="330000", product_key="involved", on=on) is not None
    )
    assert bid_blocked([rating], manufacturer="M", province="330000", product_key="other", on=on) is None
    assert bid_blocked([rating], manufacturer="N", province="510000", product_key="other", on=on) is None


def test_serious_blocks_only_involved_products_in_its_province_and_repair_lifts_it() -> None:
    rating = CreditRatingFact(
        manufacturer="M",
        province="510000",
        grade=CreditGrade.SERIOUS,
        product_keys=frozenset({"p"}),
        effective_from=date(2026, 1, 1),
        repaired_on=date(2026, 5, 1),
    )
    assert bid_blocked(
        [rating], manufacturer="M", province="510000", product_key="p", on=date(2026, 2, 1)
    ) == ("serious_involved_product")
    assert (
        bid_blocked([rating], manufacturer="M", province="510000", product_key="q", on=date(2026, 2, 1))
        is None
    )
    assert (
        bid_blocked([rating], manufacturer="M", province="510000", product_key="p", on=date(2026, 5, 1))
        is None
    )
    assert (
        bid_blocked([rating], manufacturer="M", province="510000", product_key="p", on=date(2025, 12, 31))
        is None
    )
