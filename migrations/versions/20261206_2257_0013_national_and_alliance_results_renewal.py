"""Results decided elsewhere (national, alliance) imported and executed, member provinces' demand
of an alliance led here, renewal (续标) links and carried-over bids (issue 22).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 22:57:27.253680
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "member_demand",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("province_code", sa.String(length=6), nullable=False),
        sa.Column("hospital_uscc", sa.String(length=18), nullable=False),
        sa.Column("hospital_name", sa.String(length=200), nullable=False),
        sa.Column("region_code", sa.String(length=6), nullable=False),
        sa.Column("brand_product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("brand_key", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("source_sha256", sa.String(length=64), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_member_demand_quantity_non_negative")),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["procurement_batches.id"],
            name=op.f("fk_member_demand_batch_id_procurement_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["brand_product_id"], ["products.id"], name=op.f("fk_member_demand_brand_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["batch_items.id"], name=op.f("fk_member_demand_item_id_batch_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_demand")),
        sa.UniqueConstraint(
            "item_id", "hospital_uscc", "region_code", "brand_key", name="member_demand_one_per_key"
        ),
    )
    with op.batch_alter_table("member_demand", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_member_demand_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_member_demand_item_id"), ["item_id"], unique=False)

    with op.batch_alter_table("awards", schema=None) as batch_op:
        batch_op.alter_column("bid_id", existing_type=sa.INTEGER(), nullable=True)

    with op.batch_alter_table("bids", schema=None) as batch_op:
        batch_op.add_column(sa.Column("carried_over_award_id", sa.BigInteger(), nullable=True))

    with op.batch_alter_table("procurement_batches", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_procurement_batches_batch_scope"), type_="check")
        batch_op.create_check_constraint(
            "batch_scope", sa.column("scope").in_(["provincial", "alliance", "national"])
        )
        batch_op.add_column(
            sa.Column(
                "selection",
                sa.Enum(
                    "local",
                    "imported",
                    name="batch_selection",
                    native_enum=False,
                    create_constraint=True,
                    length=32,
                ),
                server_default="local",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("results_source", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("results_sha256", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_procurement_batches_results_sha256"), ["results_sha256"]
        )
        batch_op.add_column(sa.Column("member_provinces", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("renews_batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_procurement_batches_renews_batch_id"), ["renews_batch_id"]
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_procurement_batches_renews_batch_id_procurement_batches"),
            "procurement_batches",
            ["renews_batch_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("procurement_batches", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_procurement_batches_renews_batch_id_procurement_batches"), type_="foreignkey"
        )
        batch_op.drop_constraint(batch_op.f("uq_procurement_batches_renews_batch_id"), type_="unique")
        batch_op.drop_column("renews_batch_id")
        batch_op.drop_column("member_provinces")
        batch_op.drop_constraint(batch_op.f("uq_procurement_batches_results_sha256"), type_="unique")
        batch_op.drop_column("results_sha256")
        batch_op.drop_column("results_source")
        batch_op.drop_constraint(batch_op.f("ck_procurement_batches_batch_selection"), type_="check")
        batch_op.drop_column("selection")
        batch_op.drop_constraint(batch_op.f("ck_procurement_batches_batch_scope"), type_="check")
        batch_op.create_check_constraint("batch_scope", sa.column("scope").in_(["provincial", "alliance"]))

    with op.batch_alter_table("bids", schema=None) as batch_op:
        batch_op.drop_column("carried_over_award_id")

    with op.batch_alter_table("awards", schema=None) as batch_op:
        batch_op.alter_column("bid_id", existing_type=sa.INTEGER(), nullable=False)

    with op.batch_alter_table("member_demand", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_demand_item_id"))
        batch_op.drop_index(batch_op.f("ix_member_demand_batch_id"))

    op.drop_table("member_demand")
