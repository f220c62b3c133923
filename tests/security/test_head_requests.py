"""HEAD is GET without the body and nothing else: it never reaches a view as a write, so it cannot
log anybody in or slip a form past the CSRF check; a HEAD to a POST-only route is a 405."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.actors import OrgKind, Role
from core.audit import AuditEvent
from tests.factories import PASSWORD, login, make_org, make_user


def _csrf(client: FlaskClient) -> str:
    with client.session_transaction() as s:
        return str(s.get("csrf", ""))


def test_head_to_login_with_valid_credentials_in_a_form_body_does_not_log_in(
    app: Flask, session: Session
) -> None:
    user = make_user(session, make_org(session, OrgKind.BUREAU), Role.ADMIN)
    session.commit()
    for with_token in (False, True):
        client = app.test_client()
        client.get("/login")
        form = {"username": user.username, "password": PASSWORD}
        if with_token:
            form["csrf_token"] = _csrf(client)
        response = client.open("/login", method="HEAD", data=form)
        assert response.status_code == 200
        assert response.get_data() == b""
        assert client.get("/api/v1/auth/me").status_code == 401
        home = client.get("/")
        assert home.status_code == 302
        assert "/login" in home.headers["Location"]


def test_head_to_a_post_only_route_answers_405(client: FlaskClient) -> None:
    for path in ("/logout", "/language", "/api/v1/auth/login", "/api/v1/auth/logout"):
        response = client.open(path, method="HEAD")
        assert response.status_code == 405, path
        assert "HEAD" not in response.headers["Allow"], path


def test_head_answers_like_get_without_a_body(client: FlaskClient) -> None:
    get, head = client.get("/login"), client.open("/login", method="HEAD")
    assert (head.status_code, head.mimetype) == (get.status_code, get.mimetype)
    assert head.get_data() == b""
    assert int(head.headers["Content-Length"]) == len(get.get_data())


def test_no_route_writes_anything_on_head(app: Flask, session: Session) -> None:
    """Every route that answers HEAD, as a logged-in user of every kind sending a form with a
    valid CSRF token: the audit trail (every state change writes one event) does not move."""
    clients = []
    for kind in (OrgKind.BUREAU, OrgKind.HOSPITAL, OrgKind.MANUFACTURER, OrgKind.DISTRIBUTOR):
        user = make_user(session, make_org(session, kind), Role.ADMIN)
        session.commit()
        client = app.test_client()
        login(client, user)
        clients.append(client)
    before = session.scalar(select(func.count()).select_from(AuditEvent))
    tried = 0
    for rule in app.url_map.iter_rules():
        if "HEAD" not in (rule.methods or ()):
            continue
        path = re.sub(r"<(?:\w+:)?\w+>", "1", rule.rule)
        for client in clients:
            form = {"csrf_token": _csrf(client), "confirm": "true", "status": "accepted", "name": "x"}
            response = client.open(path, method="HEAD", data=form)
            assert response.status_code < 500, (path, response.status_code)
            assert response.get_data() == b"", path
            tried += 1
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == before
    assert tried > 100
