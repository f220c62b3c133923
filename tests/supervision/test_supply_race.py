"""Two backup activations of the same item × region at once (PostgreSQL, real connections, the two
transactions overlapping for certain): one switches, the other answers 409, never 500, and the
volume moves once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.db import get_db
from bidding.models import Award, VolumeAllocation
from core.organizations import User
from ledger.supervision.supply_models import BackupActivation, VolumeMove
from tests.conftest import Databases
from tests.factories import bearer
from tests.ordering import NOW, make_market
from tests.races import committed_app, in_session, race

pytestmark = pytest.mark.postgresql_only


@pytest.fixture
def app(databases: Databases, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    monkeypatch.setattr("core.clock.now", lambda: NOW)
    application = committed_app(databases, tmp_path)
    yield application
    get_db(application).engine.dispose()


def test_two_activations_of_one_region_at_once_switch_it_once(app: Flask) -> None:
    with get_db(app).sessionmaker() as s, s.begin():
        market = make_market(s)
        to_award = s.scalars(select(Award).where(Award.id != market.award.id)).one().id
        body = {
            "item_id": market.award.item_id,
            "region_code": "510100",
            "to_award_id": to_award,
            "from_award_id": market.award.id,
            "reason": "断供",
        }
        headers = bearer(s, s.get_one(User, market.world.bureau.user_id))
        total = s.scalar(select(func.sum(VolumeAllocation.agreed_quantity)))
    answers = race(
        app,
        [lambda c: c.post("/api/v1/backup-activations", json=body, headers=headers) for _ in range(2)],
        when=lambda s: in_session(s, BackupActivation),
    )
    assert sorted(a.status for a in answers) == [201, 409], answers
    with get_db(app).sessionmaker() as s:
        assert s.scalar(select(func.count()).select_from(BackupActivation)) == 1
        assert s.scalar(select(func.count()).select_from(VolumeMove)) == 2
        assert s.scalar(select(func.sum(VolumeAllocation.agreed_quantity))) == total
