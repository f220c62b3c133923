"""Small factories returning flushed objects with sensible defaults (through the services)."""

from __future__ import annotations

import itertools
from datetime import timedelta
from functools import cache

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core import accounts, clock, tokens
from core.actors import Actor, OrgKind, Role
from core.organizations import HospitalLevel, Organization, User
from core.uscc import make_uscc

PASSWORD = "Test-password-1"
_seq = itertools.count(1)
SYSTEM = Actor.system()


@cache
def _password_hash() -> str:
    return accounts.hash_password(PASSWORD)


def make_org(
    session: Session,
    kind: OrgKind = OrgKind.HOSPITAL,
    *,
    name: str | None = None,
    region_code: str = "510100",
    level: HospitalLevel | None = None,
    is_public: bool | None = None,
) -> Organization:
    n = next(_seq)
    hospital = kind is OrgKind.HOSPITAL
    return accounts.create_organization(
        session,
        SYSTEM,
        kind=kind,
        name=name or f"{kind.value}-{n}",
        uscc=make_uscc(f"9151{n:04d}MA6C{n:05d}"[:17]),
        region_code=region_code,
        hospital_level=(level or HospitalLevel.TERTIARY) if hospital else None,
        is_public=(True if is_public is None else is_public) if hospital else None,
        now=clock.now(),
    )


def make_user(
    session: Session, org: Organization, role: Role = Role.OPERATOR, *, username: str | None = None
) -> User:
    """A user with PASSWORD (hashed once per run, to keep the suite fast)."""
    user = User(
        organization=org,
        username=username or f"user{next(_seq)}",
        display_name="测试用户",
        role=role,
        password_hash=_password_hash(),
        active=True,
        created_at=clock.now(),
    )
    session.add(user)
    session.flush()
    return user


def actor_of(user: User) -> Actor:
    return accounts.actor_for_user(user)


def bearer(session: Session, user: User) -> dict[str, str]:
    """Authorization header with a fresh token for `user`."""
    # Long-lived, so tests that move the clock forward keep their callers signed in.
    _, plaintext = tokens.issue_token(
        session, actor_of(user), name="test", ttl=timedelta(days=3650), now=clock.now() - timedelta(days=1)
    )
    session.flush()
    return {"Authorization": f"Bearer {plaintext}"}


def login(client: FlaskClient, user: User) -> None:
    response = client.post("/api/v1/auth/login", json={"username": user.username, "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
