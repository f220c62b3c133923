"""Credit suspensions (信用评价联动): what each credit rating holds suspended, so a repair restores
exactly that (issue 18, vbp-rules.md §7).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 01:46:36.193495
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "credit_suspensions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("rating_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("listing_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("authorization_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("moved", sa.Boolean(), nullable=False),
        sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("restored_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(listing_id IS NULL) <> (authorization_id IS NULL)",
            name=op.f("ck_credit_suspensions_one_subject"),
        ),
        sa.ForeignKeyConstraint(
            ["authorization_id"],
            ["distribution_authorizations.id"],
            name=op.f("fk_credit_suspensions_authorization_id_distribution_authorizations"),
        ),
        sa.ForeignKeyConstraint(
            ["listing_id"], ["listings.id"], name=op.f("fk_credit_suspensions_listing_id_listings")
        ),
        sa.ForeignKeyConstraint(
            ["rating_id"], ["credit_ratings.id"], name=op.f("fk_credit_suspensions_rating_id_credit_ratings")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_suspensions")),
    )
    with op.batch_alter_table("credit_suspensions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_credit_suspensions_authorization", ["authorization_id", "restored_at"], unique=False
        )
        batch_op.create_index("ix_credit_suspensions_listing", ["listing_id", "restored_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_credit_suspensions_rating_id"), ["rating_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("credit_suspensions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_suspensions_rating_id"))
        batch_op.drop_index("ix_credit_suspensions_listing")
        batch_op.drop_index("ix_credit_suspensions_authorization")

    op.drop_table("credit_suspensions")
