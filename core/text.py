"""What text the platform accepts: the one rule every schema, form and upload applies.

Names, references and reasons end up in lists, PDFs, spreadsheets and the audit trail, where
invisible characters spoof what people read: a right-to-left override turns "医院‮gnp.exe" around,
a zero-width space makes two names that look the same differ, a control character breaks a PDF
line or a terminal. None of them has a use in this platform's text, so they are refused with a
message naming the field, never silently stripped (a changed name must be seen by its author).
"""

from __future__ import annotations

import re
import unicodedata

#: Every code point of the Unicode categories Cc (controls, C0 and C1), Cf (format: the bidi
#: embeddings, overrides and isolates U+202A–U+202E and U+2066–U+2069, the marks U+200E, U+200F
#: and U+061C, the zero-width U+200B–U+200D and U+2060, the BOM U+FEFF, the soft hyphen, tags),
#: Cs (lone surrogates: no encoding can store them), Zl and Zp (line and paragraph separators),
#: Unicode 14 as in Python 3.11 (tests/security/test_hostile_text.py compares it with
#: unicodedata), except tab, line feed and carriage return, which LINE_BREAKS covers.
FORBIDDEN_TEXT = re.compile(
    "["
    "\x00-\x08\x0b-\x0c\x0e-\x1f\x7f-\x9f\xad"
    "\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e"
    "\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f"
    "\ud800-\udfff\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U00013438\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f"
    "]"
)
#: Allowed only in fields declared multi-line (notes, reasons): tab, line feed, carriage return.
LINE_BREAKS = re.compile(r"[\t\n\r]")
#: The controls a secret (a password) may not hold either: it is never displayed, so format
#: characters do no harm there, but NUL and surrogates cannot be stored or hashed.
SECRET_FORBIDDEN = re.compile("[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f\ud800-\udfff]")

SURROGATE = "不能包含无效的 Unicode 代理字符 (lone surrogates are not allowed)"
CONTROL = "不能包含控制字符 (control characters are not allowed)"
INVISIBLE = (
    "不能包含不可见的格式字符，如从右到左覆盖、零宽字符 "
    "(invisible formatting characters such as right-to-left overrides "
    "or zero-width characters are not allowed)"
)
LINE_BREAK = "不能包含换行符或制表符 (line breaks and tabs are not allowed here)"


def text_problem(text: str, *, multiline: bool = False, secret: bool = False) -> str | None:
    """Why `text` may not be stored, or None. `multiline`: tabs and line breaks allowed;
    `secret`: only what cannot be stored is refused (passwords)."""
    if secret:
        found = SECRET_FORBIDDEN.search(text)
        return None if found is None else _reason(found.group())
    found = FORBIDDEN_TEXT.search(text)
    if found is not None:
        return _reason(found.group())
    if not multiline and LINE_BREAKS.search(text):
        return LINE_BREAK
    return None


def _reason(char: str) -> str:
    category = unicodedata.category(char)
    if category == "Cs":
        return SURROGATE
    if category == "Cc":
        return CONTROL
    return INVISIBLE


def path_segment(key: object, limit: int = 64) -> str:
    """A field name fit to quote in an error: printable (escapes instead of surrogates, controls
    or invisible characters) and at most `limit` characters."""
    text = str(key)
    if FORBIDDEN_TEXT.search(text) or LINE_BREAKS.search(text):
        text = text.encode("unicode_escape").decode("ascii")
    return text if len(text) <= limit else text[:limit] + "…"
