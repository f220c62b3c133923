"""The same results file imported twice at once, on PostgreSQL with real connections: one batch is
created, the other request is answered 409 (the unique results_sha256 key), never a 500 and never
two batches."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.db import get_db
from bidding.models import ProcurementBatch
from core.actors import Role
from core.organizations import Organization
from tests.bidding.test_results_import import national_rows
from tests.conftest import Databases
from tests.factories import bearer, make_user
from tests.national import DEMAND_CLOSES, DEMAND_OPENS, csv_bytes, new_platform
from tests.races import committed_app, in_session, race

pytestmark = pytest.mark.postgresql_only


@pytest.fixture
def app(databases: Databases, tmp_path: Path) -> Iterator[Flask]:
    application = committed_app(databases, tmp_path)
    yield application
    get_db(application).engine.dispose()


def test_one_results_file_imported_twice_at_once_makes_one_batch(app: Flask) -> None:
    with get_db(app).sessionmaker() as s, s.begin():
        p = new_platform(s)
        data = csv_bytes(national_rows(p))
        headers = bearer(s, make_user(s, s.get_one(Organization, p.bureau.org_id), Role.OPERATOR))
    window = urlencode(
        {"demand_opens_at": DEMAND_OPENS.isoformat(), "demand_closes_at": DEMAND_CLOSES.isoformat()}
    )
    url = f"/api/v1/batches/import-results?{window}"

    def send(client):  # type: ignore[no-untyped-def]
        return client.post(url, headers=headers, data={"file": (io.BytesIO(data), "国采.csv")})

    answers = race(app, [send, send], when=lambda s: in_session(s, ProcurementBatch))
    assert sorted(a.status for a in answers) == [201, 409], answers
    with get_db(app).sessionmaker() as s:
        assert s.scalar(select(func.count()).select_from(ProcurementBatch)) == 1
