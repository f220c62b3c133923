"""Background job inputs (issue 21 item 1): the bytes of an upload above the size the request
imports itself, stored with its job so any worker reads the same file (dropped once the job
succeeds).

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | Sequence[str] | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "background_job_inputs",
        sa.Column("id", ID, nullable=False),
        sa.Column("job_id", ID, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["background_jobs.id"], name=op.f("fk_background_job_inputs_job_id_background_jobs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_background_job_inputs")),
        sa.UniqueConstraint("job_id", "name", name="one_input_per_name"),
    )


def downgrade() -> None:
    op.drop_table("background_job_inputs")
