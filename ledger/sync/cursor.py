"""The opaque sync cursor: base64url of {"v", "c": collection, "x": xid, "s": seq}.

Not signed: a forged cursor reveals nothing, because every page is cut from the caller's own
scoped select; it can only skip or repeat the caller's own changes.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from core.errors import DomainError

VERSION = 1


class InvalidCursor(DomainError):
    code = "invalid_cursor"
    message = "同步游标无效 (invalid sync cursor)"


@dataclass(frozen=True, order=True)
class Position:
    """A point in a collection's change order: after the change (xid, seq)."""

    xid: int
    seq: int


#: Before every change (stamps are ≥ 0; rows written before the stamps existed were stamped by
#: the migration).
START = Position(-1, -1)


def encode(collection: str, position: Position) -> str:
    raw = json.dumps({"v": VERSION, "c": collection, "x": position.xid, "s": position.seq})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(collection: str, cursor: str | None) -> Position:
    """The position a cursor names; an absent cursor is the start. Raises InvalidCursor (400,
    naming `cursor`) for anything else, including a cursor of another collection."""
    if not cursor:
        return START
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if not isinstance(data, dict) or data.get("v") != VERSION:
            raise ValueError("version")
        xid, seq = data["x"], data["s"]
        if not all(type(v) is int and v >= -1 for v in (xid, seq)):
            raise ValueError("position")
    except (ValueError, KeyError, TypeError, UnicodeError, binascii.Error) as exc:
        raise InvalidCursor(fields={"cursor": ["无法解析的游标 (malformed cursor)"]}) from exc
    if data.get("c") != collection:
        raise InvalidCursor(fields={"cursor": [f"游标不属于 {collection} (cursor of another collection)"]})
    return Position(xid, seq)
