"""Stored reconciliation runs without per-row foreign-key checks on copied columns: a finding's
order line, hospital, distributor and manufacturer, and a total's hospital and distributor, are
copied from order_lines by the statement that writes the run, and the order lines' own keys vouch
for them. The checks (one index probe per row and key, 130,000 findings × 4 in a province) were a
third of the stored run on PostgreSQL. The key to the run stays.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 16:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0028"
down_revision: str | Sequence[str] | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: table → (column, referred table) of the keys dropped
COPIED = {
    "reconciliation_findings": (
        ("order_line_id", "order_lines"),
        ("hospital_id", "organizations"),
        ("distributor_id", "organizations"),
        ("manufacturer_id", "organizations"),
    ),
    "reconciliation_totals": (("hospital_id", "organizations"), ("distributor_id", "organizations")),
}


def upgrade() -> None:
    for table, columns in COPIED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, referred in columns:
                batch_op.drop_constraint(f"fk_{table}_{column}_{referred}", type_="foreignkey")


def downgrade() -> None:
    for table, columns in COPIED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, referred in columns:
                batch_op.create_foreign_key(f"fk_{table}_{column}_{referred}", referred, [column], ["id"])
