"""Price governance and the shortage list (issue 18 items 2 and 4): imported files (SHA-256
unique), other provinces' listed prices, shortage-list entries, each listing's price history, and
the listing's stored four-same comparison, red line and shortage flag.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 01:47:40.329544
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "price_imports",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "other_province_prices",
                "shortage_list",
                name="price_import_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("imported_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["imported_by"], ["users.id"], name=op.f("fk_price_imports_imported_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_imports")),
        sa.UniqueConstraint("sha256", name=op.f("uq_price_imports_sha256")),
    )
    op.create_table(
        "other_province_prices",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("import_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("generic_name", sa.String(length=200), nullable=False),
        sa.Column("manufacturer_name", sa.String(length=200), nullable=True),
        sa.Column("manufacturer_uscc", sa.String(length=18), nullable=True),
        sa.Column("dosage_form", sa.String(length=50), nullable=False),
        sa.Column("spec", sa.String(length=100), nullable=False),
        sa.Column("product_code", sa.String(length=40), nullable=True),
        sa.Column("generic_key", sa.String(length=200), nullable=False),
        sa.Column("manufacturer_key", sa.String(length=200), nullable=True),
        sa.Column("form_key", sa.String(length=50), nullable=False),
        sa.Column("spec_key", sa.String(length=100), nullable=False),
        sa.Column("province_code", sa.String(length=6), nullable=False),
        sa.Column("pack_price_fen", sa.BigInteger(), nullable=True),
        sa.Column("unit_price_e4", sa.BigInteger(), nullable=True),
        sa.Column("price_on", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "pack_price_fen > 0 OR unit_price_e4 > 0", name=op.f("ck_other_province_prices_a_price")
        ),
        sa.ForeignKeyConstraint(
            ["import_id"], ["price_imports.id"], name=op.f("fk_other_province_prices_import_id_price_imports")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_other_province_prices")),
    )
    with op.batch_alter_table("other_province_prices", schema=None) as batch_op:
        batch_op.create_index(
            "ix_other_province_prices_group", ["generic_key", "form_key", "spec_key"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_other_province_prices_import_id"), ["import_id"], unique=False)

    op.create_table(
        "shortage_entries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("import_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "list_kind",
            sa.Enum(
                "national",
                "provincial",
                name="shortage_list_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("generic_name", sa.String(length=200), nullable=False),
        sa.Column("dosage_form", sa.String(length=50), nullable=False),
        sa.Column("spec", sa.String(length=100), nullable=True),
        sa.Column("product_code", sa.String(length=40), nullable=True),
        sa.Column("generic_key", sa.String(length=200), nullable=False),
        sa.Column("form_key", sa.String(length=50), nullable=False),
        sa.Column("spec_key", sa.String(length=100), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("listed_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"], ["price_imports.id"], name=op.f("fk_shortage_entries_import_id_price_imports")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shortage_entries")),
    )
    with op.batch_alter_table("shortage_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_shortage_entries_import_id"), ["import_id"], unique=False)
        batch_op.create_index("ix_shortage_entries_name", ["generic_key", "form_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_shortage_entries_product_code"), ["product_code"], unique=False)

    op.create_table(
        "listing_prices",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("listing_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("pack_price_fen", sa.BigInteger(), nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["listing_id"], ["listings.id"], name=op.f("fk_listing_prices_listing_id_listings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_listing_prices")),
    )
    with op.batch_alter_table("listing_prices", schema=None) as batch_op:
        batch_op.create_index("ix_listing_prices_listing", ["listing_id", "effective_at"], unique=False)

    with op.batch_alter_table("listings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("price_risk", sa.String(length=8), nullable=True))
        batch_op.add_column(sa.Column("peer_lowest_fen", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("peer_median_fen", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("peer_count", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("price_risk_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("red_line_fen", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("shortage", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(
            sa.Column("shortage_direct", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("listings", schema=None) as batch_op:
        batch_op.drop_column("shortage_direct")
        batch_op.drop_column("shortage")
        batch_op.drop_column("red_line_fen")
        batch_op.drop_column("price_risk_on")
        batch_op.drop_column("peer_count")
        batch_op.drop_column("peer_median_fen")
        batch_op.drop_column("peer_lowest_fen")
        batch_op.drop_column("price_risk")

    with op.batch_alter_table("listing_prices", schema=None) as batch_op:
        batch_op.drop_index("ix_listing_prices_listing")

    op.drop_table("listing_prices")
    with op.batch_alter_table("shortage_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_shortage_entries_product_code"))
        batch_op.drop_index("ix_shortage_entries_name")
        batch_op.drop_index(batch_op.f("ix_shortage_entries_import_id"))

    op.drop_table("shortage_entries")
    with op.batch_alter_table("other_province_prices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_other_province_prices_import_id"))
        batch_op.drop_index("ix_other_province_prices_group")

    op.drop_table("other_province_prices")
    op.drop_table("price_imports")
