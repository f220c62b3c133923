"""The first invoice of 两票制 and further upstream hops, their links to the second invoice's lines,
the bureau's supply-chain designations, and invoice images (issue 19 item 3, vbp-rules.md §5).

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 04:39:35.421087
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "supply_chain_roles",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("organization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("remote_township", sa.Boolean(), nullable=False),
        sa.Column(
            "acts_as_manufacturer_for_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("distribution_group", sa.String(length=60), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "acts_as_manufacturer_for_id <> organization_id", name=op.f("ck_supply_chain_roles_not_itself")
        ),
        sa.ForeignKeyConstraint(
            ["acts_as_manufacturer_for_id"],
            ["organizations.id"],
            name=op.f("fk_supply_chain_roles_acts_as_manufacturer_for_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_supply_chain_roles_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supply_chain_roles")),
        sa.UniqueConstraint("organization_id", name=op.f("uq_supply_chain_roles_organization_id")),
    )
    op.create_table(
        "upstream_invoices",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("seller_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("buyer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("invoice_code", sa.String(length=20), nullable=False),
        sa.Column("invoice_number", sa.String(length=20), nullable=False),
        sa.Column("issued_on", sa.Date(), nullable=False),
        sa.Column("tax_rate", sa.String(length=8), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "normal",
                "red",
                name="upstream_invoice_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("original_invoice_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "recorded",
                "confirmed",
                "disputed",
                name="upstream_invoice_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("total_fen", sa.BigInteger(), nullable=False),
        sa.Column("dispute_reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("seller_id <> buyer_id", name=op.f("ck_upstream_invoices_two_parties")),
        sa.ForeignKeyConstraint(
            ["buyer_id"], ["organizations.id"], name=op.f("fk_upstream_invoices_buyer_id_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["original_invoice_id"],
            ["upstream_invoices.id"],
            name=op.f("fk_upstream_invoices_original_invoice_id_upstream_invoices"),
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"], ["organizations.id"], name=op.f("fk_upstream_invoices_seller_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upstream_invoices")),
        sa.UniqueConstraint(
            "seller_id", "invoice_code", "invoice_number", name="uq_upstream_invoices_number"
        ),
    )
    with op.batch_alter_table("upstream_invoices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_upstream_invoices_buyer_id"), ["buyer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_upstream_invoices_seller_id"), ["seller_id"], unique=False)

    op.create_table(
        "invoice_images",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("invoice_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("upstream_invoice_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("filename", sa.String(length=120), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("replaces_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("uploaded_by_org_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("uploaded_by", sa.BigInteger(), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint(
            "(invoice_id IS NULL) <> (upstream_invoice_id IS NULL)",
            name=op.f("ck_invoice_images_one_invoice"),
        ),
        sa.CheckConstraint("size_bytes > 0", name=op.f("ck_invoice_images_not_empty")),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_invoice_images_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["replaces_id"], ["invoice_images.id"], name=op.f("fk_invoice_images_replaces_id_invoice_images")
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_org_id"],
            ["organizations.id"],
            name=op.f("fk_invoice_images_uploaded_by_org_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["upstream_invoice_id"],
            ["upstream_invoices.id"],
            name=op.f("fk_invoice_images_upstream_invoice_id_upstream_invoices"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_images")),
        sa.UniqueConstraint("replaces_id", name=op.f("uq_invoice_images_replaces_id")),
    )
    with op.batch_alter_table("invoice_images", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoice_images_invoice_id"), ["invoice_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_invoice_images_upstream_invoice_id"), ["upstream_invoice_id"], unique=False
        )

    op.create_table(
        "upstream_invoice_lines",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("invoice_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("seller_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("buyer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("batch_no", sa.String(length=40), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("credited_line_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.CheckConstraint(
            "(quantity > 0 AND amount_fen > 0) OR (quantity < 0 AND amount_fen < 0)",
            name=op.f("ck_upstream_invoice_lines_sign"),
        ),
        sa.CheckConstraint("quantity <> 0", name=op.f("ck_upstream_invoice_lines_quantity_non_zero")),
        sa.ForeignKeyConstraint(
            ["buyer_id"], ["organizations.id"], name=op.f("fk_upstream_invoice_lines_buyer_id_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["credited_line_id"],
            ["upstream_invoice_lines.id"],
            name=op.f("fk_upstream_invoice_lines_credited_line_id_upstream_invoice_lines"),
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"],
            ["upstream_invoices.id"],
            name=op.f("fk_upstream_invoice_lines_invoice_id_upstream_invoices"),
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_upstream_invoice_lines_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["seller_id"],
            ["organizations.id"],
            name=op.f("fk_upstream_invoice_lines_seller_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upstream_invoice_lines")),
    )
    with op.batch_alter_table("upstream_invoice_lines", schema=None) as batch_op:
        batch_op.create_index(
            "ix_upstream_invoice_lines_chain", ["buyer_id", "product_id", "batch_no"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_upstream_invoice_lines_invoice_id"), ["invoice_id"], unique=False
        )

    op.create_table(
        "invoice_line_sources",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("invoice_line_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("upstream_line_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_line_id"],
            ["invoice_lines.id"],
            name=op.f("fk_invoice_line_sources_invoice_line_id_invoice_lines"),
        ),
        sa.ForeignKeyConstraint(
            ["upstream_line_id"],
            ["upstream_invoice_lines.id"],
            name=op.f("fk_invoice_line_sources_upstream_line_id_upstream_invoice_lines"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_line_sources")),
        sa.UniqueConstraint("invoice_line_id", "upstream_line_id", name="uq_invoice_line_sources_link"),
    )
    with op.batch_alter_table("invoice_line_sources", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_invoice_line_sources_invoice_line_id"), ["invoice_line_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_invoice_line_sources_upstream_line_id"), ["upstream_line_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("invoice_line_sources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_line_sources_upstream_line_id"))
        batch_op.drop_index(batch_op.f("ix_invoice_line_sources_invoice_line_id"))

    op.drop_table("invoice_line_sources")
    with op.batch_alter_table("upstream_invoice_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_upstream_invoice_lines_invoice_id"))
        batch_op.drop_index("ix_upstream_invoice_lines_chain")

    op.drop_table("upstream_invoice_lines")
    with op.batch_alter_table("invoice_images", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_images_upstream_invoice_id"))
        batch_op.drop_index(batch_op.f("ix_invoice_images_invoice_id"))

    op.drop_table("invoice_images")
    with op.batch_alter_table("upstream_invoices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_upstream_invoices_seller_id"))
        batch_op.drop_index(batch_op.f("ix_upstream_invoices_buyer_id"))

    op.drop_table("upstream_invoices")
    op.drop_table("supply_chain_roles")
