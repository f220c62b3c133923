"""Monthly partitions of the history tables on PostgreSQL (issue 21 item 3).

Postings gain `occurred_on`, their entry's business date (both databases): a posting had no date
of its own, and a partitioned table needs its key in every row. On PostgreSQL the five history
tables are then rebuilt range-partitioned by month on the column their period queries use, read
from the live table (core/partition_convert.py), so columns and keys added by migrations that
run before this one are carried unchanged. SQLite keeps plain tables.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07 16:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.partition_convert import to_partitioned, to_plain

revision: str = "0029"
down_revision: str | Sequence[str] | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, partition key): fixed here so this revision never changes with later policy edits.
TABLES = (
    ("audit_events", "at"),
    ("postings", "occurred_on"),
    ("reconciliation_findings", "ordered_on"),
    ("trace_codes", "attached_on"),
    ("idempotency_keys", "created_at"),
)
_BACKFILL = "UPDATE postings SET occurred_on = (SELECT e.occurred_on FROM journal_entries e WHERE e.id = postings.entry_id)"
_SQLITE_APPEND_ONLY = [
    f"CREATE TRIGGER postings_no_{verb.lower()} BEFORE {verb} ON postings "
    "BEGIN SELECT RAISE(ABORT, 'postings is append-only'); END"
    for verb in ("UPDATE", "DELETE")
]


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.add_column("postings", sa.Column("occurred_on", sa.Date(), nullable=True))
        op.execute("ALTER TABLE postings DISABLE TRIGGER postings_append_only")
        op.execute(_BACKFILL)
        op.execute("ALTER TABLE postings ENABLE TRIGGER postings_append_only")
        op.alter_column("postings", "occurred_on", nullable=False)
        for table, key in TABLES:
            to_partitioned(bind, table, key)
        return
    # SQLite: the append-only triggers refuse the backfill, and batch mode rebuilds the table
    # without them: drop them for the change and put them back.
    op.execute("DROP TRIGGER postings_no_update")
    op.execute("DROP TRIGGER postings_no_delete")
    op.add_column("postings", sa.Column("occurred_on", sa.Date(), nullable=True))
    op.execute(_BACKFILL)
    with op.batch_alter_table("postings") as batch_op:
        batch_op.alter_column("occurred_on", existing_type=sa.Date(), nullable=False)
    for ddl in _SQLITE_APPEND_ONLY:
        op.execute(ddl)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        for table, key in reversed(TABLES):
            to_plain(bind, table, key)
        op.drop_column("postings", "occurred_on")
        return
    op.execute("DROP TRIGGER postings_no_update")
    op.execute("DROP TRIGGER postings_no_delete")
    with op.batch_alter_table("postings") as batch_op:
        batch_op.drop_column("occurred_on")
    for ddl in _SQLITE_APPEND_ONLY:
        op.execute(ddl)
