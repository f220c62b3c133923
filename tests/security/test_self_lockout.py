"""Nobody can lock an organization out of the platform by accident or malice: the bureau cannot
deactivate its own organization or the last active bureau, no organization can lose its last
active admin (deactivated or demoted, by itself or by the bureau), and nobody deactivates or
demotes themselves. Each refusal is a 409 with its own code and changes nothing."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import create_app
from app.cli import alembic_config
from app.config import Config
from app.db import get_db
from core import accounts, clock
from core.actors import Actor, OrgKind, Role
from core.errors import Conflict
from core.organizations import Organization, User
from tests.factories import bearer, make_org, make_user


def _refused(response: Any, code: str) -> None:
    assert response.status_code == 409, response.get_json()
    assert response.get_json()["error"]["code"] == code


def test_the_bureau_cannot_deactivate_its_own_organization(client: FlaskClient, session: Session) -> None:
    bureau = make_org(session, OrgKind.BUREAU)
    admin = bearer(session, make_user(session, bureau, Role.ADMIN))
    make_org(session, OrgKind.BUREAU)  # even with another bureau still active
    response = client.patch(f"/api/v1/organizations/{bureau.id}", json={"active": False}, headers=admin)
    _refused(response, "cannot_deactivate_own_organization")
    session.expire_all()
    assert session.get_one(Organization, bureau.id).active is True


def test_the_last_active_bureau_cannot_be_deactivated(session: Session) -> None:
    bureau = make_org(session, OrgKind.BUREAU)
    other = make_org(session, OrgKind.BUREAU)
    accounts.update_organization(
        session, Actor.system(), other.id, changes={"active": False}, now=clock.now()
    )
    with pytest.raises(Conflict) as refused:
        accounts.update_organization(
            session, Actor.system(), bureau.id, changes={"active": False}, now=clock.now()
        )
    assert refused.value.code == "last_bureau_organization"


def test_one_bureau_may_deactivate_another_while_one_stays_active(
    client: FlaskClient, session: Session
) -> None:
    admin = bearer(session, make_user(session, make_org(session, OrgKind.BUREAU), Role.ADMIN))
    other = make_org(session, OrgKind.BUREAU)
    response = client.patch(f"/api/v1/organizations/{other.id}", json={"active": False}, headers=admin)
    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize("change", [{"active": False}, {"role": "operator"}, {"role": "auditor"}])
def test_the_last_active_admin_of_an_organization_cannot_be_removed_by_the_bureau(
    client: FlaskClient, session: Session, change: dict[str, Any]
) -> None:
    bureau_admin = bearer(session, make_user(session, make_org(session, OrgKind.BUREAU), Role.ADMIN))
    hospital = make_org(session)
    only_admin = make_user(session, hospital, Role.ADMIN)
    retired = make_user(session, hospital, Role.ADMIN)
    retired.active = False  # an inactive admin does not count
    session.flush()
    response = client.patch(f"/api/v1/users/{only_admin.id}", json=change, headers=bureau_admin)
    _refused(response, "last_admin")
    session.expire_all()
    kept = session.get_one(User, only_admin.id)
    assert (kept.active, kept.role) == (True, Role.ADMIN)


def test_the_bureaus_last_admin_cannot_be_removed_by_another_bureau(
    client: FlaskClient, session: Session
) -> None:
    provincial = bearer(session, make_user(session, make_org(session, OrgKind.BUREAU), Role.ADMIN))
    city_admin = make_user(session, make_org(session, OrgKind.BUREAU), Role.ADMIN)
    response = client.patch(f"/api/v1/users/{city_admin.id}", json={"active": False}, headers=provincial)
    _refused(response, "last_admin")


def test_an_admin_may_be_removed_while_another_active_admin_remains(
    client: FlaskClient, session: Session
) -> None:
    hospital = make_org(session)
    first = make_user(session, hospital, Role.ADMIN)
    second = make_user(session, hospital, Role.ADMIN)
    response = client.patch(
        f"/api/v1/users/{second.id}", json={"role": "operator"}, headers=bearer(session, first)
    )
    assert response.status_code == 200, response.get_json()
    again = client.patch(
        f"/api/v1/users/{first.id}",
        json={"active": False},
        headers=bearer(session, make_user(session, make_org(session, OrgKind.BUREAU), Role.ADMIN)),
    )
    _refused(again, "last_admin")


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"active": False}, "cannot_deactivate_self"),
        ({"role": "operator"}, "cannot_demote_self"),
    ],
)
def test_nobody_deactivates_or_demotes_themselves(
    client: FlaskClient, session: Session, change: dict[str, Any], code: str
) -> None:
    hospital = make_org(session)
    admin = make_user(session, hospital, Role.ADMIN)
    make_user(session, hospital, Role.ADMIN)  # not the last admin: still refused
    response = client.patch(f"/api/v1/users/{admin.id}", json=change, headers=bearer(session, admin))
    _refused(response, code)
    session.expire_all()
    kept = session.get_one(User, admin.id)
    assert (kept.active, kept.role) == (True, Role.ADMIN)


@pytest.mark.postgresql_only
def test_two_admins_removing_each_other_at_once_leave_one_admin(databases: Any, tmp_path: Path) -> None:
    """Real concurrent connections: each of two admins deactivates the other at the same moment;
    the organization's row lock lets exactly one through, the other is refused as the last admin."""
    url = databases.new()
    command.upgrade(alembic_config(url), "head")
    app = create_app(
        Config(env="testing", database_url=url, secret_key="k" * 40, instance_path=str(tmp_path))
    )
    db = get_db(app)
    rounds = []
    with db.sessionmaker() as s, s.begin():
        for _ in range(5):
            hospital = make_org(s)
            first, second = make_user(s, hospital, Role.ADMIN), make_user(s, hospital, Role.ADMIN)
            rounds.append((hospital.id, (bearer(s, first), second.id), (bearer(s, second), first.id)))
    try:
        for org_id, *pair in rounds:
            barrier = threading.Barrier(2)

            def deactivate(attempt: tuple[dict[str, str], int], barrier: threading.Barrier = barrier) -> int:
                headers, target = attempt
                client = app.test_client()
                barrier.wait()
                return client.patch(
                    f"/api/v1/users/{target}", json={"active": False}, headers=headers
                ).status_code

            with ThreadPoolExecutor(2) as pool:
                codes = sorted(pool.map(deactivate, pair))
            assert codes == [200, 409]
            with db.sessionmaker() as s:
                admins = s.scalars(
                    select(User).where(User.organization_id == org_id, User.role == Role.ADMIN, User.active)
                ).all()
            assert len(admins) == 1
    finally:
        db.engine.dispose()
