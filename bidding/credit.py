"""Pricing and procurement credit rating (医药价格和招采信用评价), the 2025 revision
(vbp-rules.md §7.2, NHSA notice S1): grades from cause and amount, and who may still bid.

Edge values: the notice's ranges touch at their ends ("50万—100万" and "100万元以上" both include
100万). An edge value resolves to the HIGHER grade — written once, here, in `_grade_by_floor`.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from core.glossary import terms_of

YUAN_10K_FEN = 10_000 * 100  #: 1万元 in fen


class CreditGrade(enum.StrEnum):
    SHIXIN = "shixin"  #: 失信
    SERIOUS = "serious"  #: 严重失信
    PARTICULARLY_SERIOUS = "particularly_serious"  #: 特别严重失信


GRADE_LABELS = terms_of(CreditGrade)  #: words from the one glossary (core/glossary.py)


class CreditCause(enum.StrEnum):
    BRIBERY = "bribery"  #: 商业贿赂 / 给予回扣
    TAX = "tax"  #: 涉税违法
    BRIBING_STAFF = "bribing_staff"  #: 向医保部门（含招采机构）工作人员行贿
    BID_RIGGING_NATIONAL_VBP = "bid_rigging_national_vbp"  #: 国家集采中串通投标


@dataclass(frozen=True)
class Thresholds:
    """Lower bounds (fen) of each grade per cause; below the lowest floor: no rating."""

    bribery: tuple[tuple[int, CreditGrade], ...] = (
        (1, CreditGrade.SHIXIN),  # below 50万 [inferred; not in the excerpt, §7.2]
        (50 * YUAN_10K_FEN, CreditGrade.SERIOUS),  # 50万—100万
        (100 * YUAN_10K_FEN, CreditGrade.PARTICULARLY_SERIOUS),  # 100万元以上
    )
    tax: tuple[tuple[int, CreditGrade], ...] = (
        (5 * YUAN_10K_FEN, CreditGrade.SHIXIN),  # 5万—50万
        (50 * YUAN_10K_FEN, CreditGrade.SERIOUS),  # 50万—250万
        (250 * YUAN_10K_FEN, CreditGrade.PARTICULARLY_SERIOUS),  # 250万元以上
    )
    #: 严重失信 also blocks bids for the products involved in the rating province (the listing
    #: of those products is cancelled, §7.1); configurable.
    serious_blocks_involved_products: bool = True


DEFAULT_2025 = Thresholds()


def _grade_by_floor(amount_fen: int, floors: tuple[tuple[int, CreditGrade], ...]) -> CreditGrade | None:
    """The highest grade whose floor the amount reaches (an edge value takes the higher grade)."""
    grade = None
    for floor, candidate in floors:
        if amount_fen >= floor:
            grade = candidate
    return grade


def grade_for(
    cause: CreditCause, amount_fen: int, thresholds: Thresholds = DEFAULT_2025
) -> CreditGrade | None:
    """The grade of a case (E12); None when the amount is below every threshold."""
    if cause in (CreditCause.BRIBING_STAFF, CreditCause.BID_RIGGING_NATIONAL_VBP):
        return CreditGrade.PARTICULARLY_SERIOUS  # 顶格: always the top grade
    floors = thresholds.bribery if cause is CreditCause.BRIBERY else thresholds.tax
    return _grade_by_floor(amount_fen, floors)


@dataclass(frozen=True)
class CreditRatingFact:
    manufacturer: str
    #: Rating province as a 6-digit code (only the first two digits are compared).
    province: str
    grade: CreditGrade
    product_keys: frozenset[str] = field(default_factory=frozenset)
    effective_from: date = date.min
    repaired_on: date | None = None

    def in_force(self, on: date) -> bool:
        return self.effective_from <= on and (self.repaired_on is None or on < self.repaired_on)


def bid_blocked(
    ratings: Iterable[CreditRatingFact],
    *,
    manufacturer: str,
    province: str,
    product_key: str,
    on: date,
    thresholds: Thresholds = DEFAULT_2025,
) -> str | None:
    """Why a manufacturer may not bid with this product in this province on this date, or None.

    特别严重失信 in province P: all its products in P, and the products involved in every province
    (ratings reach through to the MAH, §7.2). 严重失信: the products involved, in the rating province.
    """
    for r in ratings:
        if r.manufacturer != manufacturer or not r.in_force(on):
            continue
        same_province = r.province[:2] == province[:2]
        involved = product_key in r.product_keys
        if r.grade is CreditGrade.PARTICULARLY_SERIOUS and (same_province or involved):
            return (
                "particularly_serious_all_products"
                if same_province
                else "particularly_serious_involved_product"
            )
        if (
            r.grade is CreditGrade.SERIOUS
            and thresholds.serious_blocks_involved_products
            and same_province
            and involved
        ):
            return "serious_involved_product"
    return None
