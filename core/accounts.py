"""Organizations, users, passwords and API tokens: services (writes) and scoped queries (reads)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core import audit, sessions
from core.actors import Actor, OrgKind, Role
from core.errors import AuthenticationRequired, Conflict, NotFound, PermissionDenied, ValidationFailed
from core.organizations import HospitalLevel, Organization, User, actor_for_user
from core.tokens import revoke_tokens_of
from core.uscc import region_code_error, uscc_error

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


__all__ = [
    "actor_for_user",
    "authenticate",
    "create_organization",
    "create_user",
    "get_organization",
    "get_user",
    "log_out_everywhere",
    "organizations_visible_to",
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
    """Change an organization's name, region, hospital attributes or active flag (bureau admin).

    Deactivating ends its users' sessions and revokes their tokens for good. The bureau never
    deactivates itself, nor the last active bureau (nobody could administer the platform).
    """
    _require_admin(actor, bureau=True)
    org = get_organization(session, actor, org_id)
    if problems := _check_org_fields(org.kind, {**_org_snapshot(org), **changes}):
        raise ValidationFailed(fields=problems)
    deactivating = org.active and changes.get("active") is False
    if deactivating:
        _keep_a_bureau(session, actor, org)
    before = _org_snapshot(org)
    for key, value in changes.items():
        setattr(org, key, value)
    session.flush()
    after = _org_snapshot(org)
    if deactivating:
        users = list(session.scalars(select(User.id).where(User.organization_id == org.id)))
        after |= _revoke_credentials(session, users, reason="organization_deactivated", tokens=True, now=now)
    audit.record(
        session,
        actor,
        "organization.update",
        subject_type="organization",
        subject_id=org.id,
        subject_org_id=org.id,
        before=before,
        after=after,
        now=now,
    )
    return org


def _keep_a_bureau(session: Session, actor: Actor, org: Organization) -> None:
    if org.id == actor.org_id:
        raise Conflict(
            "不能停用自己所在的机构 (you cannot deactivate your own organization)",
            code="cannot_deactivate_own_organization",
            fields={"active": ["请由其他机构的管理员操作 (ask another organization's administrator)"]},
        )
    if org.kind is not OrgKind.BUREAU:
        return
    # Lock every bureau row: two bureaus deactivating each other at once must not both succeed.
    bureaus = session.scalars(
        select(Organization.id)
        .where(Organization.kind == OrgKind.BUREAU, Organization.active.is_(True))
        .order_by(Organization.id)
        .with_for_update()
    ).all()
    if set(bureaus) <= {org.id}:
        raise Conflict(
            "这是最后一个启用的医保局机构 (the last active bureau organization)",
            code="last_bureau_organization",
            fields={"active": ["至少保留一个启用的医保局 (keep one bureau active)"]},
        )


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
    """Change a user's name, role, active flag or password (org admin or bureau admin).

    A password change and a deactivation end the user's sessions and revoke its API tokens (for
    good: reactivating does not revive them); a role change ends its sessions. Nobody
    deactivates or demotes themselves, and no organization loses its last active admin.
    """
    _require_admin(actor)
    user = get_user(session, actor, user_id)
    before = {"display_name": user.display_name, "role": user.role, "active": user.active}
    if role is Role.SYSTEM:
        raise ValidationFailed(fields={"role": ["system 角色不可分配 (cannot be assigned)"]})
    if user.id == actor.user_id and active is False:
        raise Conflict(
            "不能停用自己的账号 (you cannot deactivate yourself)",
            code="cannot_deactivate_self",
            fields={"active": ["请由其他管理员操作 (ask another administrator)"]},
        )
    if user.id == actor.user_id and role is not None and role is not user.role:
        raise Conflict(
            "不能更改自己的角色 (you cannot change your own role)",
            code="cannot_demote_self",
            fields={"role": ["请由其他管理员操作 (ask another administrator)"]},
        )
    if password is not None and (msg := _password_problem(password)):
        raise ValidationFailed(fields={"password": [msg]})
    loses_admin = active is False or (role is not None and role is not Role.ADMIN)
    if user.role is Role.ADMIN and user.active and loses_admin:
        _keep_an_active_admin(session, user)
    deactivated = user.active and active is False
    role_changed = role is not None and role is not user.role
    if password is not None:
        user.password_hash = hash_password(password)
    if display_name is not None:
        user.display_name = display_name
    if role is not None:
        user.role = role
    if active is not None:
        user.active = active
    session.flush()
    after: dict[str, Any] = {
        "display_name": user.display_name,
        "role": user.role,
        "active": user.active,
        "password_changed": password is not None,
    }
    if password is not None or deactivated:
        reason = "password_change" if password is not None else "deactivated"
        after |= _revoke_credentials(session, [user.id], reason=reason, tokens=True, now=now)
    elif role_changed:
        after |= _revoke_credentials(session, [user.id], reason="role_change", tokens=False, now=now)
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


def _keep_an_active_admin(session: Session, user: User) -> None:
    """Refuse to remove the last active admin of the user's organization (nobody could manage
    its users any more, and for the bureau nobody could manage the platform)."""
    # Lock the organization's row first: two admins removing each other at the same moment
    # would otherwise both see the other one still there (PostgreSQL; SQLite serializes writers).
    session.scalars(
        select(Organization.id).where(Organization.id == user.organization_id).with_for_update()
    ).one()
    others = session.scalar(
        select(func.count()).where(
            User.organization_id == user.organization_id,
            User.id != user.id,
            User.role == Role.ADMIN,
            User.active.is_(True),
        )
    )
    if not others:
        raise Conflict(
            "这是该机构最后一个启用的管理员，请先指定另一位管理员 "
            "(the organization's last active administrator: appoint another one first)",
            code="last_admin",
            fields={"user_id": ["最后一个管理员 (last active administrator)"]},
        )


def _revoke_credentials(
    session: Session, user_ids: list[int], *, reason: str, tokens: bool, now: datetime
) -> dict[str, int]:
    """End the users' browser sessions and (optionally) revoke their API tokens, for good."""
    ended = sessions.revoke_sessions(session, user_ids, reason=reason, now=now)
    revoked = revoke_tokens_of(session, user_ids, now=now) if tokens else 0
    session.expire_all()  # rows changed behind the identity map
    return {"sessions_ended": ended, "tokens_revoked": revoked}


