"""Contract checks over the whole API, driven by the served OpenAPI document."""

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.actors import OrgKind, Role
from tests.factories import bearer, make_org, make_user

WRITE_METHODS = ("post", "put", "patch")


def _spec(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def test_openapi_document_is_served_with_security_schemes(client: FlaskClient) -> None:
    spec = _spec(client)
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/organizations" in spec["paths"]
    assert set(spec["components"]["securitySchemes"]) == {"bearerAuth", "cookieAuth"}
    assert client.get("/api/v1/docs").status_code == 200


def test_every_documented_write_rejects_bad_input_with_422_naming_the_field(
    client: FlaskClient, session: Session
) -> None:
    """Bad input to every write is a 422 that names the field (new endpoints are covered automatically).

    Each write is tried as a bureau, hospital, manufacturer and distributor admin; the first
    one the endpoint admits must get the 422.
    """
    bureau = make_org(session, OrgKind.BUREAU)
    admin = make_user(session, bureau, Role.ADMIN)
    callers = [
        bearer(session, admin),
        bearer(session, make_user(session, make_org(session, OrgKind.HOSPITAL), Role.ADMIN)),
        bearer(session, make_user(session, make_org(session, OrgKind.MANUFACTURER), Role.ADMIN)),
        bearer(session, make_user(session, make_org(session, OrgKind.DISTRIBUTOR), Role.ADMIN)),
    ]
    ids = {"org_id": bureau.id, "user_id": admin.id}
    checked = []
    for path, operations in _spec(client)["paths"].items():
        for method, operation in operations.items():
            if method not in WRITE_METHODS or "requestBody" not in operation:
                continue
            url = re.sub(r"\{(\w+)\}", lambda m: str(ids.get(m.group(1), 1)), path)
            upload = "multipart/form-data" in operation["requestBody"]["content"]
            for headers in callers:
                if upload:
                    response = client.open(url, method=method.upper(), data={"other": "x"}, headers=headers)
                else:
                    response = client.open(url, method=method.upper(), json={"__bogus__": 1}, headers=headers)
                if response.status_code != 403:
                    break
            assert response.status_code == 422, (method, url, response.get_json())
            expected = "file" if upload else "__bogus__"
            assert expected in response.get_json()["error"]["fields"], (method, url, response.get_json())
            checked.append(f"{method.upper()} {path}")
    assert len(checked) >= 15, checked


def test_malformed_json_is_400_with_the_error_shape(client: FlaskClient) -> None:
    response = client.post("/api/v1/auth/login", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert set(response.get_json()["error"]) == {"code", "message", "fields"}


def test_unknown_route_and_wrong_method_use_the_error_shape(client: FlaskClient) -> None:
    missing = client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "not_found"
    wrong = client.put("/api/v1/auth/login", json={})
    assert wrong.status_code == 405
    assert "POST" in wrong.headers["Allow"]


def test_oversized_body_is_413(app: Flask, client: FlaskClient) -> None:
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = client.post("/api/v1/auth/login", data=b"x" * (limit + 1), content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"


def test_security_headers_are_set(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
