"""Append-only audit trail in hash-chained lanes.

Every state change writes one `AuditEvent` in the same transaction as the change. Each row stores
the digest of its own content and of the previous row of its lane, so editing or deleting a row
breaks its lane's chain and `verify_chain` finds it. The digest is the one of the suite the row
names (SHA-256 or SM3, core/crypto_suites.py), so a chain begun under one suite and continued under
the other verifies row by row; the suite's name is itself part of the digested content (sm rows).
The database also refuses UPDATE/DELETE on the table (triggers in the migration); the chain is what
still catches an attacker who disables the triggers.

Lanes: one chain with one head row made every audited write in the province wait on one row lock.
There are now N chains (lanes), one head row each in `audit_lane_heads`; the rows present are the
lanes in use (`set_lane_count`, a deliberate command: never a config flip under running writers).
An event's lane is a stable digest of its actor's organization modulo N (no organization: lane 0).
The first audit record of a transaction picks the lane and every later one in that transaction
reuses it, so a transaction locks at most one head row and two transactions can never take two
heads in opposite orders (no deadlock). Within a lane, rows are chained by `seq` (1, 2, … without
gaps); the head is UPDATEd before it is read, which takes its row lock (PostgreSQL) or the write
lock (SQLite), so two transactions never chain onto the same predecessor.

Daily roots (core/audit_roots.py) digest all lane heads once a day and chain with each other; they
are published, so rewriting history means rewriting what was printed too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import enum
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    Row,
    SmallInteger,
    String,
    UniqueConstraint,
    event,
    func,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, SessionTransaction, mapped_column

from core import crypto_suites
from core.actors import Actor
from core.db import Base, IdPK

GENESIS_HASH = "0" * 64
#: session.info key: the lane the current transaction's first audit record took.
_LANE_KEY = "vbp.audit_lane"


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("lane", "seq"),)

    id: Mapped[IdPK]
    #: The chain this event belongs to (see the module docstring).
    lane: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    #: Position in its lane's chain: 1, 2, 3, … without gaps.
    seq: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[dt.datetime] = mapped_column(index=True)
    actor_user_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    actor_org_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    actor_role: Mapped[str] = mapped_column(String(32))
    #: Verb-noun, e.g. "organization.create", "bid.submit".
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject_type: Mapped[str] = mapped_column(String(64))
    subject_id: Mapped[str] = mapped_column(String(64))
    #: Organization that owns the subject (for scoped audit search).
    subject_org_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    #: Cryptographic suite whose digest made `hash` (rows from before suites existed: standard).
    suite: Mapped[str] = mapped_column(String(16), server_default=crypto_suites.STANDARD)


class AuditLaneHead(Base):
    """One row per lane in use: its last sequence number and hash (0 and genesis when empty)."""

    __tablename__ = "audit_lane_heads"

    lane: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))


class AuditDailyRoot(Base):
    """The digest of every lane head as it stood when the day's root was computed, chained to
    the previous day's root (core/audit_roots.py)."""

    __tablename__ = "audit_daily_roots"

    #: Business day (province time) the root closes.
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    #: [[lane, seq, hash], …] ordered by lane.
    heads: Mapped[list[list[Any]]] = mapped_column(JSON)
    prev_root_hash: Mapped[str] = mapped_column(String(64))
    root_hash: Mapped[str] = mapped_column(String(64))
    suite: Mapped[str] = mapped_column(String(16), server_default=crypto_suites.STANDARD)
    created_at: Mapped[dt.datetime]


def jsonable(value: Any) -> Any:
    """Turn a payload into plain JSON data: Decimals and dates become strings, never floats."""
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return value
    if isinstance(value, float):
        raise TypeError("floats are not allowed in audit payloads; use int fen or Decimal")
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value))
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items, key=repr) if isinstance(value, set | frozenset) else items
    raise TypeError(f"cannot put {type(value).__name__} in an audit payload")


