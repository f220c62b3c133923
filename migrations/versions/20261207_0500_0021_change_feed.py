"""Change feed for the sync interface (issue 19 item 4): every mirrored table gets the writing
transaction's id and a sequence number, stamped by a trigger on every insert and update
(core/change_stamps.py), and an (xid, seq) index the feed reads in order.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 05:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core import change_stamps

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The collections a HIS/ERP mirrors (ledger/sync/collections.py), one table each.
TABLES = (
    "listings",
    "orders",
    "order_lines",
    "shipments",
    "shipment_lines",
    "receipt_lines",
    "return_lines",
    "invoices",
    "invoice_lines",
    "settlement_applications",
    "settlement_lines",
    "payments",
    "trace_codes",
    "hospital_item_codes",
)


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        for statement in change_stamps.postgresql_function():
            op.execute(statement)
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("sync_xid", sa.BigInteger(), server_default="0", nullable=False))
            batch_op.add_column(sa.Column("sync_seq", sa.BigInteger(), server_default="0", nullable=False))
            batch_op.create_index(f"ix_{table}_sync", ["sync_xid", "sync_seq"], unique=False)
        for statement in change_stamps.install(table, dialect):
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in reversed(TABLES):
        for statement in change_stamps.uninstall(table, dialect):
            op.execute(statement)
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f"ix_{table}_sync")
            batch_op.drop_column("sync_seq")
            batch_op.drop_column("sync_xid")
    if dialect == "postgresql":
        for statement in change_stamps.postgresql_drop_function():
            op.execute(statement)
