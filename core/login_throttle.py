"""Slowing password guessing down without handing strangers a way to lock accounts.

Failures are counted per client address and username, and per client address alone (a looser
limit against one address trying many usernames). Past the limit that client waits: the first
delay, doubling with each further failure up to a cap; a quiet period forgets the failures. The
account itself is never locked, so the real user, from another address, logs in as usual.

Counters live in the database, shared by every web worker. Keys are stored as SHA-256 digests:
the table holds neither usernames nor addresses. IPv6 clients are counted by their /64 prefix,
which one subscriber usually controls whole.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, String, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.db import Base


class LoginThrottle(Base):
    __tablename__ = "login_throttles"

    #: SHA-256 of "client\0<address>" or "client-user\0<address>\0<username>".
    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[datetime]
    #: The client waits until then before its next attempt is even checked.
    blocked_until: Mapped[datetime | None]


@dataclass(frozen=True)
class ThrottlePolicy:
    #: Failures from one address for one username before that client waits.
    max_failures: int = 5
    #: Failures from one address, any usernames, before that address waits.
    max_failures_per_client: int = 50
    first_delay: timedelta = timedelta(minutes=1)
    max_delay: timedelta = timedelta(hours=1)
    #: Failures are forgotten after this long without one (counted from the end of any wait).
    forget_after: timedelta = timedelta(minutes=15)


def client_key(address: str) -> str:
    """The address as counted: IPv4 as it is, IPv6 by its /64 network."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:100]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


def _keys(client: str, username: str) -> list[tuple[str, bool]]:
    """(key digest, is the per-client key) for one attempt."""
    address = client_key(client)
    return [
        (hashlib.sha256(f"client\0{address}".encode()).hexdigest(), True),
        (hashlib.sha256(f"client-user\0{address}\0{username}".encode()).hexdigest(), False),
    ]


def blocked_for(session: Session, *, client: str, username: str, now: datetime) -> timedelta | None:
    """How long this client must still wait before trying `username`, or None."""
    digests = [digest for digest, _ in _keys(client, username)]
    ends = [
        end
        for end in session.scalars(
            select(LoginThrottle.blocked_until).where(
                LoginThrottle.key_hash.in_(digests), LoginThrottle.blocked_until > now
            )
        )
        if end is not None
    ]
    return max(ends) - now if ends else None


def record_failure(
    session: Session, *, client: str, username: str, now: datetime, policy: ThrottlePolicy
) -> None:
    """Count one failed attempt; past the limit the client waits, longer with each failure."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    for digest, per_client in _keys(client, username):
        # Create the row if it is missing (concurrent first failures both succeed), then lock it.
        session.execute(
            insert(LoginThrottle)
            .values(key_hash=digest, failures=0, last_failure_at=now)
            .on_conflict_do_nothing(index_elements=["key_hash"])
        )
        row = session.scalars(
            select(LoginThrottle)
            .where(LoginThrottle.key_hash == digest)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        quiet_since = max(row.last_failure_at, row.blocked_until or row.last_failure_at)
        if now - quiet_since >= policy.forget_after:
            row.failures, row.blocked_until = 0, None
        row.failures += 1
        row.last_failure_at = now
        limit = policy.max_failures_per_client if per_client else policy.max_failures
        if row.failures >= limit:
            delay = policy.first_delay * 2 ** min(row.failures - limit, 20)
            row.blocked_until = now + min(delay, policy.max_delay)
    session.flush()


def record_success(session: Session, *, client: str, username: str) -> None:
    """A correct password clears the count for this address and username (not the address's
    own count: logging into one's own account must not reset a spraying client's budget)."""
    digest = next(digest for digest, per_client in _keys(client, username) if not per_client)
    session.execute(delete(LoginThrottle).where(LoginThrottle.key_hash == digest))


def forget_quiet_clients(session: Session, *, now: datetime, policy: ThrottlePolicy) -> int:
    """Delete counters whose failures are forgotten anyway; returns how many."""
    cutoff = now - policy.forget_after - policy.max_delay
    result = session.execute(delete(LoginThrottle).where(LoginThrottle.last_failure_at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
