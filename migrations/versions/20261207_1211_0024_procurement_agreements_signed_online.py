"""Procurement agreements signed online (带量采购购销协议, issue 20 item 4): agreements per hospital ×
winner × cycle year with their lines (one per allocation), each PDF version of an agreement
(unsigned, then one per PAdES signature) and the organizations' signing certificates (private
keys encrypted as PKCS#8). A renewal points at the agreement it renews (renews_id).

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 12:11:46.558279
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | Sequence[str] | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signing_certificates",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("org_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("serial_hex", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("cert_pem", sa.Text(), nullable=False),
        sa.Column("chain_pem", sa.Text(), nullable=False),
        sa.Column("key_pkcs8", sa.LargeBinary(), nullable=False),
        sa.Column("sm2_public_pem", sa.Text(), nullable=True),
        sa.Column("sm2_key_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("not_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_signing_certificates_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_certificates")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_signing_certificates_fingerprint")),
    )
    with op.batch_alter_table("signing_certificates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_signing_certificates_org_id"), ["org_id"], unique=False)

    op.create_table(
        "procurement_agreements",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hospital_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("manufacturer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("cycle_year", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "generated",
                "signed_by_hospital",
                "signed_by_enterprise",
                "signed",
                "superseded",
                "terminated",
                name="agreement_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("renews_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("distributors", sa.JSON(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hospital_signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("enterprise_signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=500), nullable=True),
        sa.CheckConstraint("amount_fen >= 0", name=op.f("ck_procurement_agreements_amount_non_negative")),
        sa.CheckConstraint("cycle_year >= 1", name=op.f("ck_procurement_agreements_cycle_year_positive")),
        sa.CheckConstraint("starts_on <= ends_on", name=op.f("ck_procurement_agreements_period_order")),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["procurement_batches.id"],
            name=op.f("fk_procurement_agreements_batch_id_procurement_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["hospital_id"],
            ["organizations.id"],
            name=op.f("fk_procurement_agreements_hospital_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["manufacturer_id"],
            ["organizations.id"],
            name=op.f("fk_procurement_agreements_manufacturer_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["renews_id"],
            ["procurement_agreements.id"],
            name=op.f("fk_procurement_agreements_renews_id_procurement_agreements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_procurement_agreements")),
        sa.UniqueConstraint("batch_id", "hospital_id", "manufacturer_id", "cycle_year", name="one_per_year"),
        sa.UniqueConstraint("number", name=op.f("uq_procurement_agreements_number")),
        sa.UniqueConstraint("renews_id", name=op.f("uq_procurement_agreements_renews_id")),
    )
    with op.batch_alter_table("procurement_agreements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_procurement_agreements_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_procurement_agreements_hospital_id"), ["hospital_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_procurement_agreements_manufacturer_id"), ["manufacturer_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_procurement_agreements_status"), ["status"], unique=False)

    op.create_table(
        "agreement_documents",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("agreement_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "signed_by",
            sa.Enum(
                "hospital",
                "enterprise",
                name="agreement_party",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column("certificate_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("extra_signature", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["procurement_agreements.id"],
            name=op.f("fk_agreement_documents_agreement_id_procurement_agreements"),
        ),
        sa.ForeignKeyConstraint(
            ["certificate_id"],
            ["signing_certificates.id"],
            name=op.f("fk_agreement_documents_certificate_id_signing_certificates"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreement_documents")),
        sa.UniqueConstraint("agreement_id", "version", name="one_per_version"),
        sa.UniqueConstraint("sha256", name=op.f("uq_agreement_documents_sha256")),
    )
    with op.batch_alter_table("agreement_documents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_agreement_documents_agreement_id"), ["agreement_id"], unique=False
        )

    op.create_table(
        "procurement_agreement_lines",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("agreement_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("allocation_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("award_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("agreed_quantity", sa.BigInteger(), nullable=False),
        sa.Column("unit_price_e4", sa.BigInteger(), nullable=False),
        sa.Column("pack_price_fen", sa.BigInteger(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "agreed_quantity >= 0", name=op.f("ck_procurement_agreement_lines_agreed_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["agreement_id"],
            ["procurement_agreements.id"],
            name=op.f("fk_procurement_agreement_lines_agreement_id_procurement_agreements"),
        ),
        sa.ForeignKeyConstraint(
            ["allocation_id"],
            ["volume_allocations.id"],
            name=op.f("fk_procurement_agreement_lines_allocation_id_volume_allocations"),
        ),
        sa.ForeignKeyConstraint(
            ["award_id"], ["awards.id"], name=op.f("fk_procurement_agreement_lines_award_id_awards")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["batch_items.id"], name=op.f("fk_procurement_agreement_lines_item_id_batch_items")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_procurement_agreement_lines_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_procurement_agreement_lines")),
        sa.UniqueConstraint("agreement_id", "allocation_id", name="one_per_allocation"),
    )
    with op.batch_alter_table("procurement_agreement_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_procurement_agreement_lines_agreement_id"), ["agreement_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_procurement_agreement_lines_allocation_id"), ["allocation_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("procurement_agreement_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_procurement_agreement_lines_allocation_id"))
        batch_op.drop_index(batch_op.f("ix_procurement_agreement_lines_agreement_id"))

    op.drop_table("procurement_agreement_lines")
    with op.batch_alter_table("agreement_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agreement_documents_agreement_id"))

    op.drop_table("agreement_documents")
    with op.batch_alter_table("procurement_agreements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_procurement_agreements_status"))
        batch_op.drop_index(batch_op.f("ix_procurement_agreements_manufacturer_id"))
        batch_op.drop_index(batch_op.f("ix_procurement_agreements_hospital_id"))
        batch_op.drop_index(batch_op.f("ix_procurement_agreements_batch_id"))

    op.drop_table("procurement_agreements")
    with op.batch_alter_table("signing_certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signing_certificates_org_id"))

    op.drop_table("signing_certificates")
