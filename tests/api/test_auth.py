from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock, tokens
from core.actors import OrgKind, Role
from core.audit import AuditEvent
from core.organizations import ApiToken
from tests.factories import PASSWORD, actor_of, bearer, login, make_org, make_user


def test_login_starts_a_session_and_me_returns_the_user(client: FlaskClient, session: Session) -> None:
    user = make_user(session, make_org(session), Role.OPERATOR)
    login(client, user)
    body = client.get("/api/v1/auth/me").get_json()
    assert body["user"]["username"] == user.username
    assert body["organization"]["id"] == user.organization_id
    assert body["auth_method"] == "session"
    assert len(body["csrf_token"]) > 20


def test_wrong_password_is_401_with_the_error_shape(client: FlaskClient, session: Session) -> None:
    user = make_user(session, make_org(session))
    response = client.post(
        "/api/v1/auth/login", json={"username": user.username, "password": "wrong-password-1"}
    )
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_credentials"
    assert set(response.get_json()["error"]) == {"code", "message", "fields"}


def test_unknown_user_gives_the_same_answer_as_a_wrong_password(client: FlaskClient) -> None:
    response = client.post("/api/v1/auth/login", json={"username": "nobody", "password": "whatever-123"})
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "invalid_credentials"


def test_anonymous_request_to_a_protected_endpoint_is_401(client: FlaskClient) -> None:
    response = client.get("/api/v1/auth/me")
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "authentication_required"


def test_logout_ends_the_session(client: FlaskClient, session: Session) -> None:
    login(client, make_user(session, make_org(session)))
    csrf = client.get("/api/v1/auth/me").get_json()["csrf_token"]
    assert client.post("/api/v1/auth/logout").status_code == 403  # a cross-site form cannot log us out
    assert client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert client.get("/api/v1/auth/me").status_code == 401


def test_token_from_password_works_as_bearer_and_revocation_stops_it(
    client: FlaskClient, session: Session
) -> None:
    user = make_user(session, make_org(session), Role.OPERATOR)
    response = client.post(
        "/api/v1/auth/tokens", json={"name": "HIS", "username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 201
    issued = response.get_json()
    assert issued["token"].startswith("vbp_")
    headers = {"Authorization": f"Bearer {issued['token']}"}
    assert client.get("/api/v1/auth/me", headers=headers).get_json()["auth_method"] == "token"
    stored = session.scalars(select(ApiToken).where(ApiToken.id == issued["id"])).one()
    assert issued["token"] not in (stored.token_hash, stored.prefix)  # only a digest is stored

    assert client.delete(f"/api/v1/auth/tokens/{issued['id']}", headers=headers).status_code == 204
    response = client.get("/api/v1/auth/me", headers=headers)
    assert response.status_code == 401
    actions = session.scalars(select(AuditEvent.action).where(AuditEvent.subject_type == "api_token")).all()
    assert actions == ["token.issue", "token.revoke"]


def test_expired_token_is_refused(client: FlaskClient, session: Session) -> None:
    user = make_user(session, make_org(session))
    _, plaintext = tokens.issue_token(
        session, actor_of(user), name="old", ttl=timedelta(days=1), now=clock.now() - timedelta(days=2)
    )
    session.flush()
    response = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {plaintext}"})
    assert response.status_code == 401


def test_garbage_authorization_header_is_401(client: FlaskClient) -> None:
    assert client.get("/api/v1/auth/me", headers={"Authorization": "Basic abc"}).status_code == 401
    assert client.get("/api/v1/auth/me", headers={"Authorization": "Bearer vbp_nope"}).status_code == 401


def test_token_request_without_login_needs_credentials(client: FlaskClient) -> None:
    response = client.post("/api/v1/auth/tokens", json={"name": "ERP"})
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"username", "password"}


def test_cookie_session_write_without_json_needs_the_csrf_token(
    client: FlaskClient, session: Session
) -> None:
    bureau_admin = make_user(session, make_org(session, OrgKind.BUREAU), Role.ADMIN)
    login(client, bureau_admin)
    response = client.post("/api/v1/organizations", data={"name": "x"})
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "csrf_failed"


def test_user_of_another_org_cannot_revoke_my_token(client: FlaskClient, session: Session) -> None:
    mine = make_user(session, make_org(session))
    other = make_user(session, make_org(session), Role.ADMIN)
    token, _ = tokens.issue_token(session, actor_of(mine), name="x", ttl=timedelta(days=1), now=clock.now())
    session.flush()
    response = client.delete(f"/api/v1/auth/tokens/{token.id}", headers=bearer(session, other))
    assert response.status_code == 404
