"""Who is calling: bearer tokens (HIS/ERP) or a browser session, turned into an Actor.

Every view declares who may call it with `@requires(...)`: organization kinds and roles. Reads are
further scoped by organization in the domain queries; this gate only answers "may this kind of
user call this endpoint at all".

Browser sessions live on the server (core.sessions): the signed cookie carries only the session's
random id and its CSRF token, so logging out or revoking a session ends it wherever the cookie
was copied to. Passwords are checked behind the login throttle (core.login_throttle).
"""

from __future__ import annotations

import functools
import hmac
import math
import secrets
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any, TypeVar, cast

from flask import Flask, current_app, g, request, session
from werkzeug.exceptions import TooManyRequests

from app.db import request_session, unit_of_work
from app.public.guard import is_public
from core import accounts, clock, login_throttle, sessions
from core.actors import Actor, OrgKind, Role
from core.errors import AuthenticationRequired, PermissionDenied
from core.organizations import User, actor_for_user
from core.sessions import SessionTimes
from core.tokens import user_for_token

F = TypeVar("F", bound=Callable[..., Any])

#: Roles allowed to change data. Auditors read only.
WRITERS = (Role.ADMIN, Role.OPERATOR)
ALL_ROLES = (Role.ADMIN, Role.OPERATOR, Role.AUDITOR)
#: Methods that never change anything; every other one needs the CSRF token on a cookie session.
#: HEAD is not among them: it reaches the views as GET (app.HeadAsGet) and never on its own.
SAFE_METHODS = frozenset({"GET", "OPTIONS"})
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


class LoginThrottled(TooManyRequests):
    """Too many failed logins from this client: it waits (Retry-After); the account is not locked."""

    description = "登录失败次数过多，请稍后再试 (too many failed logins from here; try again later)"

    def __init__(self, seconds: int) -> None:
        super().__init__(retry_after=seconds)
        self.seconds = seconds


def password_login(username: str, password: str) -> User:
    """Check a password behind the login throttle.

    A throttled client is refused before its password is even checked. A failure is counted in
    the same committed unit of work, then refused with the same answer for unknown users, wrong
    passwords and inactive accounts.
    """
    now = clock.now()
    client = request.remote_addr or "unknown"
    failure: AuthenticationRequired | None = None
    with unit_of_work() as db:
        wait = login_throttle.blocked_for(db, client=client, username=username, now=now)
        if wait is None:
            try:
                user = accounts.authenticate(db, username=username, password=password)
            except AuthenticationRequired as exc:
                failure = exc
                policy = current_app.config["VBP"].login_policy()
                login_throttle.record_failure(db, client=client, username=username, now=now, policy=policy)
            else:
                login_throttle.record_success(db, client=client, username=username)
    if wait is not None:
        raise LoginThrottled(math.ceil(wait.total_seconds()))
    if failure is not None:
        raise failure
    return user


def session_times() -> SessionTimes:
    config = current_app.config["VBP"]
    return SessionTimes(
        lifetime=timedelta(hours=config.session_hours), idle=timedelta(minutes=config.session_idle_minutes)
    )


def login_session(user: User) -> None:
    """Start a browser session for `user`: a new server-side record, a fresh id and CSRF token
    (nothing of an earlier cookie carries over but the language)."""
    with unit_of_work() as db:
        session_id = sessions.start_session(db, user, now=clock.now(), times=session_times())
    _clear_cookie()
    session["sid"] = session_id
    session["csrf"] = secrets.token_urlsafe(24)
    session.permanent = True


def logout_session() -> None:
    """End the browser session on the server (a copied cookie dies with it) and forget the cookie."""
    session_id = session.get("sid")
    if session_id:
        with unit_of_work() as db:
            sessions.end_session(db, str(session_id), now=clock.now())
    _clear_cookie()


def _clear_cookie() -> None:
    lang = session.get("lang")
    session.clear()
    if lang is not None:
        session["lang"] = lang


def csrf_matches(sent: str) -> bool:
    """Whether `sent` is this session's CSRF token (constant time; any characters accepted)."""
    expected = str(session.get("csrf", ""))
    return bool(expected) and hmac.compare_digest(sent.encode(), expected.encode())


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(24)
    return str(session["csrf"])


def _load_actor() -> None:
    g.actor = None
    if is_public(request.path):
        # Public disclosure reads no session and no credentials: the same answer for everyone
        # (and so nothing private in its cache), no cookie refreshed or set (app/public/guard.py).
        return
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise AuthenticationRequired("无效的认证头 (invalid Authorization header)")
        user = user_for_token(request_session(), token=token.strip(), now=clock.now())
        if user is None:
            raise AuthenticationRequired("令牌无效、已过期或已吊销 (token invalid, expired or revoked)")
        g.actor, g.auth_method = actor_for_user(user), "token"
        # Held for the request: the session's identity map is weak, and holding the user keeps
        # it and its organization there, so a service's session.get of the caller's
        # organization (placing an order) needs no second query.
        g.auth_user = user
        return
    session_id = session.get("sid")
    if session_id is None:
        return
    with unit_of_work() as db:  # commits the session's last-seen time
        user = sessions.resolve_session(db, str(session_id), now=clock.now(), times=session_times())
    if user is None:
        _clear_cookie()
        return
    # Cookie-authenticated writes to the API must prove they come from our own pages: either a
    # JSON body (a cross-site form cannot send one without CORS) or the session's CSRF token.
    if request.method not in SAFE_METHODS and request.path.startswith("/api/") and not request.is_json:
        sent = request.headers.get(CSRF_HEADER, "")
        if not csrf_matches(sent):
            raise PermissionDenied("缺少或错误的 CSRF 令牌 (missing or wrong CSRF token)", code="csrf_failed")
    g.actor, g.auth_method = actor_for_user(user), "session"


def init_app(app: Flask) -> None:
    app.before_request(_load_actor)
