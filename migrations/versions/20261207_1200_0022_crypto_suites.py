"""Cryptographic suites (issue 20 item 5): sealed bids, audit events, idempotency records and
statements record the suite that made them (core/crypto_suites.py). Existing rows were all made
with the standard suite (AES-256-GCM, SHA-256), which is the columns' default. A statement's suite,
like its digests, never changes.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | Sequence[str] | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("bids", "audit_events", "idempotency_keys", "statements")

_PG_FREEZE = """
CREATE FUNCTION statements_suite_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'statement data is frozen; generate a new version';
END $$
"""


def upgrade() -> None:
    # SQLite adds a column with a constant default in place (no table copy: triggers stay).
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("suite", sa.String(length=16), server_default="standard", nullable=False)
            )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FREEZE)
        op.execute(
            "CREATE TRIGGER statements_suite_frozen BEFORE UPDATE OF suite ON statements FOR EACH ROW "
            "WHEN (NEW.suite IS DISTINCT FROM OLD.suite) EXECUTE FUNCTION statements_suite_frozen()"
        )
    else:
        op.execute(
            "CREATE TRIGGER statements_suite_frozen BEFORE UPDATE OF suite ON statements "
            "WHEN NEW.suite IS NOT OLD.suite "
            "BEGIN SELECT RAISE(ABORT, 'statement data is frozen; generate a new version'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER statements_suite_frozen ON statements")
        op.execute("DROP FUNCTION statements_suite_frozen()")
    else:
        op.execute("DROP TRIGGER statements_suite_frozen")
    # Not batch mode: on SQLite that copies the table, and the copy loses its triggers (the audit
    # trail's and the statements' freezes). SQLite ≥ 3.35 drops a column in place.
    for table in reversed(TABLES):
        op.drop_column(table, "suite")
