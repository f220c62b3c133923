"""National codes and hospital item-code mappings (issue 19 item 1): products.national_code
(国家医保药品/耗材编码, unique, NULL on legacy rows) and hospital_item_codes (院内编码对照, one live
row per hospital and item code; a remap is a new row superseding the old).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 04:39:26.814356
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hospital_item_codes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hospital_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_code", sa.String(length=60), nullable=False),
        sa.Column("item_name", sa.String(length=200), nullable=True),
        sa.Column("product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("live", sa.Boolean(), nullable=False),
        sa.Column("supersedes_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_hospital_item_codes_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["hospital_id"],
            ["organizations.id"],
            name=op.f("fk_hospital_item_codes_hospital_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_hospital_item_codes_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"],
            ["hospital_item_codes.id"],
            name=op.f("fk_hospital_item_codes_supersedes_id_hospital_item_codes"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hospital_item_codes")),
        sa.UniqueConstraint("supersedes_id", name=op.f("uq_hospital_item_codes_supersedes_id")),
    )
    with op.batch_alter_table("hospital_item_codes", schema=None) as batch_op:
        batch_op.create_index("ix_hospital_item_codes_product", ["hospital_id", "product_id"], unique=False)
        batch_op.create_index(
            "uq_hospital_item_codes_live",
            ["hospital_id", "item_code"],
            unique=True,
            sqlite_where=sa.text("live"),
            postgresql_where=sa.text("live"),
        )

    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("national_code", sa.String(length=27), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_products_national_code"), ["national_code"])


def downgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_products_national_code"), type_="unique")
        batch_op.drop_column("national_code")

    with op.batch_alter_table("hospital_item_codes", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_hospital_item_codes_live", sqlite_where=sa.text("live"), postgresql_where=sa.text("live")
        )
        batch_op.drop_index("ix_hospital_item_codes_product")

    op.drop_table("hospital_item_codes")
