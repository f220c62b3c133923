"""Supply guarantee (供应保障, issue 18 item 1): the distributor's first read of an order, out-of-stock
markings, voided lines, supply failures and backup activations with the volume they moved.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 01:46:51.074195
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "supply_failures",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("award_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("manufacturer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("ordered_lines", sa.Integer(), nullable=False),
        sa.Column("voided_lines", sa.Integer(), nullable=False),
        sa.Column("refused_lines", sa.Integer(), nullable=False),
        sa.Column("late_lines", sa.Integer(), nullable=False),
        sa.Column("ordered_packs", sa.BigInteger(), nullable=False),
        sa.Column("delivered_packs", sa.BigInteger(), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.Column("recorded_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["award_id"], ["awards.id"], name=op.f("fk_supply_failures_award_id_awards")),
        sa.ForeignKeyConstraint(
            ["manufacturer_id"],
            ["organizations.id"],
            name=op.f("fk_supply_failures_manufacturer_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_supply_failures_recorded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supply_failures")),
    )
    with op.batch_alter_table("supply_failures", schema=None) as batch_op:
        batch_op.create_index("ix_supply_failures_award_region", ["award_id", "region_code"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_supply_failures_manufacturer_id"), ["manufacturer_id"], unique=False
        )

    op.create_table(
        "backup_activations",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("from_award_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("to_award_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("supply_failure_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("reverses_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("moved_units", sa.BigInteger(), nullable=False),
        sa.Column("activated_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["activated_by"], ["users.id"], name=op.f("fk_backup_activations_activated_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["from_award_id"], ["awards.id"], name=op.f("fk_backup_activations_from_award_id_awards")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["batch_items.id"], name=op.f("fk_backup_activations_item_id_batch_items")
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["backup_activations.id"],
            name=op.f("fk_backup_activations_reverses_id_backup_activations"),
        ),
        sa.ForeignKeyConstraint(
            ["supply_failure_id"],
            ["supply_failures.id"],
            name=op.f("fk_backup_activations_supply_failure_id_supply_failures"),
        ),
        sa.ForeignKeyConstraint(
            ["to_award_id"], ["awards.id"], name=op.f("fk_backup_activations_to_award_id_awards")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backup_activations")),
        sa.UniqueConstraint("reverses_id", name=op.f("uq_backup_activations_reverses_id")),
    )
    with op.batch_alter_table("backup_activations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_backup_activations_item_id"), ["item_id"], unique=False)

    op.create_table(
        "line_voids",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_line_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("voided_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_line_voids_quantity_positive")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_line_voids_order_id_orders")),
        sa.ForeignKeyConstraint(
            ["order_line_id"], ["order_lines.id"], name=op.f("fk_line_voids_order_line_id_order_lines")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_line_voids")),
    )
    with op.batch_alter_table("line_voids", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_line_voids_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_line_voids_order_line_id"), ["order_line_id"], unique=False)

    op.create_table(
        "stock_outs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_line_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("distributor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hospital_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("expected_on", sa.Date(), nullable=False),
        sa.Column("shipped_at_mark", sa.Integer(), nullable=False),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("marked_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("corrects_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(
            ["corrects_id"], ["stock_outs.id"], name=op.f("fk_stock_outs_corrects_id_stock_outs")
        ),
        sa.ForeignKeyConstraint(
            ["distributor_id"], ["organizations.id"], name=op.f("fk_stock_outs_distributor_id_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["hospital_id"], ["organizations.id"], name=op.f("fk_stock_outs_hospital_id_organizations")
        ),
        sa.ForeignKeyConstraint(["marked_by"], ["users.id"], name=op.f("fk_stock_outs_marked_by_users")),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"], name=op.f("fk_stock_outs_order_id_orders")),
        sa.ForeignKeyConstraint(
            ["order_line_id"], ["order_lines.id"], name=op.f("fk_stock_outs_order_line_id_order_lines")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_outs")),
    )
    with op.batch_alter_table("stock_outs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stock_outs_distributor_id"), ["distributor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_stock_outs_hospital_id"), ["hospital_id"], unique=False)
        batch_op.create_index("ix_stock_outs_live", ["order_line_id", "cleared_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_stock_outs_order_id"), ["order_id"], unique=False)

    op.create_table(
        "volume_moves",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("activation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hospital_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("from_allocation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("to_allocation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_volume_moves_quantity_non_negative")),
        sa.ForeignKeyConstraint(
            ["activation_id"],
            ["backup_activations.id"],
            name=op.f("fk_volume_moves_activation_id_backup_activations"),
        ),
        sa.ForeignKeyConstraint(
            ["from_allocation_id"],
            ["volume_allocations.id"],
            name=op.f("fk_volume_moves_from_allocation_id_volume_allocations"),
        ),
        sa.ForeignKeyConstraint(
            ["hospital_id"], ["organizations.id"], name=op.f("fk_volume_moves_hospital_id_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["to_allocation_id"],
            ["volume_allocations.id"],
            name=op.f("fk_volume_moves_to_allocation_id_volume_allocations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_volume_moves")),
    )
    with op.batch_alter_table("volume_moves", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_volume_moves_activation_id"), ["activation_id"], unique=False)

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("first_read_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("first_read_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_orders_first_read_by_users"), "users", ["first_read_by"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_orders_first_read_by_users"), type_="foreignkey")
        batch_op.drop_column("first_read_by")
        batch_op.drop_column("first_read_at")

    with op.batch_alter_table("volume_moves", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_volume_moves_activation_id"))

    op.drop_table("volume_moves")
    with op.batch_alter_table("stock_outs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stock_outs_order_id"))
        batch_op.drop_index("ix_stock_outs_live")
        batch_op.drop_index(batch_op.f("ix_stock_outs_hospital_id"))
        batch_op.drop_index(batch_op.f("ix_stock_outs_distributor_id"))

    op.drop_table("stock_outs")
    with op.batch_alter_table("line_voids", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_line_voids_order_line_id"))
        batch_op.drop_index(batch_op.f("ix_line_voids_order_id"))

    op.drop_table("line_voids")
    with op.batch_alter_table("backup_activations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_backup_activations_item_id"))

    op.drop_table("backup_activations")
    with op.batch_alter_table("supply_failures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supply_failures_manufacturer_id"))
        batch_op.drop_index("ix_supply_failures_award_region")

    op.drop_table("supply_failures")
