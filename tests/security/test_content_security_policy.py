"""Every HTML answer carries a strict Content-Security-Policy, and the pages need nothing it
forbids: no inline script or style, nothing from another host. The API documentation page is
served with its Swagger UI assets from the installed package, so it works on a closed network.
(The browser journeys in tests/web/test_browser.py check that chromium reports no violation.)"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.actors import OrgKind, Role
from tests.factories import PASSWORD, make_org, make_user


def _policy(header: str) -> dict[str, set[str]]:
    directives: dict[str, set[str]] = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = set(values)
    return directives


class _Refs(HTMLParser):
    """Collects what a page loads or runs: src/href values, inline scripts and styles, handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.refs: list[str] = []
        self.inline: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href", "action", "formaction"):
            if values.get(name):
                self.refs.append(str(values[name]))
        if tag == "script" and not values.get("src"):
            self.inline.append("<script> without src")
        if tag == "style":
            self.inline.append("<style>")
        for name in values:
            if name == "style" or name.startswith("on"):
                self.inline.append(f"{tag} {name}=")


def _refs(html: str) -> _Refs:
    parser = _Refs()
    parser.feed(html)
    return parser


def test_the_policy_is_strict(client: FlaskClient) -> None:
    csp = _policy(client.get("/login").headers["Content-Security-Policy"])
    assert csp["default-src"] == {"'self'"}
    assert csp["script-src"] == {"'self'"}
    assert csp["style-src"] == {"'self'"}
    assert csp["object-src"] == {"'none'"}
    assert csp["frame-ancestors"] == {"'none'"}
    assert csp["base-uri"] == {"'none'"}
    assert csp["form-action"] == {"'self'"}
    for values in csp.values():
        assert not values & {"'unsafe-inline'", "'unsafe-eval'", "*", "http:", "https:"}


def test_the_api_docs_page_names_no_external_host_and_serves_its_own_assets(client: FlaskClient) -> None:
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert not re.search(r"(https?:)?//[\w.-]+", html), "the page names another host"
    refs = _refs(html)
    assert refs.inline == []
    scripts = [r for r in refs.refs if r.endswith(".js")]
    styles = [r for r in refs.refs if r.endswith(".css")]
    assert any("swagger-ui-bundle" in s for s in scripts)
    assert styles
    for ref in scripts + styles:
        with client.get(ref) as asset:
            assert asset.status_code == 200, ref
            assert asset.mimetype in ("text/javascript", "application/javascript", "text/css"), ref
            assert len(asset.get_data()) > 100, ref
    assert client.get("/api/v1/docs/assets/../../../app/config.py").status_code == 404


def _html_routes(app: Flask) -> list[str]:
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint.endswith("static"):
            continue
        if rule.rule.startswith("/api/") and rule.rule != "/api/v1/docs":
            continue  # JSON, PDF and spreadsheet endpoints
        paths.append(re.sub(r"<(?:\w+:)?\w+>", "1", rule.rule))
    return paths


def test_every_html_response_carries_the_policy(app: Flask, session: Session) -> None:
    clients = [app.test_client()]  # anonymous first
    for kind in (OrgKind.BUREAU, OrgKind.HOSPITAL, OrgKind.MANUFACTURER, OrgKind.DISTRIBUTOR):
        for role in (Role.ADMIN, Role.AUDITOR):
            user = make_user(session, make_org(session, kind), role)
            session.commit()
            client = app.test_client()
            client.get("/login")
            with client.session_transaction() as s:
                token = s["csrf"]
            form = {"username": user.username, "password": PASSWORD, "csrf_token": token}
            assert client.post("/login", data=form).status_code == 302
            clients.append(client)
    expected = app.test_client().get("/login").headers["Content-Security-Policy"]
    html_pages = 0
    paths = [*_html_routes(app), "/no-such-page", "/api/v1/no-such-endpoint"]
    for client in clients:
        for path in paths:
            response = client.get(path)
            assert response.status_code < 500, path
            assert response.headers.get("Content-Security-Policy") == expected, path
            if response.mimetype == "text/html" and response.status_code == 200:
                html_pages += 1
                assert _refs(response.get_data(as_text=True)).inline == [], path
    assert html_pages >= 40
