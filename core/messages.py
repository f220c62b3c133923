"""Messages (站内消息): the events that concern an organization, delivered to its users.

A message belongs to one organization; whether it has been read is kept per user
(`MessageRead`), so one colleague opening it does not mark it read for the others.

Messages are written from the audit trail: every state change already appends an `AuditEvent`
in its own transaction (core/audit.py), so a rule registered here for the event's action names
the recipient organizations, and the message lands in the same transaction as the change (a
rolled-back change leaves no message). The rules live with the records they read
(ledger/messaging.py) and are registered by the shell at start-up; services stay untouched.
A rule decides what a message reveals: only the record's kind and id, never an amount or price.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Select, String, and_, event, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.actors import Actor
from core.audit import AuditEvent
from core.db import Base, BigId, IdPK
from core.errors import NotFound


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[IdPK]
    #: The organization whose users see the message.
    org_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    #: What happened, a glossary code: "order_received", "delivery_arrived", ...
    kind: Mapped[str] = mapped_column(String(32))
    #: The record the message is about, as (kind, id); the web turns it into an address.
    link_kind: Mapped[str | None] = mapped_column(String(32))
    link_id: Mapped[int | None] = mapped_column(BigInteger)
    #: Small facts the text shows (a batch's name, an order number); never amounts or prices.
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(index=True)
    #: The audit event that caused it.
    audit_seq: Mapped[int | None] = mapped_column(BigInteger)


class MessageRead(Base):
    """One user has read one message."""

    __tablename__ = "message_reads"

    message_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("messages.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), primary_key=True, index=True)
    read_at: Mapped[datetime]


# --- the rules: audit action -> recipients ------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """A message to send: to whom, what happened, and the record it links to."""

    org_id: int
    kind: str
    link_kind: str | None = None
    link_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


Rule = Callable[[Session, AuditEvent], Iterable[Delivery]]

#: audit action -> rule; filled by `register` (ledger/messaging.py).
RULES: dict[str, Rule] = {}


def register(*actions: str) -> Callable[[Rule], Rule]:
    """Register a rule that names the recipients of the events with these audit actions."""

    def decorator(rule: Rule) -> Rule:
        for action in actions:
            RULES[action] = rule
        return rule

    return decorator


@event.listens_for(Session, "before_flush")
def _deliver_for_new_events(session: Session, _context: Any, _instances: Any) -> None:
    """Turn each new audit event that has a rule into messages, in the same transaction."""
    events = [obj for obj in session.new if isinstance(obj, AuditEvent) and obj.action in RULES]
    if not events:
        return
    with session.no_autoflush:  # the rules read records; nothing may flush halfway
        # One transaction writes into one lane (core/audit.py), so seq orders these events.
        for audit_event in sorted(events, key=lambda e: (e.lane, e.seq)):
            sent: set[tuple[int, str]] = set()
            for delivery in RULES[audit_event.action](session, audit_event):
                if (delivery.org_id, delivery.kind) in sent:
                    continue
                sent.add((delivery.org_id, delivery.kind))
                session.add(
                    Message(
                        org_id=delivery.org_id,
                        kind=delivery.kind,
                        link_kind=delivery.link_kind,
                        link_id=delivery.link_id,
                        data=delivery.data,
                        created_at=audit_event.at,
                        audit_seq=audit_event.seq,
                    )
                )


# --- reads and writes for the reader ------------------------------------------------------------


def messages_for(actor: Actor) -> Select[tuple[Message, datetime | None]]:
    """The caller's organization's messages with the caller's read time: unread first, newest first."""
    read = select(MessageRead.message_id, MessageRead.read_at).where(MessageRead.user_id == actor.user_id)
    reads = read.subquery()
    return (
        select(Message, reads.c.read_at)
        .outerjoin(reads, reads.c.message_id == Message.id)
        .where(Message.org_id == actor.org_id)
        .order_by(reads.c.read_at.is_not(None), Message.created_at.desc(), Message.id.desc())
    )


def unread_for(actor: Actor) -> Select[tuple[Message]]:
    """The caller's unread messages (what the navigation counts)."""
    seen = select(MessageRead.message_id).where(MessageRead.user_id == actor.user_id)
    return select(Message).where(Message.org_id == actor.org_id, Message.id.not_in(seen))


def unread_count(session: Session, actor: Actor) -> int:
    """How many of the caller's organization's messages the caller has not read."""
    if actor.org_id is None or actor.user_id is None:
        return 0
    stmt = select(func.count()).select_from(unread_for(actor).subquery())
    return session.scalar(stmt) or 0


def get_message(session: Session, actor: Actor, message_id: int) -> Message:
    """One of the caller's organization's messages; any other id is not found."""
    found = session.scalar(select(Message).where(Message.id == message_id, Message.org_id == actor.org_id))
    if found is None:
        raise NotFound("消息不存在 (message not found)", code="message_not_found")
    return found


def read_message(session: Session, actor: Actor, message_id: int, *, now: datetime) -> MessageView:
    """Open a message: it is read for the caller (not for the caller's colleagues)."""
    message = get_message(session, actor, message_id)
    _mark(session, actor, [message.id], now=now)
    read_at = session.scalar(
        select(MessageRead.read_at).where(
            MessageRead.message_id == message.id, MessageRead.user_id == actor.user_id
        )
    )
    return _view(message, read_at)


def read_all(session: Session, actor: Actor, *, now: datetime) -> int:
    """Mark every unread message of the caller's organization read for the caller; returns how many."""
    ids = list(session.scalars(unread_for(actor).with_only_columns(Message.id)))
    _mark(session, actor, ids, now=now)
    return len(ids)


@dataclass(frozen=True)
class MessageView:
    """A message as its reader sees it: with the reader's own read time."""

    id: int
    kind: str
    link_kind: str | None
    link_id: int | None
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None

    @property
    def read(self) -> bool:
        return self.read_at is not None


def inbox(
    session: Session, actor: Actor, *, limit: int, offset: int, unread_only: bool = False
) -> list[MessageView]:
    """One page of the caller's messages (unread first, newest first) with the caller's read state."""
    stmt = messages_for(actor)
    if unread_only:
        stmt = stmt.where(Message.id.in_(unread_for(actor).with_only_columns(Message.id)))
    rows = session.execute(stmt.limit(limit).offset(offset)).all()
    return [_view(m, read_at) for m, read_at in rows]


def _view(m: Message, read_at: datetime | None) -> MessageView:
    return MessageView(m.id, m.kind, m.link_kind, m.link_id, dict(m.data or {}), m.created_at, read_at)


def inbox_size(session: Session, actor: Actor, *, unread_only: bool = False) -> int:
    """How many messages the caller's organization has (or the caller has not read)."""
    if unread_only:
        return unread_count(session, actor)
    stmt = select(func.count()).select_from(Message).where(Message.org_id == actor.org_id)
    return session.scalar(stmt) or 0


def _mark(session: Session, actor: Actor, ids: list[int], *, now: datetime) -> None:
    if actor.user_id is None or not ids:
        return
    already = set(
        session.scalars(
            select(MessageRead.message_id).where(
                and_(MessageRead.user_id == actor.user_id, MessageRead.message_id.in_(ids))
            )
        )
    )
    for message_id in ids:
        if message_id not in already:
            session.add(MessageRead(message_id=message_id, user_id=actor.user_id, read_at=now))
    session.flush()


__all__ = [
    "RULES",
    "Delivery",
    "Message",
    "MessageRead",
    "MessageView",
    "get_message",
    "inbox",
    "inbox_size",
    "messages_for",
    "read_all",
    "read_message",
    "register",
    "unread_count",
    "unread_for",
]
