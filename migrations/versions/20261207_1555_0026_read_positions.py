"""Read positions (issue 21 item 2): each user's last write position in the primary's WAL, so
that reads which may come from a streaming replica go to the primary until the replica has
replayed the user's own writes (core/read_positions.py).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | Sequence[str] | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "read_positions",
        sa.Column(
            "user_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("lsn", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_read_positions")),
    )


def downgrade() -> None:
    op.drop_table("read_positions")
