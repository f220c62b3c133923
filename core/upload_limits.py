"""What one spreadsheet upload may cost the server, checked before any parser sees it.

An xlsx is a zip of XML parts. A 100 KB file can unpack to gigabytes (a zip bomb), hold a single
cell or shared string of 100 MB, lie in its zip headers about sizes, or declare XML entities that
expand without end; openpyxl would parse all of it (the shared strings, styles and workbook parts
whole, only the sheet streamed) before the platform could say no. `check_parts` unpacks every part
as a stream first and refuses, with the reason:

- more parts than `max_parts`; a total, declared or actual, beyond `max_unpacked_bytes`; a part
  beyond its own bound (shared strings, any other part parsed whole); a part yielding more than its
  header declared;
- a part above 1 MiB compressing better than `max_compression_ratio` to 1;
- a DTD in an XML part (the Open Packaging Conventions, ECMA-376 Part 2, forbid them);
- a run of XML between two tags longer than any cell of `max_cell_chars` characters could need.

Error messages quote at most `EXCERPT_CHARS` characters of what was sent (`excerpt`).
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass

__all__ = [
    "DEFAULT_LIMITS",
    "EXCERPT_CHARS",
    "MSG_DAMAGED",
    "MiB",
    "SpreadsheetLimits",
    "UploadRefused",
    "check_parts",
    "excerpt",
    "size_text",
]

MiB = 1024 * 1024
MSG_DAMAGED = "无法读取 xlsx 工作簿，文件可能已损坏 (cannot read the xlsx workbook; the file may be damaged)"


class UploadRefused(Exception):
    """The upload costs more than the limits allow; the message says why (Chinese first)."""


@dataclass(frozen=True)
class SpreadsheetLimits:
    """Upper bounds checked while reading, so one upload cannot exhaust the server."""

    max_bytes: int = 10 * MiB
    max_rows: int = 200_000
    #: Sum of the unpacked sizes of an xlsx's parts, declared and actual (zip-bomb guard). A
    #: 200,000-row order sheet unpacks to about 35 MiB.
    max_unpacked_bytes: int = 256 * MiB
    #: Unpacked ÷ packed size of any part above 1 MiB: workbooks compress about 15 to 1; a
    #: 100 MB run of one letter about 1000 to 1.
    max_compression_ratio: int = 100
    #: The shared-string table is loaded whole (the sheet itself is streamed).
    max_shared_strings_bytes: int = 64 * MiB
    #: Any other part (styles, theme, workbook...) is parsed whole, and is small in a real workbook.
    max_other_part_bytes: int = 8 * MiB
    #: Longest cell or shared string, in characters: Excel's own limit.
    max_cell_chars: int = 32_767
    #: Parts in the zip (a workbook has about ten).
    max_parts: int = 10_000
    #: Cell errors listed before reading stops; the rest of the file is not reported.
    max_errors: int = 1000

    def __post_init__(self) -> None:
        values = (
            self.max_bytes,
            self.max_rows,
            self.max_unpacked_bytes,
            self.max_compression_ratio,
            self.max_shared_strings_bytes,
            self.max_other_part_bytes,
            self.max_cell_chars,
            self.max_parts,
            self.max_errors,
        )
        if min(values) < 1:
            raise ValueError("spreadsheet limits must be positive")

    @property
    def max_text_run_bytes(self) -> int:
        """The longest run of XML between two tags a legitimate cell can need: every character
        escaped as "&quot;" (6 bytes), plus room for the tag's attributes."""
        return 6 * self.max_cell_chars + 1024


DEFAULT_LIMITS = SpreadsheetLimits()


def size_text(n: int) -> str:
    """Bytes as a short human size (10 MiB, 512 KiB, 100 bytes)."""
    if n % MiB == 0:
        return f"{n // MiB} MiB"
    if n % 1024 == 0:
        return f"{n // 1024} KiB"
    return f"{n} bytes"


#: Characters of bad input an error message may quote.
EXCERPT_CHARS = 40
#: What an excerpt never shows as is: control, format (bidi, zero-width) and separator characters.
_UNPRINTABLE = frozenset(("Cc", "Cf", "Cs", "Co", "Zl", "Zp"))


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """At most `limit` characters of `text` for an error message, "…" when cut; invisible or
    control characters shown as U+FFFD (a message must not reorder or hide what it quotes)."""
    cut = text[:limit]
    shown = "".join("\ufffd" if unicodedata.category(c) in _UNPRINTABLE else c for c in cut)
    return shown + ("…" if len(text) > limit else "")


