"""Supply-guarantee pages: the distributor's order page records the first read and marks a line out
of stock; the bureau's supply page records a failure and activates a backup picking from lists."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bidding.models import Award
from core.actors import Role
from core.organizations import User
from ledger.models import Order
from ledger.services import ordering
from ledger.supervision.supply_models import BackupActivation, StockOut, SupplyFailure
from tests.factories import make_user
from tests.ordering import NOW, make_market
from tests.web.test_pages import csrf, web_login


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("core.clock.now", lambda: NOW)


def test_distributor_reads_and_marks_out_of_stock_from_the_order_page(
    app: Flask, session: Session, frozen: None
) -> None:
    market = make_market(session)
    order = market.order(8)
    ordering.decide_order(session, market.distributor_actor, order.id, accept=True, reason=None, now=NOW)  # type: ignore[attr-defined]
    user = session.get_one(User, market.distributor_actor.user_id)
    session.commit()
    client = app.test_client()
    web_login(client, user.username)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)  # type: ignore[attr-defined]
    assert "out-of-stock" in page
    session.expire_all()
    assert session.get_one(Order, order.id).first_read_at is not None  # type: ignore[attr-defined]
    url = f"/orders/{order.id}/lines/{order.lines[0].id}/out-of-stock"  # type: ignore[attr-defined]
    day = (NOW + timedelta(days=2)).date().isoformat()
    client.post(url, data={"csrf_token": csrf(client), "reason": "", "expected_on": day})
    assert session.scalar(select(func.count()).select_from(StockOut)) == 0
    response = client.post(url, data={"csrf_token": csrf(client), "reason": "原料短缺", "expected_on": day})
    assert response.status_code == 302
    assert session.scalar(select(func.count()).select_from(StockOut)) == 1
    assert "原料短缺" in client.get(f"/orders/{order.id}").get_data(as_text=True)  # type: ignore[attr-defined]


def test_bureau_records_a_failure_and_activates_the_backup_from_lists(
    app: Flask, session: Session, frozen: None
) -> None:
    market = make_market(session)
    user = make_user(session, session.get_one(User, market.world.bureau.user_id).organization, Role.OPERATOR)
    backup_award = session.scalars(select(Award).where(Award.id != market.award.id)).one()
    session.commit()
    client = app.test_client()
    web_login(client, user.username)
    page = client.get("/bureau/supply").get_data(as_text=True)
    assert f'<option value="{backup_award.id}">' in page
    assert '<option value="510100">' in page
    client.post(
        "/bureau/supply/failures",
        data={
            "csrf_token": csrf(client),
            "award_id": str(market.award.id),
            "region_code": "510100",
            "first_day": (NOW - timedelta(days=10)).date().isoformat(),
            "last_day": NOW.date().isoformat(),
            "note": "断供",
        },
    )
    assert session.scalar(select(func.count()).select_from(SupplyFailure)) == 1
    form = {
        "csrf_token": csrf(client),
        "item_id": str(market.award.item_id),
        "region_code": "510100",
        "to_award_id": str(backup_award.id),
        "supply_failure_id": "",
        "reason": "启用备供",
    }
    assert client.post("/bureau/supply/activations", data=form).status_code == 302
    assert session.scalar(select(func.count()).select_from(BackupActivation)) == 1
    client.post("/bureau/supply/activations", data={**form, "csrf_token": csrf(client)})
    assert session.scalar(select(func.count()).select_from(BackupActivation)) == 1
    page = client.get("/bureau/supply").get_data(as_text=True)
    assert "reversal" in page
