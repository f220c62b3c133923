"""Change stamps for the sync interface (ledger/sync): every row of a mirrored table carries the
id of the transaction that last wrote it and a sequence number, set by the database itself.

Why the database and not the ORM: the codebase writes with Core bulk statements
(`session.execute(insert(...), rows)`, `update(...)`) that ORM events never see. A trigger sees
every write, whoever makes it.

- PostgreSQL: a BEFORE INSERT OR UPDATE trigger sets `sync_xid = pg_current_xact_id()` and
  `sync_seq = nextval('sync_seq')`. A reader only returns rows whose xid is below the xmin of its
  snapshot: every transaction below it has ended, so no row can later appear behind the cursor.
- SQLite: writers are serialised (one write lock, BEGIN IMMEDIATE in app/db.py), so a per-table
  counter taken under that lock is already in commit order; `sync_xid` stays 0. SQLite cannot
  change NEW in a BEFORE trigger, so AFTER triggers update the row.

A model takes the columns with the `ChangeStamped` mixin; its migration calls `install(table)`.
Migrations import this module (core only), never the models.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Index
from sqlalchemy.orm import Mapped, mapped_column

SEQUENCE = "sync_seq"
FUNCTION = "sync_stamp"


class ChangeStamped:
    """Mixin: `sync_xid` and `sync_seq` columns (set by triggers) and their (xid, seq) index."""

    #: Writing transaction's id (PostgreSQL pg_current_xact_id(); 0 on SQLite). Set by trigger.
    sync_xid: Mapped[int] = mapped_column(BigInteger, server_default="0")
    #: Sequence number of the last write (global sequence on PostgreSQL, per table on SQLite).
    sync_seq: Mapped[int] = mapped_column(BigInteger, server_default="0")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table = getattr(cls, "__table__", None)
        if table is not None and f"ix_{table.name}_sync" not in {ix.name for ix in table.indexes}:
            Index(f"ix_{table.name}_sync", table.c.sync_xid, table.c.sync_seq)


def postgresql_function() -> list[str]:
    """The sequence and the one trigger function every stamped table shares (PostgreSQL)."""
    return [
        f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE}",
        f"""CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.sync_xid := pg_current_xact_id()::text::bigint;
    NEW.sync_seq := nextval('{SEQUENCE}');
    RETURN NEW;
END
$$""",
    ]


def install(table: str, dialect: str) -> list[str]:
    """DDL stamping every insert and update of `table` from now on, then stamping its rows.

    `table` is a name from a migration's own constant tuple, never input (hence the S608 noqa)."""
    if dialect == "postgresql":
        return [
            f"CREATE TRIGGER {table}_sync_stamp BEFORE INSERT OR UPDATE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()",
            f"UPDATE {table} SET sync_seq = 0",  # noqa: S608 (the trigger stamps the existing rows)
        ]
    following = f"(SELECT sync_seq + 1 FROM {table} WHERE sync_xid = 0 ORDER BY sync_seq DESC LIMIT 1)"  # noqa: S608
    stamp = f"UPDATE {table} SET sync_seq = coalesce({following}, 1) WHERE id = NEW.id;"  # noqa: S608
    return [
        f"CREATE TRIGGER {table}_sync_insert AFTER INSERT ON {table} BEGIN {stamp} END",
        # The insert trigger's own UPDATE changes sync_seq, so it does not stamp twice.
        f"CREATE TRIGGER {table}_sync_update AFTER UPDATE ON {table} "
        f"WHEN NEW.sync_seq IS OLD.sync_seq BEGIN {stamp} END",
        f"UPDATE {table} SET sync_xid = 0",  # noqa: S608
    ]


def uninstall(table: str, dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [f"DROP TRIGGER IF EXISTS {table}_sync_stamp ON {table}"]
    return [f"DROP TRIGGER IF EXISTS {table}_sync_insert", f"DROP TRIGGER IF EXISTS {table}_sync_update"]


def postgresql_drop_function() -> list[str]:
    return [f"DROP FUNCTION IF EXISTS {FUNCTION}()", f"DROP SEQUENCE IF EXISTS {SEQUENCE}"]
