"""Supervision warnings (预警): one live warning per rule × subject, with its state and evidence
(issue 18). Later supervision tables come in their own revisions.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 01:43:59.522903
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "supervision_warnings",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("subject_kind", sa.String(length=32), nullable=False),
        sa.Column("subject_id", sa.BigInteger(), nullable=True),
        sa.Column("subject_key", sa.String(length=120), nullable=False),
        sa.Column("live_key", sa.String(length=120), nullable=True),
        sa.Column("org_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("region_code", sa.String(length=6), nullable=True),
        sa.Column(
            "severity",
            sa.Enum(
                "low",
                "medium",
                "high",
                name="warning_severity",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "state",
            sa.Enum(
                "raised",
                "acknowledged",
                "resolved",
                name="warning_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("value", sa.String(length=40), nullable=True),
        sa.Column("threshold", sa.String(length=40), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("first_seen_on", sa.Date(), nullable=False),
        sa.Column("last_seen_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("answer", sa.String(length=1000), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("resolution_note", sa.String(length=1000), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.ForeignKeyConstraint(
            ["acknowledged_by"], ["users.id"], name=op.f("fk_supervision_warnings_acknowledged_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["answered_by"], ["users.id"], name=op.f("fk_supervision_warnings_answered_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_supervision_warnings_org_id_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by"], ["users.id"], name=op.f("fk_supervision_warnings_resolved_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_warnings")),
        sa.UniqueConstraint("rule", "live_key", name="one_live_per_subject"),
    )
    with op.batch_alter_table("supervision_warnings", schema=None) as batch_op:
        batch_op.create_index("ix_supervision_warnings_org_state", ["org_id", "state"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_supervision_warnings_region_code"), ["region_code"], unique=False
        )
        batch_op.create_index("ix_supervision_warnings_rule_state", ["rule", "state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("supervision_warnings", schema=None) as batch_op:
        batch_op.drop_index("ix_supervision_warnings_rule_state")
        batch_op.drop_index(batch_op.f("ix_supervision_warnings_region_code"))
        batch_op.drop_index("ix_supervision_warnings_org_state")

    op.drop_table("supervision_warnings")
