"""What a constraint the database enforced means to the caller.

Services check their unique keys before writing, but two concurrent requests can both pass the
check; the database then refuses the second at the unique index. That is a conflict, not a crash:
`violation_conflict` turns the IntegrityError into a `ConstraintViolated` (a 409 `Conflict`)
naming the key's columns, found in the metadata by the constraint's name (deterministic on both
databases, core/db.py) or, on SQLite, read from the message. A foreign-key or check violation
means a parent removed under a concurrent write, or a bug: a 409 as well, logged as a warning.
A NOT NULL violation is only ever a bug and is left alone (a 500).

The one caller is the unit-of-work boundary (app/db.py), so no service needs its own
try/except for a race on a key.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKeyConstraint, MetaData, Table, UniqueConstraint
from sqlalchemy.exc import IntegrityError

from core.db import Base
from core.errors import Conflict

log = logging.getLogger(__name__)

UNIQUE, FOREIGN_KEY, CHECK = "unique", "foreign_key", "check"
#: SQLSTATE class 23 codes (PostgreSQL) → kind; NOT NULL (23502) is deliberately absent.
_SQLSTATES = {"23505": UNIQUE, "23503": FOREIGN_KEY, "23514": CHECK}
#: SQLite's messages: "UNIQUE constraint failed: t.a, t.b" | "... failed: index 'name'",
#: "FOREIGN KEY constraint failed", "CHECK constraint failed: name".
_SQLITE = re.compile(r"^(UNIQUE|FOREIGN KEY|CHECK) constraint failed(?::\s*(.*))?$")
_SQLITE_KINDS = {"UNIQUE": UNIQUE, "FOREIGN KEY": FOREIGN_KEY, "CHECK": CHECK}
#: PostgreSQL's detail of a unique violation: "Key (a, b)=(1, 2) already exists."
_PG_KEY = re.compile(r"^Key \((?P<columns>[^)]*)\)=")

_MESSAGES = {
    UNIQUE: ("duplicate", "与已有记录重复 (duplicates an existing record)", "已存在 (already exists)"),
    FOREIGN_KEY: (
        "reference_gone",
        "引用的记录不存在或已被删除 (a referenced record does not exist or was removed)",
        "引用的记录不存在 (the referenced record does not exist)",
    ),
    CHECK: (
        "constraint_violated",
        "数据不满足数据库约束，未写入任何数据 (the data breaks a database constraint; nothing was written)",
        "不满足约束 (breaks a constraint)",
    ),
}


class ConstraintViolated(Conflict):
    """A write the database refused by a unique, foreign-key or check constraint."""

    def __init__(
        self,
        message: str,
        *,
        code: str,
        fields: dict[str, list[str]],
        kind: str,
        table: str | None,
        constraint: str | None,
    ) -> None:
        super().__init__(message, code=code, fields=fields)
        self.kind, self.table, self.constraint = kind, table, constraint


@dataclass(frozen=True)
class _Violation:
    kind: str
    table: str | None = None
    constraint: str | None = None
    columns: tuple[str, ...] = ()


def violation_conflict(exc: IntegrityError, metadata: MetaData = Base.metadata) -> ConstraintViolated | None:
    """The conflict an integrity error means; None for one that is a bug (NOT NULL, unknown)."""
    violation = _postgresql(exc.orig) or _sqlite(exc.orig)
    if violation is None:
        return None
    violation = _complete(violation, metadata)
    code, message, reason = _MESSAGES[violation.kind]
    if violation.kind == UNIQUE:
        log.info(
            "unique key %s of %s already taken (a concurrent write)", violation.constraint, violation.table
        )
    else:
        # A bug or a parent removed under a concurrent write: worth a look. Not the row's values
        # (the driver's detail quotes them), only which constraint refused it.
        log.warning(
            "%s constraint %s of %s refused a write", violation.kind, violation.constraint, violation.table
        )
    return ConstraintViolated(
        message,
        code=code,
        fields={column: [reason] for column in violation.columns},
        kind=violation.kind,
        table=violation.table,
        constraint=violation.constraint,
    )


def _postgresql(orig: Any) -> _Violation | None:
    kind = _SQLSTATES.get(getattr(orig, "sqlstate", None) or "")
    diag = getattr(orig, "diag", None)
    if kind is None or diag is None:
        return None
    columns: tuple[str, ...] = ()
    if kind == UNIQUE and (match := _PG_KEY.match(diag.message_detail or "")):
        columns = tuple(c.strip().strip('"') for c in match["columns"].split(","))
    return _Violation(kind, diag.table_name, diag.constraint_name, columns)


def _sqlite(orig: Any) -> _Violation | None:
    if getattr(orig, "sqlstate", None) is not None:
        return None
    match = _SQLITE.match(str(orig).strip())
    if match is None:
        return None
    kind, rest = _SQLITE_KINDS[match[1]], (match[2] or "").strip()
    if kind == UNIQUE and rest.startswith("index "):
        return _Violation(kind, constraint=rest.removeprefix("index ").strip("'\""))
    if kind == UNIQUE and rest:
        qualified = [part.strip().split(".", 1) for part in rest.split(",")]
        return _Violation(kind, table=qualified[0][0], columns=tuple(c[-1] for c in qualified))
    return _Violation(kind, constraint=rest or None)


def _complete(violation: _Violation, metadata: MetaData) -> _Violation:
    """Fill in the table, the constraint's name and its columns from the metadata."""
    known = [c for c in constraints(metadata) if c[3] == violation.kind]
    by_name = [c for c in known if c[1] == violation.constraint and violation.table in (None, c[0])]
    by_columns = [
        c
        for c in known
        if c[0] == violation.table and violation.columns and set(c[2]) == set(violation.columns)
    ]
    for table, name, columns, kind in by_name or by_columns:
        return _Violation(kind, table, name, columns)
    return violation


def constraints(metadata: MetaData) -> Iterator[tuple[str, str, tuple[str, ...], str]]:
    """(table, constraint name, columns, kind) of every named constraint and unique index."""
    for table in metadata.tables.values():
        for constraint in table.constraints:
            if isinstance(constraint, UniqueConstraint):
                kind, columns = UNIQUE, tuple(c.name for c in constraint.columns)
            elif isinstance(constraint, ForeignKeyConstraint):
                kind, columns = FOREIGN_KEY, tuple(c.name for c in constraint.columns)
            elif isinstance(constraint, CheckConstraint):
                kind, columns = CHECK, _mentioned(table, str(constraint.sqltext))
            else:
                continue
            if isinstance(constraint.name, str):
                yield table.name, constraint.name, columns, kind
        for index in table.indexes:
            if index.unique and isinstance(index.name, str):
                yield table.name, index.name, tuple(c.name for c in index.columns), UNIQUE


def _mentioned(table: Table, sql: str) -> tuple[str, ...]:
    """The table's columns a check constraint's SQL names (its fields, for the caller)."""
    words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", sql))
    return tuple(c.name for c in table.columns if c.name in words)
