"""Sessions and secrets: passwords stored as argon2 hashes, cookies flagged, security headers on
every answer, and neither passwords nor tokens nor the sealing key in the logs."""

from __future__ import annotations

import logging

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app import create_app
from app.config import Config
from core.organizations import User
from tests.factories import PASSWORD, make_org, make_user


def test_passwords_are_argon2_hashes(session: Session) -> None:
    user = make_user(session, make_org(session))
    stored = session.get_one(User, user.id).password_hash
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_security_headers_and_cookie_flags(client: FlaskClient, session: Session) -> None:
    user = make_user(session, make_org(session))
    session.commit()
    response = client.post("/api/v1/auth/login", json={"username": user.username, "password": PASSWORD})
    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_production_cookies_are_secure_only(tmp_path: object) -> None:
    app: Flask = create_app(
        Config(
            env="production",
            database_url=f"sqlite:///{tmp_path}/p.sqlite3",
            secret_key="p" * 64,
            bid_sealing_key="A" * 43 + "=",
            instance_path=str(tmp_path),
            public_url="https://ybj.example.gov.cn",
        )
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_no_password_token_or_key_reaches_the_logs(
    client: FlaskClient, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    user = make_user(session, make_org(session))
    session.commit()
    caplog.set_level(logging.DEBUG)
    client.post("/api/v1/auth/login", json={"username": user.username, "password": "wrong-" + PASSWORD})
    login = client.post("/api/v1/auth/login", json={"username": user.username, "password": PASSWORD})
    assert login.status_code == 200
    token = client.post("/api/v1/auth/tokens", json={"name": "his"}).get_json()["token"]
    client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    logged = caplog.text
    assert PASSWORD not in logged
    assert token not in logged


def test_user_names_are_masked_for_everyone_but_the_organizations_own_admins(
    client: FlaskClient, session: Session
) -> None:
    from core.actors import OrgKind, Role
    from tests.factories import bearer

    hospital = make_org(session, OrgKind.HOSPITAL)
    nurse = make_user(session, hospital, Role.OPERATOR)
    session.get_one(User, nurse.id).display_name = "王小明"
    own_admin = bearer(session, make_user(session, hospital, Role.ADMIN))
    own_auditor = bearer(session, make_user(session, hospital, Role.AUDITOR))
    bureau_auditor = bearer(session, make_user(session, make_org(session, OrgKind.BUREAU), Role.AUDITOR))
    session.commit()

    def names(headers: dict[str, str]) -> set[str]:
        response = client.get(f"/api/v1/organizations/{hospital.id}/users", headers=headers)
        assert response.status_code == 200, response.get_json()
        return {u["display_name"] for u in response.get_json()}

    assert "王小明" in names(own_admin)
    assert "王**" in names(own_auditor)
    assert "王**" in names(bureau_auditor)
    assert "王小明" not in names(bureau_auditor)
