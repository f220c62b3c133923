import hashlib
import json

from flask.testing import FlaskClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.actors import OrgKind, Role
from core.idempotency import IdempotencyRecord
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


def test_the_store_keeps_neither_the_key_nor_the_answer_nor_an_unkeyed_fingerprint(
    client: FlaskClient, session: Session
) -> None:
    headers = {
        **bearer(session, make_user(session, make_org(session, OrgKind.BUREAU), Role.ADMIN)),
        "Idempotency-Key": "plain-key-0004",
    }
    body = json.dumps(_body(name="清晰可见的名称"))
    first = client.post("/api/v1/organizations", data=body, content_type="application/json", headers=headers)
    assert first.status_code == 201
    record = session.scalars(select(IdempotencyRecord)).one()
    assert record.key != "plain-key-0004"
    assert "清晰可见" not in record.response_body
    assert record.response_body.startswith("v1:")
    unkeyed = hashlib.sha256(b"POST /api/v1/organizations\n" + body.encode()).hexdigest()
    assert record.request_hash not in (unkeyed, hashlib.sha256(body.encode()).hexdigest())


def test_a_stored_answer_moved_to_another_record_is_refused_not_replayed(
    client: FlaskClient, session: Session
) -> None:
    user = make_user(session, make_org(session, OrgKind.BUREAU), Role.ADMIN)
    token = bearer(session, user)
    one = client.post("/api/v1/organizations", json=_body(), headers={**token, "Idempotency-Key": "k-1"})
    two = client.post(
        "/api/v1/organizations",
        json=_body(uscc=make_uscc("91510100MA6Q77773")),
        headers={**token, "Idempotency-Key": "k-2"},
    )
    assert (one.status_code, two.status_code) == (201, 201)
    first, second = session.scalars(select(IdempotencyRecord).order_by(IdempotencyRecord.id)).all()
    session.execute(
        update(IdempotencyRecord)
        .where(IdempotencyRecord.id == second.id)
        .values(response_body=first.response_body)
    )
    again = client.post(
        "/api/v1/organizations",
        json=_body(uscc=make_uscc("91510100MA6Q77773")),
        headers={**token, "Idempotency-Key": "k-2"},
    )
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "idempotency_record_unreadable"
