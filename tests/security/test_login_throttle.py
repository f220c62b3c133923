"""Password guessing is slowed per client, never by locking the account: failures from one
address for one username (and, more loosely, from one address at all) earn that client a growing
delay (429 with Retry-After), while the real user logs in from elsewhere as usual. Unknown and
existing usernames get the same answer, and the state lives in the database (shared by every
worker)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.actors import OrgKind, Role
from tests.factories import PASSWORD, make_org, make_user

ATTACKER, OFFICE = "203.0.113.7", "198.51.100.20"
#: More wrong guesses than any account lockout or per-client limit allows.
GUESSES = 8


def _from(app: Flask, address: str) -> FlaskClient:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def _login(client: FlaskClient, username: str, password: str) -> Any:
    return client.post("/api/v1/auth/login", json={"username": username, "password": password})


def _answer(response: Any) -> tuple[int, str, str]:
    error = response.get_json()["error"]
    return response.status_code, error["code"], error["message"]


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> dict[str, datetime]:
    state = {"now": clock.now()}
    monkeypatch.setattr("core.clock.now", lambda: state["now"])
    return state


def test_strangers_cannot_lock_the_bureau_admin_out(app: Flask, session: Session) -> None:
    admin = make_user(session, make_org(session, OrgKind.BUREAU), Role.ADMIN)
    session.commit()
    attacker = _from(app, ATTACKER)
    for _ in range(GUESSES):
        assert _login(attacker, admin.username, "guess-123456").status_code in (401, 429)
    assert _login(_from(app, OFFICE), admin.username, PASSWORD).status_code == 200


def test_repeated_failures_from_one_address_earn_it_a_429_with_retry_after(
    app: Flask, session: Session, frozen: dict[str, datetime]
) -> None:
    user = make_user(session, make_org(session))
    session.commit()
    attacker = _from(app, ATTACKER)
    limit = app.config["VBP"].login_max_failures
    for _ in range(limit):
        assert _answer(_login(attacker, user.username, "guess-123456"))[:2] == (401, "invalid_credentials")
    throttled = _login(attacker, user.username, PASSWORD)  # even the right password waits
    assert throttled.status_code == 429
    assert throttled.get_json()["error"]["code"] == "too_many_requests"
    wait = int(throttled.headers["Retry-After"])
    assert wait == app.config["VBP"].login_delay_seconds
    frozen["now"] += timedelta(seconds=wait + 1)
    assert _login(attacker, user.username, PASSWORD).status_code == 200


def test_the_delay_doubles_with_each_further_failure_up_to_the_cap(session: Session) -> None:
    from core import login_throttle
    from core.login_throttle import ThrottlePolicy

    policy = ThrottlePolicy(
        max_failures=3,
        max_failures_per_client=1000,
        first_delay=timedelta(seconds=10),
        max_delay=timedelta(seconds=60),
        forget_after=timedelta(minutes=15),
    )
    now = clock.now()
    args = {"client": ATTACKER, "username": "someone"}
    delays = []
    for _ in range(8):
        if wait := login_throttle.blocked_for(session, **args, now=now):
            delays.append(wait)
            now += wait
        login_throttle.record_failure(session, **args, now=now, policy=policy)
    assert delays == [timedelta(seconds=s) for s in (10, 20, 40, 60, 60)]
    # Another address, or another username from the same address, is not held up.
    assert login_throttle.blocked_for(session, client=OFFICE, username="someone", now=now) is None
    assert login_throttle.blocked_for(session, client=ATTACKER, username="other", now=now) is None
    # A quiet period forgets the failures.
    later = now + timedelta(seconds=60) + policy.forget_after
    login_throttle.record_failure(session, **args, now=later, policy=policy)
    assert login_throttle.blocked_for(session, **args, now=later) is None


def test_one_address_guessing_across_many_usernames_is_slowed_too(
    app: Flask, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.config["VBP"], "login_max_failures_per_client", 4)
    user = make_user(session, make_org(session))
    session.commit()
    sprayer = _from(app, ATTACKER)
    for n in range(4):
        assert _login(sprayer, f"nobody-{n}", "guess-123456").status_code == 401
    assert _login(sprayer, user.username, PASSWORD).status_code == 429
    assert _login(_from(app, OFFICE), user.username, PASSWORD).status_code == 200


def test_unknown_and_existing_users_get_the_same_answer_at_every_attempt(
    app: Flask, session: Session
) -> None:
    user = make_user(session, make_org(session))
    session.commit()
    existing, unknown = _from(app, ATTACKER), _from(app, ATTACKER)
    for _ in range(GUESSES):
        assert _answer(_login(existing, user.username, "guess-123456")) == _answer(
            _login(unknown, "no-such-user", "guess-123456")
        )


def test_a_deactivated_users_right_password_gets_the_same_answer_as_a_wrong_one(
    app: Flask, session: Session
) -> None:
    user = make_user(session, make_org(session))
    user.active = False
    session.commit()
    client = _from(app, OFFICE)
    assert _answer(_login(client, user.username, PASSWORD)) == _answer(
        _login(client, "no-such-user", PASSWORD)
    )


def test_token_requests_with_a_password_are_throttled_like_logins(app: Flask, session: Session) -> None:
    user = make_user(session, make_org(session))
    session.commit()
    attacker = _from(app, ATTACKER)
    body = {"name": "ERP", "username": user.username, "password": "guess-123456"}
    for _ in range(app.config["VBP"].login_max_failures):
        assert attacker.post("/api/v1/auth/tokens", json=body).status_code == 401
    assert attacker.post("/api/v1/auth/tokens", json=body | {"password": PASSWORD}).status_code == 429
    assert _login(attacker, user.username, PASSWORD).status_code == 429  # one counter for both doors


def test_the_web_login_page_is_throttled_and_says_so(app: Flask, session: Session) -> None:
    user = make_user(session, make_org(session))
    session.commit()
    browser = _from(app, ATTACKER)
    browser.get("/login")
    with browser.session_transaction() as s:
        token = s["csrf"]
    form = {"username": user.username, "password": "guess-123456", "csrf_token": token}
    for _ in range(app.config["VBP"].login_max_failures):
        assert browser.post("/login", data=form).status_code == 401
    page = browser.post("/login", data=form | {"password": PASSWORD})
    assert page.status_code == 429
    assert "Retry-After" in page.headers
    assert browser.get("/api/v1/auth/me").status_code == 401


def test_the_throttle_keeps_no_username_or_address_in_clear(app: Flask, session: Session) -> None:
    user = make_user(session, make_org(session))
    session.commit()
    from core.login_throttle import LoginThrottle

    _login(_from(app, ATTACKER), user.username, "guess-123456")
    rows = session.scalars(select(LoginThrottle)).all()
    assert len(rows) == 2  # one for the address, one for the address and username
    for row in rows:
        assert user.username not in row.key_hash
        assert ATTACKER not in row.key_hash


def test_an_ipv6_client_is_throttled_by_its_64_bit_prefix() -> None:
    from core import login_throttle

    assert login_throttle.client_key("2001:db8:1:2::1") == login_throttle.client_key("2001:db8:1:2:ffff::9")
    assert login_throttle.client_key("2001:db8:1:2::1") != login_throttle.client_key("2001:db8:1:3::1")
    assert login_throttle.client_key("203.0.113.7") != login_throttle.client_key("203.0.113.8")
