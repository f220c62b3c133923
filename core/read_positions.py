"""Read-your-writes across a streaming replica: where each user's last write ended in the WAL.

After a request by a signed-in user commits a write on the primary, the primary's WAL position
(`pg_current_wal_lsn()`) is kept here, one row per user (browser sessions and API tokens alike, on
every web node). A later read that may come from the replica goes there only once the replica has
replayed that position (`pg_last_wal_replay_lsn()`); until then it reads the primary. Positions
are byte offsets (pg_lsn - '0/0') so that the column is a plain integer on both databases.
PostgreSQL only: without a replica nothing here is called.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base, BigId


class ReadPosition(Base):
    __tablename__ = "read_positions"

    #: No foreign key: the row is a routing hint, written after the user's own transaction, and
    #: must never wait on (or lock) the user's row.
    user_id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    #: WAL byte position on the primary right after the user's last committed write.
    lsn: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]


def wrote(session: Session) -> bool:
    """Whether the session's open transaction has written anything (it has a transaction id)."""
    return session.execute(text("SELECT pg_current_xact_id_if_assigned() IS NOT NULL")).scalar_one()


def remember(session: Session, user_id: int, *, now: datetime) -> None:
    """Record the primary's current WAL position as `user_id`'s (never moving it backwards).

    Committed asynchronously: the row is a hint, the user's write is already durable, and a
    position lost in a crash only sends the user's next reads to the replica a moment early.
    """
    session.execute(text("SET LOCAL synchronous_commit = off"))
    session.execute(
        text(
            "INSERT INTO read_positions (user_id, lsn, updated_at) "
            "VALUES (:user_id, (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint, :now) "
            "ON CONFLICT (user_id) DO UPDATE SET "
            "lsn = GREATEST(read_positions.lsn, excluded.lsn), updated_at = excluded.updated_at"
        ),
        {"user_id": user_id, "now": now},
    )


def position_of(session: Session, user_id: int) -> int | None:
    """The user's last write position on the primary, or None if none is known."""
    return session.scalar(select(ReadPosition.lsn).where(ReadPosition.user_id == user_id))


def replayed(session: Session) -> int | None:
    """How far a standby has replayed the primary's WAL; None on a server that is not a standby."""
    value = session.execute(text("SELECT (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint")).scalar()
    return None if value is None else int(value)
