"""Publicity period and objections (公示与异议, issue 20 item 3): result proposals with their
period, objections with attachments, and the batch state between opened and published
(results_proposed).

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 12:09:26.313306
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | Sequence[str] | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH_OLD = (
    "draft",
    "demand_collection",
    "bidding",
    "sealed",
    "opened",
    "results_published",
    "executing",
    "closed",
)
BATCH_NEW = (*BATCH_OLD[:5], "results_proposed", *BATCH_OLD[5:])


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def _batch_status(new: tuple[str, ...], old: tuple[str, ...]) -> None:
    with op.batch_alter_table("procurement_batches") as batch_op:
        batch_op.alter_column(
            "status",
            type_=_enum("batch_status", *new),
            existing_type=_enum("batch_status", *old),
            existing_nullable=False,
        )


def upgrade() -> None:
    _batch_status(BATCH_NEW, BATCH_OLD)
    op.create_table(
        "result_proposals",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "results",
                "backup",
                name="proposal_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "proposed",
                "final",
                "void",
                name="proposal_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("period_starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("supersedes_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "period_ends_at >= period_starts_at", name=op.f("ck_result_proposals_period_order")
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["procurement_batches.id"],
            name=op.f("fk_result_proposals_batch_id_procurement_batches"),
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"],
            ["result_proposals.id"],
            name=op.f("fk_result_proposals_supersedes_id_result_proposals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_result_proposals")),
        sa.UniqueConstraint("batch_id", "kind", "seq", name="result_proposals_one_per_seq"),
        sa.UniqueConstraint("supersedes_id", name=op.f("uq_result_proposals_supersedes_id")),
    )
    with op.batch_alter_table("result_proposals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_result_proposals_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_result_proposals_period_ends_at"), ["period_ends_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_result_proposals_status"), ["status"], unique=False)

    op.create_table(
        "objections",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("proposal_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("batch_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("objector_org_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("item_ids", sa.JSON(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "lodged",
                "sustained",
                "partly_sustained",
                "dismissed",
                "withdrawn",
                name="objection_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("lodged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answer_reasons", sa.Text(), nullable=True),
        sa.Column("correction", sa.JSON(), nullable=True),
        sa.Column("new_proposal_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["procurement_batches.id"], name=op.f("fk_objections_batch_id_procurement_batches")
        ),
        sa.ForeignKeyConstraint(
            ["new_proposal_id"],
            ["result_proposals.id"],
            name=op.f("fk_objections_new_proposal_id_result_proposals"),
        ),
        sa.ForeignKeyConstraint(
            ["objector_org_id"],
            ["organizations.id"],
            name=op.f("fk_objections_objector_org_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"], ["result_proposals.id"], name=op.f("fk_objections_proposal_id_result_proposals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objections")),
    )
    with op.batch_alter_table("objections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_objections_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_objections_objector_org_id"), ["objector_org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_objections_proposal_id"), ["proposal_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_objections_status"), ["status"], unique=False)

    op.create_table(
        "objection_attachments",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("objection_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("filename", sa.String(length=120), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by", sa.BigInteger(), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("size_bytes > 0", name=op.f("ck_objection_attachments_not_empty")),
        sa.ForeignKeyConstraint(
            ["objection_id"], ["objections.id"], name=op.f("fk_objection_attachments_objection_id_objections")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objection_attachments")),
    )
    with op.batch_alter_table("objection_attachments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_objection_attachments_objection_id"), ["objection_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("objection_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_objection_attachments_objection_id"))

    op.drop_table("objection_attachments")
    with op.batch_alter_table("objections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_objections_status"))
        batch_op.drop_index(batch_op.f("ix_objections_proposal_id"))
        batch_op.drop_index(batch_op.f("ix_objections_objector_org_id"))
        batch_op.drop_index(batch_op.f("ix_objections_batch_id"))

    op.drop_table("objections")
    with op.batch_alter_table("result_proposals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_result_proposals_status"))
        batch_op.drop_index(batch_op.f("ix_result_proposals_period_ends_at"))
        batch_op.drop_index(batch_op.f("ix_result_proposals_batch_id"))

    op.drop_table("result_proposals")
    op.execute("UPDATE procurement_batches SET status = 'opened' WHERE status = 'results_proposed'")
    _batch_status(BATCH_OLD, BATCH_NEW)
