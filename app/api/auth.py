"""Login (browser session), logout, current user, and bearer tokens for HIS/ERP systems."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app, g
from flask_smorest import Blueprint

from app.auth import current_actor, login_session, logout_session, optional_actor, requires
from app.db import unit_of_work
from core import accounts, clock
from core.errors import AuthenticationRequired, ValidationFailed
from core.schemas import LoginSchema, MeSchema, TokenCreateSchema, TokenIssuedSchema, TokenSchema

PREFIX = "/auth"
blp = Blueprint("auth", __name__, description="登录与令牌 (login and API tokens)")


def _me() -> dict[str, Any]:
    from app.auth import csrf_token
    from app.db import request_session

    actor = current_actor()
    user = accounts.get_user(request_session(), actor, actor.user_id or 0)
    return {
        "user": user,
        "organization": user.organization,
        "csrf_token": csrf_token() if g.get("auth_method") == "session" else None,
        "auth_method": g.get("auth_method", "session"),
    }


@blp.route("/login", methods=["POST"])
@blp.arguments(LoginSchema)
@blp.response(200, MeSchema)
@blp.doc(security=[])
def login(data: dict[str, Any]) -> dict[str, Any]:
    """Log in with username and password; starts a browser session (cookie)."""
    # Failed attempts are counted even though the login itself fails, so the counter commits
    # in its own unit of work before the 401 is raised.
    failure: AuthenticationRequired | None = None
    with unit_of_work() as session:
        try:
            user = accounts.authenticate(
                session, username=data["username"], password=data["password"], now=clock.now()
            )
        except AuthenticationRequired as exc:
            failure = exc
    if failure is not None:
        raise failure
    login_session(user)
    g.actor, g.auth_method = accounts.actor_for_user(user), "session"
    return _me()


@blp.route("/logout", methods=["POST"])
@blp.response(204)
@blp.doc(security=[])
def logout() -> None:
    """End the browser session."""
    logout_session()


@blp.route("/me", methods=["GET"])
@requires()
@blp.response(200, MeSchema)
def me() -> dict[str, Any]:
    """The calling user, their organization and (for browser sessions) the CSRF token."""
    return _me()


@blp.route("/tokens", methods=["POST"])
@blp.arguments(TokenCreateSchema)
@blp.response(201, TokenIssuedSchema)
@blp.doc(security=[{"bearerAuth": []}, {"cookieAuth": []}, {}])
def create_token(data: dict[str, Any]) -> Any:
    """Issue a bearer token for the caller, or for username + password when not logged in."""
    now = clock.now()
    ttl_days = data.get("expires_in_days") or current_app.config["VBP"].token_ttl_days
    ttl_days = min(ttl_days, current_app.config["VBP"].token_ttl_days)
    failure: AuthenticationRequired | None = None
    with unit_of_work() as session:
        actor = optional_actor()
        if actor is None:
            if "username" not in data or "password" not in data:
                raise ValidationFailed(
                    "未登录时须提供用户名和密码 (username and password required when not logged in)",
                    fields={k: ["必填字段 (required)"] for k in ("username", "password") if k not in data},
                )
            try:
                user = accounts.authenticate(
                    session, username=data["username"], password=data["password"], now=now
                )
            except AuthenticationRequired as exc:
                failure = exc
            else:
                actor = accounts.actor_for_user(user)
        elif "username" in data or "password" in data:
            raise ValidationFailed(fields={"password": ["已登录时不要再提供密码 (already authenticated)"]})
        if actor is not None:
            token, plaintext = accounts.issue_token(
                session, actor, name=data["name"], ttl=timedelta(days=ttl_days), now=now
            )
    if failure is not None:
        raise failure
    fields = ("id", "name", "prefix", "created_at", "expires_at", "revoked_at", "last_used_at")
    return {**{name: getattr(token, name) for name in fields}, "token": plaintext}


@blp.route("/tokens", methods=["GET"])
@requires()
@blp.response(200, TokenSchema(many=True))
def list_tokens() -> Any:
    """The caller's own tokens (without their secret values)."""
    from app.db import request_session

    return accounts.tokens_of(request_session(), current_actor())


@blp.route("/tokens/<int:token_id>", methods=["DELETE"])
@requires()
@blp.response(204)
def revoke_token(token_id: int) -> None:
    """Revoke a token at once (own tokens; an admin also those of its organization's users)."""
    with unit_of_work() as session:
        accounts.revoke_token(session, current_actor(), token_id, now=clock.now())
