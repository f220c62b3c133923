"""Traceability codes (药品追溯码, issue 19 item 2): one row per pack code on a shipment line
(a live code unique platform-wide, an index per code, (party, attached_on) indexes for monthly
partitioning later) and the match of a hospital's scan at receipt. supervision-and-interop.md §5.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 04:40:35.665425
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "trace_codes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("code", sa.String(length=38), nullable=False),
        sa.Column("live_code", sa.String(length=38), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "domestic",
                "gs1",
                name="trace_code_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("shipment_line_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("shipment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hospital_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("distributor_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("product_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "in_transit",
                "kept",
                "rejected",
                "returned",
                "superseded",
                name="trace_code_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("attached_on", sa.Date(), nullable=False),
        sa.Column("attached_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("matched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["distributor_id"], ["organizations.id"], name=op.f("fk_trace_codes_distributor_id_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["hospital_id"], ["organizations.id"], name=op.f("fk_trace_codes_hospital_id_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_trace_codes_product_id_products")
        ),
        sa.ForeignKeyConstraint(
            ["shipment_id"], ["shipments.id"], name=op.f("fk_trace_codes_shipment_id_shipments")
        ),
        sa.ForeignKeyConstraint(
            ["shipment_line_id"],
            ["shipment_lines.id"],
            name=op.f("fk_trace_codes_shipment_line_id_shipment_lines"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trace_codes")),
        sa.UniqueConstraint("live_code", name="one_live_line"),
    )
    with op.batch_alter_table("trace_codes", schema=None) as batch_op:
        batch_op.create_index("ix_trace_codes_code", ["code"], unique=False)
        batch_op.create_index(
            "ix_trace_codes_distributor_period", ["distributor_id", "attached_on"], unique=False
        )
        batch_op.create_index("ix_trace_codes_hospital_period", ["hospital_id", "attached_on"], unique=False)
        batch_op.create_index("ix_trace_codes_line_state", ["shipment_line_id", "state"], unique=False)

    op.create_table(
        "trace_matches",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("shipment_line_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("receipt_line_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("hospital_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("scanned", sa.Boolean(), nullable=False),
        sa.Column("shipped_count", sa.Integer(), nullable=False),
        sa.Column("scanned_count", sa.Integer(), nullable=False),
        sa.Column("matched_count", sa.Integer(), nullable=False),
        sa.Column("kept_count", sa.Integer(), nullable=False),
        sa.Column("released_count", sa.Integer(), nullable=False),
        sa.Column("missing_count", sa.Integer(), nullable=False),
        sa.Column("extra_count", sa.Integer(), nullable=False),
        sa.Column("foreign_count", sa.Integer(), nullable=False),
        sa.Column("listed", sa.JSON(), nullable=False),
        sa.Column("matched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("matched_by", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["hospital_id"], ["organizations.id"], name=op.f("fk_trace_matches_hospital_id_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["receipt_line_id"],
            ["receipt_lines.id"],
            name=op.f("fk_trace_matches_receipt_line_id_receipt_lines"),
        ),
        sa.ForeignKeyConstraint(
            ["shipment_line_id"],
            ["shipment_lines.id"],
            name=op.f("fk_trace_matches_shipment_line_id_shipment_lines"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trace_matches")),
        sa.UniqueConstraint("shipment_line_id", name=op.f("uq_trace_matches_shipment_line_id")),
    )
    with op.batch_alter_table("trace_matches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trace_matches_hospital_id"), ["hospital_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("trace_matches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trace_matches_hospital_id"))

    op.drop_table("trace_matches")
    with op.batch_alter_table("trace_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_trace_codes_line_state")
        batch_op.drop_index("ix_trace_codes_hospital_period")
        batch_op.drop_index("ix_trace_codes_distributor_period")
        batch_op.drop_index("ix_trace_codes_code")

    op.drop_table("trace_codes")
