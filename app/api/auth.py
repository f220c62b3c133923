"""Login (browser session), logout, current user, and bearer tokens for HIS/ERP systems."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app, g
from flask_smorest import Blueprint

from app.auth import (
    current_actor,
    login_session,
    logout_session,
    optional_actor,
    password_login,
    requires,
)
from app.db import unit_of_work
from app.errors import ErrorSchema
from core import accounts, clock, tokens
from core.errors import ValidationFailed
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
@blp.alt_response(429, schema=ErrorSchema, description="登录失败次数过多 (too many failed logins)")
@blp.doc(security=[])
def login(data: dict[str, Any]) -> dict[str, Any]:
    """Log in with username and password; starts a browser session (cookie). Repeated failures
    from one client make that client wait (429 with Retry-After); the account is never locked."""
    user = password_login(data["username"], data["password"])
    login_session(user)
    g.actor, g.auth_method = accounts.actor_for_user(user), "session"
    return _me()


@blp.route("/logout", methods=["POST"])
@blp.response(204)
@blp.doc(security=[])
def logout() -> None:
    """End the browser session, on the server: a copy of the cookie stops working too."""
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
@blp.alt_response(429, schema=ErrorSchema, description="登录失败次数过多 (too many failed logins)")
@blp.doc(security=[{"bearerAuth": []}, {"cookieAuth": []}, {}])
def create_token(data: dict[str, Any]) -> Any:
    """Issue a bearer token for the caller, or for username + password when not logged in."""
    now = clock.now()
    ttl_days = data.get("expires_in_days") or current_app.config["VBP"].token_ttl_days
    ttl_days = min(ttl_days, current_app.config["VBP"].token_ttl_days)
    actor = optional_actor()
    if actor is None:
        if "username" not in data or "password" not in data:
            raise ValidationFailed(
                "未登录时须提供用户名和密码 (username and password required when not logged in)",
                fields={k: ["必填字段 (required)"] for k in ("username", "password") if k not in data},
            )
        actor = accounts.actor_for_user(password_login(data["username"], data["password"]))
    elif "username" in data or "password" in data:
        raise ValidationFailed(fields={"password": ["已登录时不要再提供密码 (already authenticated)"]})
    with unit_of_work() as session:
        token, plaintext = tokens.issue_token(
            session, actor, name=data["name"], ttl=timedelta(days=ttl_days), now=now
        )
    fields = ("id", "name", "prefix", "created_at", "expires_at", "revoked_at", "last_used_at")
    return {**{name: getattr(token, name) for name in fields}, "token": plaintext}


@blp.route("/tokens", methods=["GET"])
@requires()
@blp.response(200, TokenSchema(many=True))
def list_tokens() -> Any:
    """The caller's own tokens (without their secret values)."""
    from app.db import request_session

    return tokens.tokens_of(request_session(), current_actor())


@blp.route("/tokens/<int:token_id>", methods=["DELETE"])
@requires()
@blp.response(204)
def revoke_token(token_id: int) -> None:
    """Revoke a token at once (own tokens; an admin also those of its organization's users)."""
    with unit_of_work() as session:
        tokens.revoke_token(session, current_actor(), token_id, now=clock.now())