def canonical(content: Mapping[str, Any]) -> bytes:
    """The bytes that are digested: sorted keys, no spaces, UTF-8."""
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def _digest(event: AuditEvent) -> str:
    content: dict[str, Any] = {
        "seq": event.seq,
        "at": event.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "actor": [event.actor_user_id, event.actor_org_id, event.actor_role],
        "action": event.action,
        "subject": [event.subject_type, event.subject_id, event.subject_org_id],
        "before": event.before,
        "after": event.after,
        "prev": event.prev_hash,
    }
    suite = event.suite or crypto_suites.STANDARD
    if suite != crypto_suites.STANDARD:
        # Named in what is digested: a row cannot be re-labelled to another suite unnoticed.
        # (Standard rows leave it out, so every row written before suites existed still verifies.)
        content["suite"] = suite
    if event.lane:
        # Likewise the lane: rows of lane 0 (all rows from before lanes) digest as they always did,
        # and a row moved into or out of lane 0 no longer matches its hash.
        content["lane"] = event.lane
    return crypto_suites.get(suite).digest(canonical(content))


def lane_key(org_id: int | None) -> int:
    """A stable number for an organization (unlike hash(), the same in every process and release):
    31 bits of the SHA-256 of its id. No organization (the system): 0, so lane 0."""
    if org_id is None:
        return 0
    return int.from_bytes(hashlib.sha256(str(org_id).encode()).digest()[:4], "big") >> 1


def lane_for(org_id: int | None, lanes: int) -> int:
    """The lane an actor of `org_id` starts a transaction in when `lanes` lanes are in use."""
    return lane_key(org_id) % lanes


class LanesChanged(RuntimeError):
    """The lane picked is no longer in use (the lane count was lowered meanwhile): retry."""


def _take(session: Session, actor: Actor, n: int) -> tuple[int, int, str]:
    """Reserve `n` numbers in the transaction's lane: (lane, last number reserved, previous hash).

    One statement: the first record of a transaction picks its lane with the lane count read in
    the same UPDATE (no cached count to go stale), later ones name the lane taken."""
    head = AuditLaneHead.__table__
    lane = session.info.get(_LANE_KEY)
    if lane is None:
        lanes = select(func.count()).select_from(head).scalar_subquery()
        target: Any = lane_key(actor.org_id) % lanes
    else:
        target = lane
    row: Row[Any] | None = session.execute(
        update(head)
        .where(head.c.lane == target)
        .values(seq=head.c.seq + n)
        .returning(head.c.lane, head.c.seq, head.c.last_hash)
    ).one_or_none()
    if row is None:
        raise LanesChanged(f"audit lane {target if lane is not None else '?'} is not in use")
    session.info[_LANE_KEY] = row.lane
    return row.lane, row.seq, row.last_hash


def _write_head(session: Session, lane: int, last_hash: str) -> None:
    # The table, not the entity: an ORM UPDATE would scan the whole identity map to synchronize it,
    # which made a transaction auditing n changes cost O(n²) (10,000 warnings: 30 s of 55).
    head = AuditLaneHead.__table__
    session.execute(update(head).where(head.c.lane == lane).values(last_hash=last_hash))


@event.listens_for(Session, "after_transaction_end")
def _forget_lane(session: Session, transaction: SessionTransaction) -> None:
    """The next transaction picks its lane afresh (after commit or rollback alike)."""
    if transaction.parent is None:
        session.info.pop(_LANE_KEY, None)


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    subject_type: str,
    subject_id: object,
    subject_org_id: int | None = None,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    now: dt.datetime,
) -> AuditEvent:
    """Append one audit event in the caller's transaction."""
    lane, seq, prev_hash = _take(session, actor, 1)
    # Microsecond precision: what both databases store, so the digest survives a round trip.
    event = AuditEvent(
        lane=lane,
        seq=seq,
        at=now.astimezone(dt.UTC),
        actor_user_id=actor.user_id,
        actor_org_id=actor.org_id,
        actor_role=actor.role.value,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        subject_org_id=subject_org_id,
        before=jsonable(dict(before)) if before is not None else None,
        after=jsonable(dict(after)) if after is not None else None,
        prev_hash=prev_hash,
        suite=crypto_suites.current().name,
    )
    event.hash = _digest(event)
    session.add(event)
    _write_head(session, lane, event.hash)
    return event


