"""Browser sessions live on the server: the signed cookie only carries a random session id, whose
record (stored hashed) is checked on every request. Logging out, a password change, deactivating
the user or its organization and an admin's "log out everywhere" end it; a copied cookie is worth
nothing afterwards. API tokens die with a password change or deactivation, for good."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.actors import OrgKind, Role
from core.audit import AuditEvent
from core.organizations import ApiToken
from tests.factories import PASSWORD, bearer, login, make_org, make_user


def _stolen(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of `client`'s session cookie."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def _cookie_data(app: Flask, client: FlaskClient) -> dict[str, Any]:
    cookie = client.get_cookie("session")
    assert cookie is not None
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    return dict(serializer.loads(cookie.value))


def _me(client: FlaskClient) -> int:
    return client.get("/api/v1/auth/me").status_code


def _csrf(client: FlaskClient) -> str:
    return str(client.get("/api/v1/auth/me").get_json()["csrf_token"])


def test_a_cookie_copied_before_logout_is_refused_after_it(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    login(client, make_user(session, make_org(session)))
    thief = _stolen(app, client)
    assert _me(thief) == 200
    assert client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": _csrf(client)}).status_code == 204
    assert _me(client) == 401
    assert _me(thief) == 401


def test_a_cookie_copied_before_logging_out_of_the_web_pages_is_refused_after_it(
    app: Flask, session: Session
) -> None:
    user = make_user(session, make_org(session, OrgKind.HOSPITAL))
    session.commit()
    browser = app.test_client()
    browser.get("/login")
    token = _cookie_data(app, browser)["csrf"]
    data = {"username": user.username, "password": PASSWORD, "csrf_token": token}
    assert browser.post("/login", data=data).status_code == 302
    thief = _stolen(app, browser)
    assert thief.get("/").status_code == 200
    logout = browser.post("/logout", data={"csrf_token": _cookie_data(app, browser)["csrf"]})
    assert logout.status_code == 302
    response = thief.get("/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_the_cookie_carries_a_random_id_and_the_server_keeps_only_its_hash(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    user = make_user(session, make_org(session))
    login(client, user)
    from core.sessions import UserSession

    sid = _cookie_data(app, client)["sid"]
    assert len(sid) >= 40
    [row] = session.scalars(select(UserSession).where(UserSession.user_id == user.id)).all()
    assert row.id_hash == hashlib.sha256(sid.encode()).hexdigest()
    assert sid not in {row.id_hash, str(row.id)}
    assert row.revoked_at is None
    assert row.expires_at - row.created_at == timedelta(hours=8)
    # A second login is a second session with its own id.
    other = app.test_client()
    login(other, user)
    assert _cookie_data(app, other)["sid"] != sid


def test_an_admin_logs_a_user_out_everywhere(app: Flask, session: Session) -> None:
    hospital = make_org(session)
    admin = make_user(session, hospital, Role.ADMIN)
    nurse = make_user(session, hospital, Role.OPERATOR)
    session.commit()
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, nurse)
    login(phone, nurse)
    response = laptop.post(f"/api/v1/users/{nurse.id}/logout-everywhere", headers=bearer(session, admin))
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"revoked_sessions": 2}
    assert (_me(laptop), _me(phone)) == (401, 401)
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.subject_id == str(nurse.id))).all()
    assert "user.logout_everywhere" in actions


def test_a_user_logs_itself_out_everywhere_but_not_someone_else(app: Flask, session: Session) -> None:
    hospital = make_org(session)
    nurse = make_user(session, hospital, Role.OPERATOR)
    colleague = make_user(session, hospital, Role.OPERATOR)
    session.commit()
    laptop = app.test_client()
    login(laptop, colleague)
    response = laptop.post(f"/api/v1/users/{colleague.id}/logout-everywhere", headers=bearer(session, nurse))
    assert response.status_code == 403
    assert _me(laptop) == 200
    own = laptop.post(
        f"/api/v1/users/{colleague.id}/logout-everywhere", headers={"X-CSRF-Token": _csrf(laptop)}
    )
    assert own.status_code == 200
    assert _me(laptop) == 401


def test_another_organizations_admin_cannot_log_my_users_out(app: Flask, session: Session) -> None:
    nurse = make_user(session, make_org(session), Role.OPERATOR)
    stranger = make_user(session, make_org(session), Role.ADMIN)
    session.commit()
    laptop = app.test_client()
    login(laptop, nurse)
    response = laptop.post(f"/api/v1/users/{nurse.id}/logout-everywhere", headers=bearer(session, stranger))
    assert response.status_code == 404
    assert _me(laptop) == 200


def test_a_password_change_ends_the_users_sessions_and_revokes_its_tokens(
    app: Flask, session: Session
) -> None:
    hospital = make_org(session)
    admin = make_user(session, hospital, Role.ADMIN)
    nurse = make_user(session, hospital, Role.OPERATOR)
    his = bearer(session, nurse)
    session.commit()
    laptop = app.test_client()
    login(laptop, nurse)
    response = laptop.patch(
        f"/api/v1/users/{nurse.id}", json={"password": "Brand-new-pass-7"}, headers=bearer(session, admin)
    )
    assert response.status_code == 200, response.get_json()
    assert _me(laptop) == 401
    assert laptop.get("/api/v1/auth/me", headers=his).status_code == 401
    fresh = app.test_client()
    ok = fresh.post("/api/v1/auth/login", json={"username": nurse.username, "password": "Brand-new-pass-7"})
    assert ok.status_code == 200


def test_a_deactivated_user_stays_logged_out_and_tokenless_after_reactivation(
    app: Flask, session: Session
) -> None:
    hospital = make_org(session)
    admin = bearer(session, make_user(session, hospital, Role.ADMIN))
    nurse = make_user(session, hospital, Role.OPERATOR)
    his = bearer(session, nurse)
    session.commit()
    laptop = app.test_client()
    login(laptop, nurse)
    client = app.test_client()
    assert client.patch(f"/api/v1/users/{nurse.id}", json={"active": False}, headers=admin).status_code == 200
    assert client.patch(f"/api/v1/users/{nurse.id}", json={"active": True}, headers=admin).status_code == 200
    assert _me(laptop) == 401
    assert client.get("/api/v1/auth/me", headers=his).status_code == 401
    session.expire_all()
    [token] = session.scalars(select(ApiToken).where(ApiToken.user_id == nurse.id)).all()
    assert token.revoked_at is not None


def test_deactivating_an_organization_ends_its_users_sessions_and_tokens_for_good(
    app: Flask, session: Session
) -> None:
    bureau_admin = bearer(session, make_user(session, make_org(session, OrgKind.BUREAU), Role.ADMIN))
    hospital = make_org(session)
    nurse = make_user(session, hospital, Role.OPERATOR)
    his = bearer(session, nurse)
    session.commit()
    laptop = app.test_client()
    login(laptop, nurse)
    client = app.test_client()
    for active in (False, True):
        response = client.patch(
            f"/api/v1/organizations/{hospital.id}", json={"active": active}, headers=bureau_admin
        )
        assert response.status_code == 200, response.get_json()
    assert _me(laptop) == 401
    assert client.get("/api/v1/auth/me", headers=his).status_code == 401


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> dict[str, datetime]:
    """The platform clock, set by the test."""
    state = {"now": clock.now()}
    monkeypatch.setattr("core.clock.now", lambda: state["now"])
    return state


def test_an_idle_session_ends_after_the_idle_timeout(
    app: Flask, client: FlaskClient, session: Session, frozen: dict[str, datetime]
) -> None:
    login(client, make_user(session, make_org(session)))
    idle = timedelta(minutes=app.config["VBP"].session_idle_minutes)
    frozen["now"] += idle - timedelta(minutes=1)
    assert _me(client) == 200  # still in use: the idle clock starts again
    frozen["now"] += idle - timedelta(minutes=1)
    assert _me(client) == 200
    frozen["now"] += idle + timedelta(seconds=1)
    assert _me(client) == 401


def test_a_session_in_constant_use_still_ends_after_its_absolute_lifetime(
    app: Flask, client: FlaskClient, session: Session, frozen: dict[str, datetime]
) -> None:
    login(client, make_user(session, make_org(session)))
    start = frozen["now"]
    step = timedelta(minutes=app.config["VBP"].session_idle_minutes) / 2
    while frozen["now"] + step < start + timedelta(hours=8):
        frozen["now"] += step
        assert _me(client) == 200
    frozen["now"] = start + timedelta(hours=8)
    assert _me(client) == 401


def test_the_nightly_job_forgets_long_ended_sessions_and_quiet_throttle_counters(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    from app.scheduler import SESSION_RECORDS_KEPT_DAYS, JobContext, forget_login_records
    from core import login_throttle
    from core.login_throttle import LoginThrottle
    from core.sessions import UserSession

    user = make_user(session, make_org(session))
    login(client, user)
    config = app.config["VBP"]
    now = clock.now()
    login_throttle.record_failure(
        session, client="203.0.113.7", username="x", now=now, policy=config.login_policy()
    )
    ctx = JobContext(config=config, instance_path=Path(config.instance_path), sealer_factory=lambda: None)
    assert forget_login_records(session, now, ctx) == {"sessions_deleted": 0, "throttle_counters_deleted": 0}
    later = now + timedelta(hours=8, days=SESSION_RECORDS_KEPT_DAYS, seconds=1)
    assert forget_login_records(session, later, ctx) == {
        "sessions_deleted": 1,
        "throttle_counters_deleted": 2,
    }
    assert session.scalars(select(UserSession)).all() == []
    assert session.scalars(select(LoginThrottle)).all() == []