#: Parts smaller than this are never refused for their compression ratio (an empty part's is huge).
_RATIO_FLOOR = MiB
_CHUNK = MiB


def check_parts(data: bytes, limits: SpreadsheetLimits) -> None:
    """Refuse a zip that would unpack beyond the limits, before openpyxl opens it: the declared
    sizes and ratios first (cheap), then every part unpacked as a stream, counting the bytes it
    really yields and the longest text run of its XML (a cell or shared string of megabytes)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts = archive.infolist()
            if len(parts) > limits.max_parts:
                raise UploadRefused(f"工作簿的部件过多 (the workbook has more than {limits.max_parts} parts)")
            if sum(part.file_size for part in parts) > limits.max_unpacked_bytes:
                raise _unpacks_too_big(limits)
            for part in parts:
                if part.file_size > _part_limit(part.filename, limits):
                    raise _part_too_big(part.filename, limits)
                ratio = part.file_size / max(part.compress_size, 1)
                if part.file_size > _RATIO_FLOOR and ratio > limits.max_compression_ratio:
                    raise UploadRefused(
                        f"工作簿部件的压缩比异常（超过 {limits.max_compression_ratio}:1），疑似压缩炸弹 "
                        f"(a part of the workbook compresses more than {limits.max_compression_ratio} "
                        "to 1: refused as a possible zip bomb)"
                    )
            budget = limits.max_unpacked_bytes
            for part in parts:
                budget -= _scan_part(archive, part, budget, limits)
    except UploadRefused:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError, RuntimeError) as exc:
        # RuntimeError: an encrypted part; NotImplementedError (a RuntimeError): unknown compression.
        raise UploadRefused(MSG_DAMAGED) from exc


def _part_limit(name: str, limits: SpreadsheetLimits) -> int:
    """How big a part may unpack: worksheets are streamed, the rest is parsed whole."""
    lowered = name.lower()
    if lowered.startswith("xl/worksheets/") and lowered.endswith(".xml"):
        return limits.max_unpacked_bytes
    if lowered == "xl/sharedstrings.xml":
        return limits.max_shared_strings_bytes
    return limits.max_other_part_bytes


def _part_too_big(name: str, limits: SpreadsheetLimits) -> UploadRefused:
    size = size_text(_part_limit(name, limits))
    return UploadRefused(
        f"工作簿部件“{excerpt(name)}”解压后超过 {size} (a part of the workbook unpacks to more than {size})"
    )


#: Package parts never declare a DTD (ECMA-376 Part 2, Open Packaging Conventions); one that
#: does is an entity-expansion attack ("billion laughs") on the XML parser.
_DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


def _scan_part(
    archive: zipfile.ZipFile, part: zipfile.ZipInfo, budget: int, limits: SpreadsheetLimits
) -> int:
    """Unpack one part as a stream; its size in bytes. Refuses a part yielding more than it
    declared, than its own limit or than the budget left, an XML part declaring a DTD, and an XML
    part with a text run no cell could need."""
    xml = part.filename.lower().endswith((".xml", ".rels", ".vml"))
    size = run = 0
    tail = b""
    with archive.open(part) as stream:
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            if size > part.file_size or size > budget:
                raise _unpacks_too_big(limits)
            if size > _part_limit(part.filename, limits):
                raise _part_too_big(part.filename, limits)
            if not xml:
                continue
            if _DTD.search(tail + chunk):
                raise UploadRefused(
                    "工作簿含有 DTD 声明，不被接受 (the workbook declares a DTD: refused as an entity attack)"
                )
            tail = chunk[-16:]
            pieces = chunk.split(b"<")  # runs between tags; the last one goes on in the next chunk
            if len(pieces) == 1:
                run += len(chunk)
                longest = run
            else:
                longest = max(run + len(pieces[0]), max(map(len, pieces[1:]), default=0))
                run = len(pieces[-1])
            if longest > limits.max_text_run_bytes:
                chars = limits.max_cell_chars
                raise UploadRefused(
                    f"单元格或共享字符串超过 {chars} 个字符，请检查文件 "
                    f"(a cell or shared string is longer than {chars} characters)"
                )
    return size


def _unpacks_too_big(limits: SpreadsheetLimits) -> UploadRefused:
    size = size_text(limits.max_unpacked_bytes)
    return UploadRefused(
        f"工作簿解压后超过 {size}，请拆分后上传 (the workbook unpacks to more than {size}; split it)"
    )
