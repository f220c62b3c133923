"""API tokens for system-to-system callers (hospital HIS, enterprise ERP): issue, list, revoke,
and resolve a presented token to its user's Actor."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from core import audit
from core.actors import Actor, Role
from core.errors import NotFound, PermissionDenied
from core.organizations import ApiToken, User, actor_for_user

TOKEN_PREFIX = "vbp_"  # noqa: S105 (a public marker, not a secret)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    session: Session, actor: Actor, *, name: str, ttl: timedelta, now: datetime
) -> tuple[ApiToken, str]:
    """Create a bearer token for the acting user; the plaintext is returned once, never stored."""
    if actor.user_id is None:
        raise PermissionDenied()
    plaintext = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=actor.user_id,
        name=name,
        token_hash=_token_hash(plaintext),
        prefix=plaintext[:12],
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        actor,
        "token.issue",
        subject_type="api_token",
        subject_id=token.id,
        subject_org_id=actor.org_id,
        after={"name": name, "expires_at": token.expires_at},
        now=now,
    )
    return token, plaintext


def tokens_of(session: Session, actor: Actor) -> Sequence[ApiToken]:
    """The acting user's own tokens (revoked ones included, newest first)."""
    return session.scalars(
        select(ApiToken).where(ApiToken.user_id == actor.user_id).order_by(ApiToken.id.desc())
    ).all()


def revoke_token(session: Session, actor: Actor, token_id: int, *, now: datetime) -> ApiToken:
    """Revoke one of the acting user's tokens (or any token of the org, for its admin)."""
    stmt = select(ApiToken).join(User).where(ApiToken.id == token_id)
    if actor.role is Role.ADMIN and actor.is_bureau:
        pass
    elif actor.role is Role.ADMIN:
        stmt = stmt.where(User.organization_id == actor.org_id)
    else:
        stmt = stmt.where(ApiToken.user_id == actor.user_id)
    token = session.scalars(stmt).first()
    if token is None:
        raise NotFound("令牌不存在 (token not found)")
    if token.revoked_at is None:
        token.revoked_at = now
        session.flush()
        audit.record(
            session,
            actor,
            "token.revoke",
            subject_type="api_token",
            subject_id=token.id,
            subject_org_id=token.user.organization_id,
            now=now,
        )
    return token


def user_for_token(session: Session, *, token: str, now: datetime) -> User | None:
    """The active user (organization loaded) a presented bearer token stands for; None if the
    token is unknown, revoked or expired, or its user or organization inactive."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    row = session.scalars(
        select(ApiToken)
        .options(joinedload(ApiToken.user).joinedload(User.organization))  # one round trip, not three
        .where(ApiToken.token_hash == _token_hash(token))
    ).first()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    user = row.user
    if not user.active or not user.organization.active:
        return None
    return user


def actor_for_token(session: Session, *, token: str, now: datetime) -> Actor | None:
    """Resolve a presented bearer token to its user's Actor; None if unknown, revoked or expired."""
    user = user_for_token(session, token=token, now=now)
    return actor_for_user(user) if user is not None else None


def revoke_tokens_of(session: Session, user_ids: Sequence[int], *, now: datetime) -> int:
    """Revoke every live token of these users, for good (a password change, a deactivation);
    returns how many. Reactivating a user later does not revive them."""
    if not user_ids:
        return 0
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.user_id.in_(user_ids), ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
