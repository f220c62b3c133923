from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.actors import OrgKind, Role
from core.organizations import Organization
from core.uscc import make_uscc
from tests.factories import bearer, make_org, make_user


def _body(**kw: object) -> dict[str, object]:
    return {
        "kind": "distributor",
        "name": "某配送企业",
        "uscc": make_uscc("91510100MA6Q77771"),
        "region_code": "510100",
        **kw,
    }


def _orgs(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Organization)) or 0


def test_retried_request_with_the_same_key_returns_the_first_answer_and_creates_nothing(
    client: FlaskClient, session: Session
) -> None:
    headers = {
        **bearer(session, make_user(session, make_org(session, OrgKind.BUREAU), Role.ADMIN)),
        "Idempotency-Key": "req-0001",
    }
    first = client.post("/api/v1/organizations", json=_body(), headers=headers)
    assert first.status_code == 201
    count = _orgs(session)
    again = client.post("/api/v1/organizations", json=_body(), headers=headers)
    assert again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _orgs(session) == count


def test_same_key_for_a_different_request_is_a_conflict(client: FlaskClient, session: Session) -> None:
    headers = {
        **bearer(session, make_user(session, make_org(session, OrgKind.BUREAU), Role.ADMIN)),
        "Idempotency-Key": "req-0002",
    }
    assert client.post("/api/v1/organizations", json=_body(), headers=headers).status_code == 201
    other = client.post("/api/v1/organizations", json=_body(name="另一家"), headers=headers)
    assert other.status_code == 409
    assert other.get_json()["error"]["code"] == "idempotency_key_reused"


def test_a_failed_request_is_not_remembered(client: FlaskClient, session: Session) -> None:
    headers = {
        **bearer(session, make_user(session, make_org(session, OrgKind.BUREAU), Role.ADMIN)),
        "Idempotency-Key": "req-0003",
    }
    bad = client.post("/api/v1/organizations", json=_body(uscc="91510100MA6Q77770"), headers=headers)
    assert bad.status_code == 422
    fixed = client.post("/api/v1/organizations", json=_body(), headers=headers)
    assert fixed.status_code == 201


def test_keys_are_scoped_to_the_caller(client: FlaskClient, session: Session) -> None:
    bureau = make_org(session, OrgKind.BUREAU)
    one = {**bearer(session, make_user(session, bureau, Role.ADMIN)), "Idempotency-Key": "shared"}
    two = {**bearer(session, make_user(session, bureau, Role.ADMIN)), "Idempotency-Key": "shared"}
    assert client.post("/api/v1/organizations", json=_body(), headers=one).status_code == 201
    second = client.post(
        "/api/v1/organizations", json=_body(uscc=make_uscc("91510100MA6Q77772")), headers=two
    )
    assert second.status_code == 201
    assert "Idempotent-Replayed" not in second.headers
