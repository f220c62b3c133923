"""Organizations (bureau, manufacturers, distributors, hospitals), their users and API tokens."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.actors import Actor, OrgKind, Role
from core.db import Base, BigId, IdPK, str_enum
from core.glossary import terms_of


class HospitalLevel(enum.StrEnum):
    """医院等级 (hospital grade)."""

    TERTIARY = "tertiary"  #: 三级
    SECONDARY = "secondary"  #: 二级
    PRIMARY = "primary"  #: 一级
    UNRATED = "unrated"  #: 未定级


HOSPITAL_LEVEL_LABELS = terms_of(HospitalLevel)  #: from core/glossary.py


class Organization(Base):
    __tablename__ = "organizations"
    __table_args__ = (
        # Hospital attributes exist exactly for hospitals.
        CheckConstraint(
            "(kind = 'hospital' AND hospital_level IS NOT NULL AND is_public IS NOT NULL) OR "
            "(kind <> 'hospital' AND hospital_level IS NULL AND is_public IS NULL)",
            name="hospital_attributes",
        ),
    )

    id: Mapped[IdPK]
    kind: Mapped[OrgKind] = mapped_column(str_enum(OrgKind, "org_kind"))
    name: Mapped[str] = mapped_column(String(200))
    #: 统一社会信用代码, 18 chars, GB 32100-2015 check character validated on input.
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    #: 6-digit administrative division code (行政区划代码), e.g. 510100 for Chengdu.
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    hospital_level: Mapped[HospitalLevel | None] = mapped_column(str_enum(HospitalLevel, "hospital_level"))
    is_public: Mapped[bool | None] = mapped_column(Boolean)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]

    users: Mapped[list[User]] = relationship(back_populates="organization")


class User(Base):
    __tablename__ = "users"

    id: Mapped[IdPK]
    organization_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[Role] = mapped_column(str_enum(Role, "user_role"))
    #: argon2id hash (argon2-cffi); never the password.
    password_hash: Mapped[str] = mapped_column(String(255))
    #: Deactivating a user also ends its sessions and revokes its tokens for good (core.accounts).
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]

    organization: Mapped[Organization] = relationship(back_populates="users")


class ApiToken(Base):
    """Bearer token for system-to-system use (hospital HIS, enterprise ERP); revocable, expiring."""

    __tablename__ = "api_tokens"

    id: Mapped[IdPK]
    user_id: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    #: SHA-256 of the token; the token itself is shown once at creation and never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: First characters of the token, so a user can tell tokens apart.
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


def actor_for_user(user: User) -> Actor:
    """The Actor a logged-in user acts as (its organization and role as they are now)."""
    return Actor(
        user_id=user.id, org_id=user.organization_id, org_kind=user.organization.kind, role=user.role
    )
