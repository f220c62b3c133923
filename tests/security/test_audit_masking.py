"""Personal names follow one rule everywhere, the audit trail included: shown in full to the
organization's own admins, masked (王**) for everyone else: actors' names and names inside event
payloads, in the API and on the audit page alike."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.actors import OrgKind, Role
from core.organizations import Organization, User
from tests.factories import PASSWORD, bearer, make_org, make_user


@pytest.fixture
def renamed(client: FlaskClient, session: Session) -> dict[str, object]:
    """A hospital admin (李建国) renames a nurse from 王小明 to 王晓明."""
    hospital = make_org(session, OrgKind.HOSPITAL)
    admin = make_user(session, hospital, Role.ADMIN)
    admin.display_name = "李建国"
    nurse = make_user(session, hospital, Role.OPERATOR)
    nurse.display_name = "王小明"
    session.flush()
    response = client.patch(
        f"/api/v1/users/{nurse.id}", json={"display_name": "王晓明"}, headers=bearer(session, admin)
    )
    assert response.status_code == 200, response.get_json()
    session.commit()
    return {"hospital": hospital, "admin": admin, "nurse": nurse}


def _events(client: FlaskClient, headers: dict[str, str], nurse: User) -> list[dict[str, object]]:
    response = client.get(f"/api/v1/audit-events?subject_type=user&subject_id={nurse.id}", headers=headers)
    assert response.status_code == 200, response.get_json()
    return list(response.get_json())


def _viewer(session: Session, org: Organization, role: Role) -> dict[str, str]:
    return bearer(session, make_user(session, org, role))


def test_audit_events_mask_names_for_everyone_but_the_organizations_own_admins(
    client: FlaskClient, session: Session, renamed: dict[str, object]
) -> None:
    hospital, nurse = renamed["hospital"], renamed["nurse"]
    assert isinstance(hospital, Organization)
    assert isinstance(nurse, User)
    bureau = make_org(session, OrgKind.BUREAU)
    for headers in (
        _viewer(session, bureau, Role.AUDITOR),
        _viewer(session, bureau, Role.ADMIN),
        _viewer(session, hospital, Role.AUDITOR),
    ):
        [event] = _events(client, headers, nurse)
        assert event["before"]["display_name"] == "王**"  # type: ignore[index]
        assert event["after"]["display_name"] == "王**"  # type: ignore[index]
        assert event["actor_name"] == "李**"
        text = json.dumps(event, ensure_ascii=False)
        for name in ("王小明", "王晓明", "李建国"):
            assert name not in text

    [event] = _events(client, _viewer(session, hospital, Role.ADMIN), nurse)
    assert (event["before"]["display_name"], event["after"]["display_name"]) == ("王小明", "王晓明")  # type: ignore[index]
    assert event["actor_name"] == "李建国"


def test_the_audit_page_masks_names_by_the_same_rule(
    app: Flask, session: Session, renamed: dict[str, object]
) -> None:
    hospital = renamed["hospital"]
    assert isinstance(hospital, Organization)
    bureau_auditor = make_user(session, make_org(session, OrgKind.BUREAU), Role.AUDITOR)
    own_admin = make_user(session, hospital, Role.ADMIN)
    session.commit()

    def page_as(user: User) -> str:
        browser = app.test_client()
        browser.get("/login")
        with browser.session_transaction() as s:
            token = s["csrf"]
        form = {"username": user.username, "password": PASSWORD, "csrf_token": token}
        assert browser.post("/login", data=form).status_code == 302
        response = browser.get("/audit?subject_type=user")
        assert response.status_code == 200
        return response.get_data(as_text=True)

    masked = page_as(bureau_auditor)
    assert "李**" in masked
    assert "王**" in masked
    for name in ("王小明", "王晓明", "李建国"):
        assert name not in masked
    full = page_as(own_admin)
    assert "李建国" in full
    assert "王晓明" in full


def test_one_users_record_is_masked_for_everyone_but_its_organizations_admins_and_itself(
    client: FlaskClient, session: Session, renamed: dict[str, object]
) -> None:
    hospital, nurse = renamed["hospital"], renamed["nurse"]
    assert isinstance(hospital, Organization)
    assert isinstance(nurse, User)
    bureau = make_org(session, OrgKind.BUREAU)
    for headers in (_viewer(session, bureau, Role.AUDITOR), _viewer(session, hospital, Role.AUDITOR)):
        response = client.get(f"/api/v1/users/{nurse.id}", headers=headers)
        assert response.get_json()["display_name"] == "王**"
    for headers in (_viewer(session, hospital, Role.ADMIN), bearer(session, nurse)):
        response = client.get(f"/api/v1/users/{nurse.id}", headers=headers)
        assert response.get_json()["display_name"] == "王晓明"
