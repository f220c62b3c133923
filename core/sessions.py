"""Browser sessions kept on the server, so that they can be ended there.

The signed cookie only carries a random session id; this table holds its SHA-256 (a database
reader cannot replay a session), the user, and the session's times. Every cookie-authenticated
request resolves the id here: a session logged out, revoked (password change, deactivation,
"log out everywhere"), idle too long or past its absolute lifetime is refused, whatever the
cookie itself says. A maintained library for this did not fit: Flask-Session stores whole
sessions through Flask-SQLAlchemy (not used here) and cannot revoke a user's sessions by user.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, String, delete, or_, select, update
from sqlalchemy.orm import Mapped, Session, joinedload, mapped_column, relationship

from core.db import Base, BigId, IdPK
from core.organizations import User

#: last_seen_at is written at most this often per session (idle timeouts are in minutes).
TOUCH_EVERY = timedelta(minutes=1)


class UserSession(Base):
    __tablename__ = "user_sessions"

    id: Mapped[IdPK]
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), index=True)
    #: SHA-256 of the random session id the cookie carries; the id itself is never stored.
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    #: Absolute end of the session (created_at + the configured lifetime), idle or not.
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    #: Why it was ended early: logout, password_change, deactivated, logout_everywhere, ...
    revoked_reason: Mapped[str | None] = mapped_column(String(32))

    user: Mapped[User] = relationship()


@dataclass(frozen=True)
class SessionTimes:
    lifetime: timedelta
    idle: timedelta


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start_session(session: Session, user: User, *, now: datetime, times: SessionTimes) -> str:
    """Open a session for `user`; returns the random id for the cookie (shown once, stored hashed)."""
    session_id = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            user_id=user.id,
            id_hash=_hash(session_id),
            created_at=now,
            last_seen_at=now,
            expires_at=now + times.lifetime,
        )
    )
    session.flush()
    return session_id


def resolve_session(
    session: Session, session_id: str, *, now: datetime, times: SessionTimes, touch: bool = True
) -> User | None:
    """The user of a live session, or None (unknown, revoked, idle too long, expired, user or
    organization inactive). A live session's last_seen_at moves on (at most every TOUCH_EVERY)."""
    if not session_id or len(session_id) > 100:
        return None
    row = session.scalars(
        select(UserSession)
        .options(joinedload(UserSession.user).joinedload(User.organization))
        .where(UserSession.id_hash == _hash(session_id))
    ).first()
    if (
        row is None
        or row.revoked_at is not None
        or now >= row.expires_at
        or now - row.last_seen_at >= times.idle
        or not row.user.active
        or not row.user.organization.active
    ):
        return None
    if touch and now - row.last_seen_at >= TOUCH_EVERY:
        # A conditional UPDATE: concurrent requests of one session never move the time backwards.
        session.execute(
            update(UserSession)
            .where(UserSession.id == row.id, UserSession.last_seen_at < now)
            .values(last_seen_at=now)
            .execution_options(synchronize_session=False)
        )
    return row.user


def end_session(session: Session, session_id: str, *, now: datetime) -> None:
    """Log out: the session id is worthless from now on, wherever the cookie was copied to."""
    session.execute(
        update(UserSession)
        .where(UserSession.id_hash == _hash(session_id), UserSession.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason="logout")
        .execution_options(synchronize_session=False)
    )


def revoke_sessions(session: Session, user_ids: list[int], *, reason: str, now: datetime) -> int:
    """End every live session of these users; returns how many were ended."""
    if not user_ids:
        return 0
    result = session.execute(
        update(UserSession)
        .where(
            UserSession.user_id.in_(user_ids),
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > now,
        )
        .values(revoked_at=now, revoked_reason=reason)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def forget_ended_sessions(session: Session, *, now: datetime, keep: timedelta) -> int:
    """Delete session records that ended more than `keep` ago (the table would otherwise grow
    with every login); returns how many."""
    cutoff = now - keep
    result = session.execute(
        delete(UserSession).where(or_(UserSession.expires_at < cutoff, UserSession.revoked_at < cutoff))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
