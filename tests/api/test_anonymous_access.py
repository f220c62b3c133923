"""Every route, taken from the URL map so a new one cannot escape: an anonymous caller gets 401,
except for the few endpoints that are public on purpose."""

import re

from flask import Flask
from flask.testing import FlaskClient

#: Public on purpose: logging in, logging out, token issue with credentials, the API description.
PUBLIC = {
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/auth/tokens"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/v1/docs"),
    # Anyone holding a statement PDF may check its code; the answer shows no amounts.
    ("GET", "/api/v1/statements/verify/<string:code>"),
    # Public disclosure (信息公开): published results, listings, credit list, notices, open data
    # and the sharing files; read-only, nothing sealed or private (tests/public).
    ("GET", "/api/v1/public/batches"),
    ("GET", "/api/v1/public/proposals"),
    ("GET", "/api/v1/public/batches/<int:batch_id>"),
    ("GET", "/api/v1/public/listings"),
    ("GET", "/api/v1/public/credit-ratings"),
    ("GET", "/api/v1/public/notices"),
    ("GET", "/api/v1/public/notices/<int:notice_id>"),
    ("GET", "/api/v1/public/ocds/batches/<int:batch_id>/<string:stage>"),
    ("GET", "/api/v1/public/sharing/prices.xlsx"),
    ("GET", "/api/v1/public/sharing/shortage.xlsx"),
    # Anyone holding an agreement PDF may check its signatures and version (no amounts shown).
    ("POST", "/api/v1/procurement-agreements/verify"),
    # The audit chain's daily roots, published so anyone can hold the platform to them.
    ("GET", "/api/v1/public/audit-roots"),
}
#: Pages open to strangers on purpose (every other page carries the @page gate, which sends them
#: to the login): logging in and out, the language switch, the page's own styles and scripts, and
#: the verification page a statement's QR code opens (no amounts; the code is the secret).
PUBLIC_PAGES = {"web.login", "web.logout", "web.language", "web.static", "web.verify_page"}
#: The agreement verification page: upload a signed agreement PDF, see whether it holds.
PUBLIC_PAGES |= {"web.verify_agreement_page"}


def test_every_route_refuses_anonymous_callers(app: Flask, client: FlaskClient) -> None:
    checked = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or not rule.rule.startswith("/api/"):
            continue
        url = re.sub(r"<(?:\w+:)?\w+>", "1", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            if (method, rule.rule) in PUBLIC or rule.rule.startswith("/api/v1/docs"):
                continue
            response = client.open(url, method=method, json={})
            assert response.status_code == 401, (method, rule.rule, response.status_code)
            assert response.get_json()["error"]["code"] == "authentication_required"
            checked.append(f"{method} {rule.rule}")
    print(f"anonymous callers refused on {len(checked)} route × method pairs")
    assert len(checked) >= 60


def test_every_page_without_a_gate_is_declared_public(app: Flask) -> None:
    ungated = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("web.") and not hasattr(app.view_functions[rule.endpoint], "_vbp_page")
    }
    assert ungated <= PUBLIC_PAGES, ungated - PUBLIC_PAGES
    assert "web.verify_page" in ungated
