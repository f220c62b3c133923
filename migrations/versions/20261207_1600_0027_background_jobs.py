"""Background jobs carried out by task-queue workers (issue 21 item 1): the durable job record
(status, progress, attempts, result, requester, idempotency key) and one row per committed unit,
unique per job, written in the unit's own transaction so a retried job skips what is done.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | Sequence[str] | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "background_jobs",
        sa.Column("id", ID, nullable=False),
        sa.Column("kind", sa.String(length=60), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "running",
                "succeeded",
                "failed",
                name="background_job_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("progress_done", sa.Integer(), nullable=False),
        sa.Column("progress_total", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("requested_by", ID, nullable=True),
        sa.Column("requested_org_id", ID, nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["requested_by"], ["users.id"], name=op.f("fk_background_jobs_requested_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["requested_org_id"],
            ["organizations.id"],
            name=op.f("fk_background_jobs_requested_org_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_background_jobs")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_background_jobs_idempotency_key")),
    )
    with op.batch_alter_table("background_jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_background_jobs_kind"), ["kind"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_background_jobs_requested_org_id"), ["requested_org_id"], unique=False
        )

    op.create_table(
        "background_job_units",
        sa.Column("id", ID, nullable=False),
        sa.Column("job_id", ID, nullable=False),
        sa.Column("unit_key", sa.String(length=120), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["background_jobs.id"], name=op.f("fk_background_job_units_job_id_background_jobs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_background_job_units")),
        sa.UniqueConstraint("job_id", "unit_key", name="one_row_per_unit"),
    )


def downgrade() -> None:
    op.drop_table("background_job_units")
    with op.batch_alter_table("background_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_background_jobs_requested_org_id"))
        batch_op.drop_index(batch_op.f("ix_background_jobs_kind"))
    op.drop_table("background_jobs")