@dataclass(frozen=True)
class Entry:
    """One event of `record_many`: what `record` takes, for one subject."""

    action: str
    subject_type: str
    subject_id: object
    subject_org_id: int | None = None
    before: Mapping[str, Any] | None = None
    after: Mapping[str, Any] | None = None


def record_many(
    session: Session, actor: Actor, entries: list[Entry], *, now: dt.datetime
) -> list[AuditEvent]:
    """Append several events in two statements: reserve their numbers in one update of the lane
    head, chain their hashes here, write the last hash back. The same chain `record` makes, without
    a round trip (and a new row version of the head) per event when a job audits thousands."""
    if not entries:
        return []
    lane, last, prev_hash = _take(session, actor, len(entries))
    at = now.astimezone(dt.UTC)
    suite = crypto_suites.current().name
    events = []
    for seq, entry in enumerate(entries, start=last - len(entries) + 1):
        event = AuditEvent(
            lane=lane,
            seq=seq,
            at=at,
            actor_user_id=actor.user_id,
            actor_org_id=actor.org_id,
            actor_role=actor.role.value,
            action=entry.action,
            subject_type=entry.subject_type,
            subject_id=str(entry.subject_id),
            subject_org_id=entry.subject_org_id,
            before=jsonable(dict(entry.before)) if entry.before is not None else None,
            after=jsonable(dict(entry.after)) if entry.after is not None else None,
            prev_hash=prev_hash,
            suite=suite,
        )
        event.hash = prev_hash = _digest(event)
        events.append(event)
    session.add_all(events)
    _write_head(session, lane, prev_hash)
    return events


def lane_heads(session: Session) -> list[tuple[int, int, str]]:
    """Every lane in use with its head: (lane, seq, last hash), by lane."""
    rows = session.execute(
        select(AuditLaneHead.lane, AuditLaneHead.seq, AuditLaneHead.last_hash).order_by(AuditLaneHead.lane)
    )
    return [(lane, seq, last_hash) for lane, seq, last_hash in rows]


def set_lane_count(session: Session, lanes: int, *, now: dt.datetime) -> tuple[int, int]:
    """Use `lanes` lanes from now on: (before, after). New lanes start empty; a lane can only be
    given up while it holds no event (its chain would otherwise lose its head). Meant for a
    maintenance window: a writer that picked a lane just given up fails with LanesChanged."""
    from core.errors import InvalidState

    if not 1 <= lanes <= 1024:
        raise InvalidState(
            "审计通道数须在 1 到 1024 之间 (lanes must be 1..1024)", fields={"lanes": ["1..1024"]}
        )
    # Every head locked: no writer picks a lane while the set changes (PostgreSQL; SQLite
    # serializes writers anyway).
    heads = session.scalars(select(AuditLaneHead).order_by(AuditLaneHead.lane).with_for_update()).all()
    before = len(heads)
    busy = [h.lane for h in heads[lanes:] if h.seq]
    if busy:
        raise InvalidState(
            f"通道 {busy} 已有审计记录，不能停用 (lanes {busy} hold events and cannot be given up)",
            fields={"lanes": [f"lanes {busy} hold events"]},
        )
    for h in heads[lanes:]:
        session.delete(h)
    session.add_all(AuditLaneHead(lane=n, seq=0, last_hash=GENESIS_HASH) for n in range(before, lanes))
    session.flush()
    record(
        session,
        Actor.system(),
        "audit.lanes_set",
        subject_type="audit_lanes",
        subject_id="lanes",
        before={"lanes": before},
        after={"lanes": lanes},
        now=now,
    )
    return before, lanes


@dataclass(frozen=True)
class ChainReport:
    """What verification found: ok, or the first problem with where it is (lane and seq, or day)."""

    ok: bool
    checked: int
    first_bad_seq: int | None = None
    problem: str | None = None
    lane: int | None = None
    day: dt.date | None = None
    roots: int = 0

    def where(self) -> str:
        if self.day is not None:
            return f"daily root {self.day.isoformat()}"
        return f"lane {self.lane} seq {self.first_bad_seq}"


def verify_chain(session: Session) -> ChainReport:
    """Every lane and every daily root (core/audit_verify.py); the first problem found."""
    from core.audit_verify import verify

    return verify(session)
