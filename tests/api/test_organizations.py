from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.actors import OrgKind, Role
from core.audit import AuditEvent
from core.organizations import Organization, User
from core.uscc import make_uscc
from tests.factories import bearer, make_org, make_user


@pytest.fixture
def bureau_admin(session: Session) -> User:
    return make_user(session, make_org(session, OrgKind.BUREAU), Role.ADMIN)


def _hospital(**overrides: Any) -> dict[str, Any]:
    return {
        "kind": "hospital",
        "name": "测试县人民医院",
        "uscc": make_uscc("12510100MB0X99991"),
        "region_code": "510104",
        "hospital_level": "secondary",
        "is_public": True,
        **overrides,
    }


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_bureau_admin_registers_a_hospital_and_it_is_audited(
    client: FlaskClient, session: Session, bureau_admin: User
) -> None:
    response = client.post("/api/v1/organizations", json=_hospital(), headers=bearer(session, bureau_admin))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["kind"] == "hospital"
    assert body["hospital_level"] == "secondary"
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "organization.create")).all()[-1]
    assert event.subject_id == str(body["id"])
    assert event.actor_user_id == bureau_admin.id


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"uscc": "12510100MB0X99990"}, "uscc"),  # wrong check character
        ({"region_code": "51010"}, "region_code"),
        ({"hospital_level": None}, "hospital_level"),
        ({"hospital_level": "quaternary"}, "hospital_level"),
        ({"kind": "pharmacy"}, "kind"),
        ({"name": ""}, "name"),
        ({"colour": "blue"}, "colour"),  # unknown fields are rejected, not ignored
        ({"is_public": "maybe"}, "is_public"),
    ],
)
def test_bad_organization_input_is_422_naming_the_field_and_writes_nothing(
    client: FlaskClient, session: Session, bureau_admin: User, overrides: dict[str, Any], field: str
) -> None:
    headers = bearer(session, bureau_admin)
    orgs, events = _count(session, Organization), _count(session, AuditEvent)
    response = client.post("/api/v1/organizations", json=_hospital(**overrides), headers=headers)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    assert (_count(session, Organization), _count(session, AuditEvent)) == (orgs, events)


def test_manufacturer_with_hospital_level_is_refused(
    client: FlaskClient, session: Session, bureau_admin: User
) -> None:
    data = _hospital(kind="manufacturer", uscc=make_uscc("91510100MA6X99992"))
    response = client.post("/api/v1/organizations", json=data, headers=bearer(session, bureau_admin))
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"hospital_level", "is_public"}


def test_duplicate_uscc_is_409(client: FlaskClient, session: Session, bureau_admin: User) -> None:
    headers = bearer(session, bureau_admin)
    assert client.post("/api/v1/organizations", json=_hospital(), headers=headers).status_code == 201
    response = client.post("/api/v1/organizations", json=_hospital(name="另一家"), headers=headers)
    assert response.status_code == 409
    assert "uscc" in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.AUDITOR])
def test_only_bureau_admins_register_organizations(client: FlaskClient, session: Session, role: Role) -> None:
    user = make_user(session, make_org(session, OrgKind.BUREAU), role)
    response = client.post("/api/v1/organizations", json=_hospital(), headers=bearer(session, user))
    assert response.status_code == 403


def test_hospital_admin_cannot_register_organizations(client: FlaskClient, session: Session) -> None:
    admin = make_user(session, make_org(session), Role.ADMIN)
    assert (
        client.post("/api/v1/organizations", json=_hospital(), headers=bearer(session, admin)).status_code
        == 403
    )


def test_hospital_a_gets_404_for_hospital_b_users_but_sees_its_own(
    client: FlaskClient, session: Session
) -> None:
    hospital_a, hospital_b = make_org(session), make_org(session)
    admin_a = make_user(session, hospital_a, Role.ADMIN)
    make_user(session, hospital_b, Role.OPERATOR)
    headers = bearer(session, admin_a)

    foreign = client.get(f"/api/v1/organizations/{hospital_b.id}/users", headers=headers)
    assert foreign.status_code == 404
    assert foreign.get_json()["error"]["code"] == "not_found"
    assert client.get(f"/api/v1/organizations/{hospital_b.id}", headers=headers).status_code == 404

    own = client.get(f"/api/v1/organizations/{hospital_a.id}/users", headers=headers)
    assert own.status_code == 200
    assert [u["username"] for u in own.get_json()] == [admin_a.username]


def test_non_bureau_sees_only_its_own_organization_in_the_list(client: FlaskClient, session: Session) -> None:
    mine = make_org(session)
    make_org(session)
    user = make_user(session, mine, Role.OPERATOR)
    body = client.get("/api/v1/organizations", headers=bearer(session, user)).get_json()
    assert [o["id"] for o in body] == [mine.id]


def test_lists_are_paginated(client: FlaskClient, session: Session, bureau_admin: User) -> None:
    for _ in range(3):
        make_org(session)
    response = client.get("/api/v1/organizations?page=1&page_size=2", headers=bearer(session, bureau_admin))
    assert len(response.get_json()) == 2
    assert '"total": ' in response.headers["X-Pagination"]


def test_org_admin_creates_users_only_in_its_own_org(client: FlaskClient, session: Session) -> None:
    hospital_a, hospital_b = make_org(session), make_org(session)
    headers = bearer(session, make_user(session, hospital_a, Role.ADMIN))
    data = {
        "username": "pharmacist.li",
        "display_name": "李药师",
        "password": "Longer-pass-9",
        "role": "operator",
    }
    assert (
        client.post(f"/api/v1/organizations/{hospital_a.id}/users", json=data, headers=headers).status_code
        == 201
    )
    other = {**data, "username": "intruder"}
    response = client.post(f"/api/v1/organizations/{hospital_b.id}/users", json=other, headers=headers)
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"password": "short1"}, "password"),
        ({"password": "onlyletterslong"}, "password"),
        ({"username": "a b"}, "username"),
        ({"role": "system"}, "role"),
        ({"role": "superuser"}, "role"),
        ({"email": "x@example.com"}, "email"),
    ],
)
def test_bad_user_input_is_422_naming_the_field(
    client: FlaskClient, session: Session, overrides: dict[str, Any], field: str
) -> None:
    hospital = make_org(session)
    headers = bearer(session, make_user(session, hospital, Role.ADMIN))
    users = _count(session, User)
    data = {
        "username": "nurse.wang",
        "display_name": "王",
        "password": "Longer-pass-9",
        "role": "operator",
        **overrides,
    }
    response = client.post(f"/api/v1/organizations/{hospital.id}/users", json=data, headers=headers)
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]
    assert _count(session, User) == users


def test_deactivated_user_loses_access_immediately(client: FlaskClient, session: Session) -> None:
    hospital = make_org(session)
    admin = make_user(session, hospital, Role.ADMIN)
    worker = make_user(session, hospital, Role.OPERATOR)
    worker_headers = bearer(session, worker)
    response = client.patch(
        f"/api/v1/users/{worker.id}", json={"active": False}, headers=bearer(session, admin)
    )
    assert response.status_code == 200
    assert client.get("/api/v1/auth/me", headers=worker_headers).status_code == 401


def test_admin_cannot_demote_itself(client: FlaskClient, session: Session) -> None:
    admin = make_user(session, make_org(session), Role.ADMIN)
    response = client.patch(
        f"/api/v1/users/{admin.id}", json={"role": "operator"}, headers=bearer(session, admin)
    )
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "cannot_demote_self"
    assert "role" in response.get_json()["error"]["fields"]
