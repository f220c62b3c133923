"""National medical-insurance codes (医保编码) for products: the one place their format is checked.

Source: shared/domain/supervision-and-interop.md §4 (医保发〔2019〕39号 coding standards).
- 国家医保药品编码 (drugs): 23 characters, upper-case letters and digits. Segments as in the
  documented example XA01ABD075A002010100483 and the public codes that share its prefix form
  (XB06ACL388B0…, XC05BAD165F0…, ZG02AAG0401…):
    1       X western medicine / Z Chinese patent medicine
    2–6     classification: letter, digit, digit, letter, letter (A01AB; ATC-style for X)
    7–10    name (通用名) code: letter and three digits (D075)
    11      dosage-form group: letter (X: A, B, F …) or digit (Z: 1 …)
    12–23   dosage form, product and package segments: digits
- 中药配方颗粒 (formula granules): 20 characters starting with T [SECONDARY, no finer structure
  documented, so: T then upper-case letters or digits].
- 医保医用耗材编码 (consumables): 27 characters = 20-character base + 7 [SECONDARY]; the published
  codes start with C; the rest is upper-case letters or digits (no finer structure documented).
No check digit is documented for any of them, so none is computed.

Messages are Chinese first and name what is wrong (length, first letter, character at position N);
callers attach them to the field they validated.
"""

from __future__ import annotations

from typing import Literal

Kind = Literal["drug", "consumable"]

DRUG_LENGTH, GRANULE_LENGTH, CONSUMABLE_LENGTH = 23, 20, 27
#: The longest code, for column widths.
MAX_LENGTH = CONSUMABLE_LENGTH

_UPPER = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_DIGIT = frozenset("0123456789")
_ALNUM = _UPPER | _DIGIT

#: Character classes of a 23-character drug code by position (1-based as people count).
_DRUG_CLASSES: tuple[tuple[frozenset[str], str], ...] = (
    (frozenset("XZ"), "X 或 Z (X or Z)"),
    (_UPPER, "大写字母 (an upper-case letter)"),
    (_DIGIT, "数字 (a digit)"),
    (_DIGIT, "数字 (a digit)"),
    (_UPPER, "大写字母 (an upper-case letter)"),
    (_UPPER, "大写字母 (an upper-case letter)"),
    (_UPPER, "大写字母 (an upper-case letter)"),
    (_DIGIT, "数字 (a digit)"),
    (_DIGIT, "数字 (a digit)"),
    (_DIGIT, "数字 (a digit)"),
    (_ALNUM, "大写字母或数字 (an upper-case letter or a digit)"),
    *((_DIGIT, "数字 (a digit)"),) * 12,
)
_SEGMENTS = {
    1: "类别",
    2: "分类",
    3: "分类",
    4: "分类",
    5: "分类",
    6: "分类",
    7: "通用名",
    8: "通用名",
    9: "通用名",
    10: "通用名",
    11: "剂型",
}


def _first_bad(code: str, allowed: frozenset[str], start: int = 1) -> int | None:
    """The 1-based position of the first character outside `allowed`, from `start`."""
    for position, char in enumerate(code[start - 1 :], start=start):
        if char not in allowed:
            return position
    return None


def _at(position: int, char: str, wanted: str) -> str:
    chinese, english = wanted.split(" (", 1)
    return f"第 {position} 位“{char}”应为{chinese} (character at position {position} must be {english[:-1]})"


def drug_code_error(code: str) -> str | None:
    """Why `code` is not a 国家医保药品编码 (23 characters, or a 20-character T granule code)."""
    if code[:1] == "T":
        if len(code) != GRANULE_LENGTH:
            return (
                f"配方颗粒编码须为 {GRANULE_LENGTH} 位，现为 {len(code)} 位 "
                f"(a formula-granule code has {GRANULE_LENGTH} characters, not {len(code)})"
            )
        bad = _first_bad(code, _ALNUM, 2)
        return (
            None
            if bad is None
            else _at(bad, code[bad - 1], "大写字母或数字 (an upper-case letter or a digit)")
        )
    if len(code) != DRUG_LENGTH:
        return (
            f"药品编码须为 {DRUG_LENGTH} 位（配方颗粒 {GRANULE_LENGTH} 位，T 开头），现为 {len(code)} 位 "
            f"(a drug code has {DRUG_LENGTH} characters, formula granules {GRANULE_LENGTH} starting with T; "
            f"got {len(code)})"
        )
    if code[0] not in "XZ":
        return (
            f"首字母须为 X（西药）或 Z（中成药），现为“{code[0]}” "
            f"(first letter must be X for western or Z for Chinese patent medicine)"
        )
    for position, (allowed, wanted) in enumerate(_DRUG_CLASSES, start=1):
        char = code[position - 1]
        if char not in allowed:
            segment = _SEGMENTS.get(position, "剂型、产品和包装")
            return f"{segment}段：" + _at(position, char, wanted)
    return None


def consumable_code_error(code: str) -> str | None:
    """Why `code` is not a 医保医用耗材编码 (27 characters: a 20-character base and 7)."""
    if len(code) != CONSUMABLE_LENGTH:
        return (
            f"耗材编码须为 {CONSUMABLE_LENGTH} 位（20 位基础码 + 7 位），现为 {len(code)} 位 "
            f"(a consumable code has {CONSUMABLE_LENGTH} characters: a 20-character base and 7; "
            f"got {len(code)})"
        )
    if code[0] != "C":
        return f"耗材编码首字母须为 C，现为“{code[0]}” (a consumable code starts with C)"
    bad = _first_bad(code, _ALNUM, 2)
    return (
        None if bad is None else _at(bad, code[bad - 1], "大写字母或数字 (an upper-case letter or a digit)")
    )


def national_code_error(kind: Kind, code: str) -> str | None:
    """Why `code` is not a valid national code for a product of this kind (a drug carries a drug
    code, a consumable a consumable code); None when it is valid."""
    if kind == "drug":
        if len(code) == CONSUMABLE_LENGTH and code[:1] == "C":
            return "药品须填写药品编码，不是耗材编码 (a drug carries a drug code, not a consumable code)"
        return drug_code_error(code)
    if code[:1] in ("X", "Z", "T") and len(code) in (DRUG_LENGTH, GRANULE_LENGTH):
        return "耗材须填写耗材编码，不是药品编码 (a consumable carries a consumable code, not a drug code)"
    return consumable_code_error(code)


def looks_like_national_code(code: str) -> bool:
    """True when `code` is a well-formed drug or consumable code (order uploads accept either)."""
    return drug_code_error(code) is None or consumable_code_error(code) is None
