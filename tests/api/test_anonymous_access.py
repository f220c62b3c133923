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
}


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