def log_out_everywhere(session: Session, actor: Actor, user_id: int, *, now: datetime) -> int:
    """End every browser session of a user: yourself, or a user you administer. Returns how many."""
    user = get_user(session, actor, user_id)
    if user.id != actor.user_id and not (actor.is_system or actor.role is Role.ADMIN):
        raise PermissionDenied("只能让自己或您管理的用户下线 (only yourself or users you administer)")
    result = _revoke_credentials(session, [user.id], reason="logout_everywhere", tokens=False, now=now)
    audit.record(
        session,
        actor,
        "user.logout_everywhere",
        subject_type="user",
        subject_id=user.id,
        subject_org_id=user.organization_id,
        after=result,
        now=now,
    )
    return result["sessions_ended"]


def authenticate(session: Session, *, username: str, password: str) -> User:
    """Check a password. Unknown users, wrong passwords and inactive accounts get the same answer
    after the same work (one argon2 computation), so the answer reveals nothing about the account.
    Guessing is slowed per client by core.login_throttle, never by locking the account."""
    user = session.scalars(select(User).where(User.username == username)).first()
    bad = AuthenticationRequired("用户名或密码错误 (wrong username or password)", code="invalid_credentials")
    if user is None:
        _hasher.hash(password)  # spend the same time as a real check: no user enumeration by timing
        raise bad
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise bad from None
    if not user.active or not user.organization.active:
        raise bad
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user
