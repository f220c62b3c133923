"""Audit lanes and daily roots (issue 21 item 4): the one audit chain with its one head row, which
every audited write in the province waited on, becomes N chains (lanes) with a head row each, and
a daily root digests every lane head once a day (core/audit.py, core/audit_roots.py).

The existing chain becomes lane 0 unchanged: same numbers, same hashes (a lane-0 row digests as
before), so it still verifies. Lanes 1..N-1 start empty; N is VBP_AUDIT_LANES (default 16) at the
time of this upgrade, and later only `flask audit lanes N` changes it. Downgrade is possible while
only lane 0 holds events.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 15:50:00
"""

import os
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | Sequence[str] | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64


def _lanes() -> int:
    lanes = int(os.environ.get("VBP_AUDIT_LANES", "16"))
    if not 1 <= lanes <= 1024:
        raise ValueError(f"VBP_AUDIT_LANES must be 1..1024, not {lanes}")
    return lanes


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def _swap_unique(drop: str, create: str, columns: list[str], *, drop_lane: bool = False) -> None:
    if not _sqlite():
        op.drop_constraint(drop, "audit_events", type_="unique")
        op.create_unique_constraint(create, "audit_events", columns)
        if drop_lane:
            op.drop_column("audit_events", "lane")
        return
    # SQLite keeps a unique constraint inside the table's definition: batch mode copies the table,
    # and the copy loses the append-only triggers, so they are made again (as in 0001).
    op.execute("DROP TRIGGER audit_events_no_update")
    op.execute("DROP TRIGGER audit_events_no_delete")
    with op.batch_alter_table("audit_events", recreate="always") as batch_op:
        batch_op.drop_constraint(drop, type_="unique")
        batch_op.create_unique_constraint(create, columns)
        if drop_lane:
            batch_op.drop_column("lane")
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events "
            "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
        )


def upgrade() -> None:
    # A constant default: both databases add the column in place (no rewrite of the events).
    op.add_column("audit_events", sa.Column("lane", sa.SmallInteger(), server_default="0", nullable=False))
    _swap_unique("uq_audit_events_seq", "uq_audit_events_lane_seq", ["lane", "seq"])

    op.create_table(
        "audit_lane_heads",
        sa.Column("lane", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("lane", name=op.f("pk_audit_lane_heads")),
    )
    op.execute(
        "INSERT INTO audit_lane_heads (lane, seq, last_hash) SELECT 0, seq, last_hash FROM audit_chain_head"
    )
    heads = sa.table("audit_lane_heads", sa.column("lane"), sa.column("seq"), sa.column("last_hash"))
    extra = [{"lane": n, "seq": 0, "last_hash": GENESIS} for n in range(1, _lanes())]
    if extra:
        op.bulk_insert(heads, extra)
    op.drop_table("audit_chain_head")

    op.create_table(
        "audit_daily_roots",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("heads", sa.JSON(), nullable=False),
        sa.Column("prev_root_hash", sa.String(length=64), nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("suite", sa.String(length=16), server_default="standard", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_audit_daily_roots")),
    )


def downgrade() -> None:
    bind = op.get_bind()
    used = (
        bind.execute(
            sa.text(
                "SELECT lane FROM audit_lane_heads WHERE lane <> 0 AND seq > 0 "
                "UNION SELECT DISTINCT lane FROM audit_events WHERE lane <> 0"
            )
        )
        .scalars()
        .all()
    )
    if used:
        raise RuntimeError(
            f"cannot downgrade below 0025: audit lanes {sorted(set(used))} hold events, and the single "
            "chain of 0024 has no place for them (restore a backup taken before 0025 instead)"
        )
    op.drop_table("audit_daily_roots")
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    op.execute(
        "INSERT INTO audit_chain_head (id, seq, last_hash) SELECT 1, seq, last_hash FROM audit_lane_heads WHERE lane = 0"
    )
    op.drop_table("audit_lane_heads")
    _swap_unique("uq_audit_events_lane_seq", "uq_audit_events_seq", ["seq"], drop_lane=True)
