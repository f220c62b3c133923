"""统一社会信用代码 (unified social credit code) validation per GB 32100-2015.

18 characters from a 31-character set (no I, O, Z, S, V): registration authority (1),
organization type (1), administrative division code (6 digits), organization code (9), check (1).
The check character is C18 = 31 − (Σ Ci·Wi mod 31), with 31 written as 0.
"""

from __future__ import annotations

import re

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_SHAPE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")

#: First two digits of valid provincial-level administrative division codes (GB/T 2260).
PROVINCE_PREFIXES = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
    ]
)


def check_char(first17: str) -> str:
    """The GB 32100-2015 check character for the first 17 characters."""
    total = sum(CHARSET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def uscc_error(code: str) -> str | None:
    """Why `code` is not a valid USCC (Chinese first), or None when it is valid."""
    if len(code) != 18:
        return "统一社会信用代码须为18位 (must be 18 characters)"
    if not _SHAPE.match(code):
        return "统一社会信用代码含非法字符 (invalid characters; I, O, Z, S, V are never used)"
    if check_char(code[:17]) != code[17]:
        return "统一社会信用代码校验位错误 (check character does not match, GB 32100-2015)"
    return None


def make_uscc(first17: str) -> str:
    """Complete 17 characters with their check character (demo data and test factories)."""
    return first17 + check_char(first17)


def region_code_error(code: str) -> str | None:
    """Why `code` is not a 6-digit administrative division code, or None."""
    if not re.fullmatch(r"\d{6}", code or ""):
        return "行政区划代码须为6位数字 (region must be a 6-digit administrative division code)"
    if code[:2] not in PROVINCE_PREFIXES:
        return "行政区划代码的省级前缀无效 (unknown province prefix)"
    return None
