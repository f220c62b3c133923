"""Stored reconciliation runs without per-row foreign-key checks on copied parties: a finding's
hospital, distributor and manufacturer, and a total's hospital and distributor, are copied from
the order lines by the statement that writes the run, and the order lines' own foreign keys vouch
for them. The checks (one index probe per row and party, 130,000 findings × 3 in a province) were
a third of the stored run on PostgreSQL. The run and order-line keys stay.

Revision ID: 0028
Revises: 0024
Create Date: 2026-12-07 16:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0028"
down_revision: str | Sequence[str] | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COPIED = {
    "reconciliation_findings": ("hospital_id", "distributor_id", "manufacturer_id"),
    "reconciliation_totals": ("hospital_id", "distributor_id"),
}


def upgrade() -> None:
    for table, columns in COPIED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.drop_constraint(f"fk_{table}_{column}_organizations", type_="foreignkey")


def downgrade() -> None:
    for table, columns in COPIED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.create_foreign_key(
                    f"fk_{table}_{column}_organizations", "organizations", [column], ["id"]
                )
