"""Notices (公告): what the bureau publishes for everyone on the platform.

The bureau writes a draft, publishes it (everyone signed in can read it from then on) and may
withdraw it (it disappears from everyone else's list; the bureau keeps it). Each move goes through
the transition table and the audit trail.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Select, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core import audit
from core.actors import Actor, OrgKind, Role
from core.audit import AuditEvent
from core.db import Base, BigId, IdPK, str_enum
from core.errors import NotFound, PermissionDenied
from core.messages import Delivery, register
from core.organizations import Organization
from core.states import Machine


class NoticeStatus(enum.StrEnum):
    DRAFT = "draft"  #: 草稿: only the bureau sees it
    PUBLISHED = "published"  #: 已发布: everyone signed in reads it
    WITHDRAWN = "withdrawn"  #: 已撤回: the bureau keeps it; nobody else sees it


NOTICE = Machine(
    "公告 (notice)",
    {
        NoticeStatus.DRAFT: frozenset({NoticeStatus.PUBLISHED, NoticeStatus.WITHDRAWN}),
        NoticeStatus.PUBLISHED: frozenset({NoticeStatus.WITHDRAWN}),
        NoticeStatus.WITHDRAWN: frozenset(),
    },
    labels={
        NoticeStatus.DRAFT: "草稿",
        NoticeStatus.PUBLISHED: "已发布",
        NoticeStatus.WITHDRAWN: "已撤回",
    },
)


class Notice(Base):
    __tablename__ = "notices"

    id: Mapped[IdPK]
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[NoticeStatus] = mapped_column(str_enum(NoticeStatus, "notice_status"), index=True)
    #: The bureau that wrote it.
    author_org_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"))
    author_user_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    withdrawn_at: Mapped[datetime | None]


def _require_bureau_writer(actor: Actor) -> None:
    if not actor.is_bureau or actor.role not in (Role.ADMIN, Role.OPERATOR):
        raise PermissionDenied("仅医保局经办人员可发布公告 (bureau operators only)")


def notices_visible_to(actor: Actor) -> Select[tuple[Notice]]:
    """The bureau sees every notice; everyone else the published ones. Newest first."""
    stmt = select(Notice)
    if not actor.is_bureau:
        stmt = stmt.where(Notice.status == NoticeStatus.PUBLISHED)
    return stmt.order_by(Notice.published_at.desc().nulls_first(), Notice.id.desc())


def get_notice(session: Session, actor: Actor, notice_id: int, *, for_update: bool = False) -> Notice:
    """One notice the caller may read; a draft or withdrawn notice is not found outside the bureau."""
    stmt = notices_visible_to(actor).where(Notice.id == notice_id)
    if for_update:
        stmt = stmt.with_for_update()
    found = session.scalar(stmt)
    if found is None:
        raise NotFound("公告不存在 (notice not found)", code="notice_not_found")
    return found


def create_notice(session: Session, actor: Actor, *, title: str, body: str, now: datetime) -> Notice:
    """Write a draft notice (bureau operators)."""
    _require_bureau_writer(actor)
    if actor.org_id is None:  # only a person of the bureau writes notices, never a job
        raise PermissionDenied("仅医保局经办人员可发布公告 (bureau operators only)")
    notice = Notice(
        title=title,
        body=body,
        status=NoticeStatus.DRAFT,
        author_org_id=actor.org_id,
        author_user_id=actor.user_id,
        created_at=now,
    )
    session.add(notice)
    session.flush()
    audit.record(
        session, actor, "notice.create", subject_type="notice", subject_id=notice.id,
        after={"title": title}, now=now,
    )  # fmt: skip
    return notice


def publish_notice(session: Session, actor: Actor, notice_id: int, *, now: datetime) -> Notice:
    """Publish a draft: everyone signed in can read it from now on."""
    return _move(session, actor, notice_id, NoticeStatus.PUBLISHED, now=now)


def withdraw_notice(session: Session, actor: Actor, notice_id: int, *, now: datetime) -> Notice:
    """Withdraw a notice: it leaves everyone else's list."""
    return _move(session, actor, notice_id, NoticeStatus.WITHDRAWN, now=now)


def _move(session: Session, actor: Actor, notice_id: int, to: NoticeStatus, *, now: datetime) -> Notice:
    _require_bureau_writer(actor)
    # Row lock: two bureau users pressing "publish" at once move it once (SQLite serialises anyway).
    notice = get_notice(session, actor, notice_id, for_update=True)
    before = notice.status
    NOTICE.move(notice, to)
    if to is NoticeStatus.PUBLISHED:
        notice.published_at = now
    else:
        notice.withdrawn_at = now
    session.flush()
    audit.record(
        session, actor, f"notice.{'publish' if to is NoticeStatus.PUBLISHED else 'withdraw'}",
        subject_type="notice", subject_id=notice.id, before={"status": before}, after={"status": to},
        now=now,
    )  # fmt: skip
    return notice


@register("notice.publish")
def notice_published(session: Session, event: AuditEvent) -> Iterable[Delivery]:
    """Every active organization outside the bureau hears of a published notice (its title only)."""
    notice = session.get(Notice, int(event.subject_id))
    if notice is None:
        return
    orgs = session.scalars(
        select(Organization.id).where(Organization.kind != OrgKind.BUREAU, Organization.active.is_(True))
    )
    for org_id in orgs:
        yield Delivery(org_id, "notice_published", "notice", notice.id, {"title": notice.title[:100]})
