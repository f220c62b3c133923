"""Organizations, users, passwords and API tokens: services (writes) and scoped queries (reads)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from core import audit
from core.actors import Actor, OrgKind, Role
from core.errors import AuthenticationRequired, Conflict, NotFound, PermissionDenied, ValidationFailed
from core.organizations import ApiToken, HospitalLevel, Organization, User
from core.uscc import region_code_error, uscc_error

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters

#: Repeated failures lock an account for a while (brute-force throttle).
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
TOKEN_PREFIX = "vbp_"  # noqa: S105 (a public marker, not a secret)

__all__ = [
    "actor_for_token",
    "actor_for_user",
    "authenticate",
    "create_organization",
    "create_user",
    "get_organization",
    "get_user",
    "issue_token",
    "organizations_visible_to",
    "revoke_token",
    "tokens_of",
    "update_organization",
    "update_user",
    "users_visible_to",
]


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _password_problem(password: str) -> str | None:
    if len(password) < 10:
        return "密码至少10位 (at least 10 characters)"
    if not (any(c.isalpha() for c in password) and any(c.isdigit() for c in password)):
        return "密码须同时包含字母和数字 (must contain letters and digits)"
    return None


def actor_for_user(user: User) -> Actor:
    return Actor(
        user_id=user.id, org_id=user.organization_id, org_kind=user.organization.kind, role=user.role
    )


# --- reads -------------------------------------------------------------------------------------


def organizations_visible_to(actor: Actor) -> Select[tuple[Organization]]:
    """The bureau sees every organization; everybody else only their own."""
    stmt = select(Organization)
    if not actor.is_bureau:
        stmt = stmt.where(Organization.id == actor.org_id)
    return stmt


def get_organization(session: Session, actor: Actor, org_id: int) -> Organization:
    """One organization the actor may see, else NotFound (another org's existence is not leaked)."""
    org = session.scalars(organizations_visible_to(actor).where(Organization.id == org_id)).first()
    if org is None:
        raise NotFound("机构不存在 (organization not found)")
    return org


def users_visible_to(actor: Actor) -> Select[tuple[User]]:
    """Bureau admins/auditors see all users; others the users of their own organization."""
    stmt = select(User)
    if not actor.is_bureau:
        stmt = stmt.where(User.organization_id == actor.org_id)
    return stmt


def get_user(session: Session, actor: Actor, user_id: int) -> User:
    user = session.scalars(users_visible_to(actor).where(User.id == user_id)).first()
    if user is None:
        raise NotFound("用户不存在 (user not found)")
    return user


# --- writes ------------------------------------------------------------------------------------


def _require_admin(actor: Actor, *, bureau: bool = False) -> None:
    if actor.is_system:
        return
    if actor.role is not Role.ADMIN or (bureau and not actor.is_bureau):
        raise PermissionDenied("需要管理员权限 (administrator role required)")


def _check_org_fields(kind: OrgKind, data: Mapping[str, Any]) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    if "uscc" in data and (msg := uscc_error(data["uscc"])):
        problems["uscc"] = [msg]
    if "region_code" in data and (msg := region_code_error(data["region_code"])):
        problems["region_code"] = [msg]
    if kind is OrgKind.HOSPITAL:
        for name in ("hospital_level", "is_public"):
            if data.get(name) is None:
                problems[name] = ["医疗机构必填 (required for hospitals)"]
    else:
        for name in ("hospital_level", "is_public"):
            if data.get(name) is not None:
                problems[name] = ["仅医疗机构可填 (only for hospitals)"]
    return problems


def create_organization(
    session: Session,
    actor: Actor,
    *,
    kind: OrgKind,
    name: str,
    uscc: str,
    region_code: str,
    hospital_level: HospitalLevel | None = None,
    is_public: bool | None = None,
    now: datetime,
) -> Organization:
    """Register an organization (bureau admin only)."""
    _require_admin(actor, bureau=True)
    fields = {
        "uscc": uscc,
        "region_code": region_code,
        "hospital_level": hospital_level,
        "is_public": is_public,
    }
    if problems := _check_org_fields(kind, fields):
        raise ValidationFailed(fields=problems)
    if session.scalar(select(func.count()).where(Organization.uscc == uscc)):
        raise Conflict(
            "统一社会信用代码已登记 (USCC already registered)", fields={"uscc": ["已存在 (exists)"]}
        )
    org = Organization(
        kind=kind,
        name=name,
        uscc=uscc,
        region_code=region_code,
        hospital_level=hospital_level,
        is_public=is_public,
        active=True,
        created_at=now,
    )
    session.add(org)
    session.flush()
    audit.record(
        session,
        actor,
        "organization.create",
        subject_type="organization",
        subject_id=org.id,
        subject_org_id=org.id,
        after=_org_snapshot(org),
        now=now,
    )
    return org


def _org_snapshot(org: Organization) -> dict[str, Any]:
    return {
        "kind": org.kind,
        "name": org.name,
        "uscc": org.uscc,
        "region_code": org.region_code,
        "hospital_level": org.hospital_level,
        "is_public": org.is_public,
        "active": org.active,
    }


def update_organization(
    session: Session, actor: Actor, org_id: int, *, changes: Mapping[str, Any], now: datetime
) -> Organization:
    """Change an organization's name, region, hospital attributes or active flag (bureau admin)."""
    _require_admin(actor, bureau=True)
    org = get_organization(session, actor, org_id)
    if problems := _check_org_fields(org.kind, {**_org_snapshot(org), **changes}):
        raise ValidationFailed(fields=problems)
    before = _org_snapshot(org)
    for key, value in changes.items():
        setattr(org, key, value)
    session.flush()
    audit.record(
        session,
        actor,
        "organization.update",
        subject_type="organization",
        subject_id=org.id,
        subject_org_id=org.id,
        before=before,
        after=_org_snapshot(org),
        now=now,
    )
    return org


def create_user(
    session: Session,
    actor: Actor,
    *,
    organization_id: int,
    username: str,
    display_name: str,
    password: str,
    role: Role,
    now: datetime,
) -> User:
    """Create a user in an organization: its own admin, or a bureau admin for any organization."""
    _require_admin(actor)
    org = get_organization(session, actor, organization_id)
    if role is Role.SYSTEM:
        raise ValidationFailed(fields={"role": ["system 角色不可分配 (cannot be assigned)"]})
    if msg := _password_problem(password):
        raise ValidationFailed(fields={"password": [msg]})
    if session.scalar(select(func.count()).where(User.username == username)):
        raise Conflict("用户名已存在 (username taken)", fields={"username": ["已存在 (exists)"]})
    user = User(
        organization=org,
        username=username,
        display_name=display_name,
        role=role,
        password_hash=hash_password(password),
        active=True,
        session_version=1,
        failed_logins=0,
        created_at=now,
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent insert of the same username
        raise Conflict("用户名已存在 (username taken)", fields={"username": ["已存在 (exists)"]}) from exc
    audit.record(
        session,
        actor,
        "user.create",
        subject_type="user",
        subject_id=user.id,
        subject_org_id=org.id,
        after={"username": username, "role": role, "organization_id": org.id},
        now=now,
    )
    return user


def update_user(
    session: Session,
    actor: Actor,
    user_id: int,
    *,
    display_name: str | None = None,
    role: Role | None = None,
    active: bool | None = None,
    password: str | None = None,
    now: datetime,
) -> User:
    """Change a user's name, role, active flag or password (org admin or bureau admin)."""
    _require_admin(actor)
    user = get_user(session, actor, user_id)
    before = {"display_name": user.display_name, "role": user.role, "active": user.active}
    if role is Role.SYSTEM:
        raise ValidationFailed(fields={"role": ["system 角色不可分配 (cannot be assigned)"]})
    if user.id == actor.user_id and (active is False or (role is not None and role is not Role.ADMIN)):
        raise ValidationFailed(fields={"role": ["不能降低或停用自己的管理员账号 (cannot demote yourself)"]})
    if password is not None:
        if msg := _password_problem(password):
            raise ValidationFailed(fields={"password": [msg]})
        user.password_hash = hash_password(password)
    if display_name is not None:
        user.display_name = display_name
    if role is not None:
        user.role = role
    if active is not None:
        user.active = active
    if password is not None or active is False or role is not None:
        user.session_version += 1  # end existing browser sessions
    session.flush()
    after = {
        "display_name": user.display_name,
        "role": user.role,
        "active": user.active,
        "password_changed": password is not None,
    }
    audit.record(
        session,
        actor,
        "user.update",
        subject_type="user",
        subject_id=user.id,
        subject_org_id=user.organization_id,
        before=before,
        after=after,
        now=now,
    )
    return user


def authenticate(session: Session, *, username: str, password: str, now: datetime) -> User:
    """Check a password; count failures and lock the account after MAX_FAILED_LOGINS."""
    user = session.scalars(select(User).where(User.username == username).with_for_update()).first()
    bad = AuthenticationRequired("用户名或密码错误 (wrong username or password)", code="invalid_credentials")
    if user is None:
        _hasher.hash(password)  # spend the same time as a real check: no user enumeration by timing
        raise bad
    if user.locked_until is not None and user.locked_until > now:
        raise AuthenticationRequired("账号已临时锁定，请稍后再试 (account temporarily locked)", code="locked")
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.failed_logins, user.locked_until = 0, now + LOCKOUT
        raise bad from None
    if not user.active or not user.organization.active:
        raise bad
    user.failed_logins, user.locked_until = 0, None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


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


def actor_for_token(session: Session, *, token: str, now: datetime) -> Actor | None:
    """Resolve a presented bearer token to its user's Actor; None if unknown, revoked or expired."""
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
    return actor_for_user(user)
