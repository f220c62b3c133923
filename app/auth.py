"""Who is calling: bearer tokens (HIS/ERP) or a browser session, turned into an Actor.

Every view declares who may call it with `@requires(...)`: organization kinds and roles. Reads are
further scoped by organization in the domain queries; this gate only answers "may this kind of
user call this endpoint at all".
"""

from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

from flask import Flask, g, request, session
from sqlalchemy import select

from app.db import request_session
from core import clock
from core.accounts import actor_for_token, actor_for_user
from core.actors import Actor, OrgKind, Role
from core.errors import AuthenticationRequired, PermissionDenied
from core.organizations import User

F = TypeVar("F", bound=Callable[..., Any])

#: Roles allowed to change data. Auditors read only.
WRITERS = (Role.ADMIN, Role.OPERATOR)
ALL_ROLES = (Role.ADMIN, Role.OPERATOR, Role.AUDITOR)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_HEADER = "X-CSRF-Token"


def current_actor() -> Actor:
    """The authenticated caller, or 401."""
    actor: Actor | None = g.get("actor")
    if actor is None:
        raise AuthenticationRequired()
    return actor


def optional_actor() -> Actor | None:
    return cast(Actor | None, g.get("actor"))


def requires(*kinds: OrgKind, roles: Iterable[Role] = ALL_ROLES) -> Callable[[F], F]:
    """Gate a view by organization kind (any, if none given) and role."""
    allowed_roles = frozenset(roles)
    allowed_kinds = frozenset(kinds)

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            actor = current_actor()
            if allowed_kinds and actor.org_kind not in allowed_kinds:
                raise PermissionDenied()
            if actor.role not in allowed_roles:
                raise PermissionDenied()
            return view(*args, **kwargs)

        wrapper._vbp_requires = (allowed_kinds, allowed_roles)  # type: ignore[attr-defined]  # for the auth matrix
        return cast(F, wrapper)

    return decorator


def login_session(user: User) -> None:
    """Start a browser session for `user` (fresh session id material, CSRF token)."""
    session.clear()
    session["uid"] = user.id
    session["sv"] = user.session_version
    session["csrf"] = secrets.token_urlsafe(24)
    session.permanent = True


def logout_session() -> None:
    session.clear()


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return str(session["csrf"])


def _load_actor() -> None:
    g.actor = None
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise AuthenticationRequired("无效的认证头 (invalid Authorization header)")
        actor = actor_for_token(request_session(), token=token.strip(), now=clock.now())
        if actor is None:
            raise AuthenticationRequired("令牌无效、已过期或已吊销 (token invalid, expired or revoked)")
        g.actor, g.auth_method = actor, "token"
        return
    uid = session.get("uid")
    if uid is None:
        return
    user = request_session().scalars(select(User).where(User.id == uid)).first()
    if (
        user is None
        or not user.active
        or user.session_version != session.get("sv")
        or not user.organization.active
    ):
        session.clear()
        return
    # Cookie-authenticated writes to the API must prove they come from our own pages: either a
    # JSON body (a cross-site form cannot send one without CORS) or the session's CSRF token.
    if request.method in UNSAFE_METHODS and request.path.startswith("/api/") and not request.is_json:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent, str(session.get("csrf", ""))):
            raise PermissionDenied("缺少或错误的 CSRF 令牌 (missing or wrong CSRF token)", code="csrf_failed")
    g.actor, g.auth_method = actor_for_user(user), "session"


def init_app(app: Flask) -> None:
    app.before_request(_load_actor)
