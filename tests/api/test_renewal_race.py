"""Two renewals of one batch requested at once, on PostgreSQL with real connections: one is
created, the other answered 409 already_renewed (the expiring batch's row lock serialises them,
and the unique renews_batch_id key backs it), never a 500 and never two renewals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.db import get_db
from bidding.models import ProcurementBatch
from core.organizations import Organization
from tests.conftest import Databases
from tests.factories import bearer, make_user
from tests.races import committed_app, in_session, race
from tests.renewal import RENEWAL_TIMELINE, published_world

pytestmark = pytest.mark.postgresql_only


@pytest.fixture
def app(databases: Databases, tmp_path: Path) -> Iterator[Flask]:
    application = committed_app(databases, tmp_path)
    yield application
    get_db(application).engine.dispose()


def test_two_renewals_of_one_batch_at_once_create_one(app: Flask) -> None:
    with get_db(app).sessionmaker() as s, s.begin():
        world = published_world(s)
        headers = bearer(s, make_user(s, s.get_one(Organization, world.bureau.org_id)))
        batch_id = world.batch.id
    body = {k: v.isoformat() for k, v in RENEWAL_TIMELINE.items()}
    path = f"/api/v1/batches/{batch_id}/renewal"
    answers = race(
        app,
        [
            lambda c: c.post(path, headers=headers, json=body),
            lambda c: c.post(path, headers=headers, json=body),
        ],
        when=lambda s: in_session(s, ProcurementBatch),
    )
    assert sorted(a.status for a in answers) == [201, 409], answers
    [conflict] = [a.body for a in answers if a.status == 409]
    assert conflict["error"]["code"] == "already_renewed"
    with get_db(app).sessionmaker() as s:
        renewals = s.scalar(
            select(func.count())
            .select_from(ProcurementBatch)
            .where(ProcurementBatch.renews_batch_id == batch_id)
        )
    assert renewals == 1
