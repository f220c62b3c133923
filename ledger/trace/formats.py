"""The format rules of a traceability code, and its one canonical stored form (plain Python).

- Domestic (国内药品追溯码): 20 digits starting with 8 (7 product + 9 serial + 4 check;
  supervision-and-interop.md §5). The check part's algorithm is not published, so it is not
  verified here: the national service filters on "20 digits starting with 8" and so do we.
- Imported (GS1): element string with AI (01) GTIN-14 (its mod-10 check digit IS published, GS1
  General Specifications §7.9.1, and verified) and AI (21) serial (1–20 characters of the GS1
  "character set 82"), optionally (17) expiry YYMMDD and (10) batch (1–20 characters). Accepted
  as the human-readable form "(01)…(21)…" or the raw scanner form with FNC1/GS (\\x1d) separators
  after variable-length fields (an optional symbology identifier "]d2", "]C1", "]Q3" and a
  leading FNC1 are dropped).

Canonical form: a domestic code as is; a GS1 code as "01" + GTIN + "21" + serial. (01) and (21)
identify the pack; expiry and batch describe it, so two scans of one pack with and without them
are the same code. (21) comes last and runs to the end, so the canonical form needs no separator
and cannot collide with a domestic code (which starts with 8).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date

GS = "\x1d"
#: Longest canonical code: "01" + 14 + "21" + 20.
MAX_CODE_CHARS = 38


class CodeKind(enum.StrEnum):
    DOMESTIC = "domestic"  #: 国内药品追溯码（20位）
    GS1 = "gs1"  #: 进口药品 GS1 码


class CodeFormatError(ValueError):
    """Why a code is refused (Chinese first)."""


@dataclass(frozen=True)
class ParsedCode:
    code: str  #: canonical form
    kind: CodeKind
    gtin: str | None = None
    serial: str | None = None
    expiry: date | None = None
    batch: str | None = None


_DOMESTIC = re.compile(r"8\d{19}")
#: GS1 AI encodable character set 82 (GS1 General Specifications, figure 7.11-1).
_CSET82 = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}")
_SYMBOLOGY = ("]d2", "]C1", "]Q3", "]e0")
#: Fixed-length AIs we read and their value lengths; the variable ones end at GS or the end.
_FIXED = {"01": 14, "17": 6}
_VARIABLE = {"10", "21"}
_HUMAN = re.compile(r"\((\d{2})\)")


def gtin_check_digit(body: str) -> int:
    """GS1 mod-10 check digit of the digits before it: weights 3,1,3,… from the right."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def parse(raw: str) -> ParsedCode:
    """The canonical code, or CodeFormatError saying which rule it breaks."""
    text = raw.strip(" \t\r\n")
    if not text:
        raise CodeFormatError("追溯码为空 (empty code)")
    if text.isdigit() and not text.startswith("01"):
        if len(text) != 20:
            raise CodeFormatError(
                f"国内追溯码须为20位数字，此码{len(text)}位 (a domestic code has 20 digits)"
            )
        if not _DOMESTIC.fullmatch(text):
            raise CodeFormatError("国内追溯码须以8开头 (a domestic code starts with 8)")
        return ParsedCode(text, CodeKind.DOMESTIC)
    fields = _human_fields(text) if text.startswith("(") else _raw_fields(text)
    return _gs1(fields)


def _human_fields(text: str) -> list[tuple[str, str]]:
    parts = _HUMAN.split(text)
    if parts[0]:
        raise CodeFormatError("GS1 码格式有误 (malformed GS1 element string)")
    return [(parts[i], parts[i + 1]) for i in range(1, len(parts), 2)]


def _raw_fields(text: str) -> list[tuple[str, str]]:
    for prefix in _SYMBOLOGY:
        if text.startswith(prefix):
            text = text[len(prefix) :]
    text = text.lstrip(GS)
    fields: list[tuple[str, str]] = []
    while text:
        ai, text = text[:2], text[2:]
        if ai in _FIXED:
            size = _FIXED[ai]
            if len(text) < size:
                raise CodeFormatError(f"GS1 AI ({ai}) 长度不足 (AI ({ai}) is too short)")
            fields.append((ai, text[:size]))
            text = text[size:].lstrip(GS)
        elif ai in _VARIABLE:
            value, _, text = text.partition(GS)
            fields.append((ai, value))
        else:
            raise CodeFormatError(f"不支持的 GS1 应用标识符 ({ai}) (unsupported GS1 AI ({ai}))")
    return fields


def _gs1(fields: list[tuple[str, str]]) -> ParsedCode:
    values: dict[str, str] = {}
    for ai, value in fields:
        if ai in values:
            raise CodeFormatError(f"GS1 AI ({ai}) 重复 (AI ({ai}) appears twice)")
        if ai not in _FIXED and ai not in _VARIABLE:
            raise CodeFormatError(f"不支持的 GS1 应用标识符 ({ai}) (unsupported GS1 AI ({ai}))")
        values[ai] = value
    gtin, serial = values.get("01"), values.get("21")
    if gtin is None or serial is None:
        raise CodeFormatError("进口药品码须含 (01) GTIN 与 (21) 序列号 (a GS1 code needs AI (01) and (21))")
    if not re.fullmatch(r"\d{14}", gtin):
        raise CodeFormatError("(01) GTIN 须为14位数字 (AI (01) is 14 digits)")
    if gtin_check_digit(gtin[:13]) != int(gtin[13]):
        raise CodeFormatError("(01) GTIN 校验位错误 (AI (01) check digit is wrong)")
    if not _CSET82.fullmatch(serial):
        raise CodeFormatError("(21) 序列号须为1–20位 GS1 字符 (AI (21) is 1–20 GS1 characters)")
    batch = values.get("10")
    if batch is not None and not _CSET82.fullmatch(batch):
        raise CodeFormatError("(10) 批号须为1–20位 GS1 字符 (AI (10) is 1–20 GS1 characters)")
    expiry = _expiry(values["17"]) if "17" in values else None
    return ParsedCode(f"01{gtin}21{serial}", CodeKind.GS1, gtin, serial, expiry, batch)


def _expiry(value: str) -> date:
    """(17) YYMMDD; DD 00 means the month's last day (GS1 §3.4.4); YY in a 2000s century window."""
    if not re.fullmatch(r"\d{6}", value):
        raise CodeFormatError("(17) 有效期须为 YYMMDD (AI (17) is YYMMDD)")
    year, month, day = 2000 + int(value[:2]), int(value[2:4]), int(value[4:])
    try:
        if day == 0:
            following = date(year + month // 12, month % 12 + 1, 1)
            return date.fromordinal(following.toordinal() - 1)
        return date(year, month, day)
    except ValueError as exc:
        raise CodeFormatError("(17) 有效期不是有效日期 (AI (17) is not a date)") from exc
