"""Checking a list of codes as a whole: each one's format, none twice, and the bounded list of
offenders an error names (shared by attach and receipt)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

from core.errors import ValidationFailed
from core.upload_limits import excerpt
from ledger.trace.formats import CodeFormatError, ParsedCode, parse

#: Offending codes an error or a match report lists; the count says how many there are in all.
MAX_LISTED = 20
#: Codes per IN (...) list: far below SQLite's 32,766 variables and PostgreSQL's 65,535.
CHUNK = 5000

T = TypeVar("T")


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def listed(codes: Iterable[str], total: int, what: str) -> list[str]:
    """A message with the count, then at most MAX_LISTED of the codes."""
    shown = [excerpt(c) for c in list(codes)[:MAX_LISTED]]
    more = f"（另有 {total - len(shown)} 个未列出 / {total - len(shown)} more）" if total > len(shown) else ""
    return [f"{what}：{total} 个 ({total}){more}", *shown]


def parse_all(raw: Sequence[str], *, field: str) -> list[ParsedCode]:
    """Every code parsed, or one ValidationFailed naming `field` with the first offenders (their
    position and the rule broken) and, separately, the codes sent twice."""
    parsed: list[ParsedCode] = []
    bad: list[str] = []
    bad_count = 0
    for i, text in enumerate(raw):
        try:
            parsed.append(parse(text))
        except CodeFormatError as exc:
            bad_count += 1
            if len(bad) < MAX_LISTED:
                bad.append(f"{i + 1}: {excerpt(text)} — {exc}")
    if bad_count:
        raise ValidationFailed(
            f"追溯码格式有误，未写入任何数据 ({bad_count} codes are malformed; nothing was written)",
            fields={field: listed(bad, bad_count, "格式有误的追溯码 (malformed codes)")},
        )
    counts = Counter(p.code for p in parsed)
    twice = [code for code, n in counts.items() if n > 1]
    if twice:
        raise ValidationFailed(
            f"同一追溯码出现多次，未写入任何数据 ({len(twice)} codes appear more than once)",
            code="duplicate_in_upload",
            fields={field: listed(twice, len(twice), "重复的追溯码 (codes sent twice)")},
        )
    return parsed
