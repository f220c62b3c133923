"""Supply guarantee through the HTTP API and the CLI: first read on GET /orders/{id}, out-of-stock
markings, supply failures and backup activations with their scoping, 422s naming the field and the
409 of a duplicate activation, the void endpoint and `flask supervision void-unshipped`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bidding.models import Award
from core.organizations import User
from ledger.models import Order
from ledger.services import ordering
from ledger.supervision.supply_models import BackupActivation, LineVoid, StockOut
from tests.factories import bearer
from tests.ordering import NOW, Market, make_market


@pytest.fixture
def market(session: Session, monkeypatch: pytest.MonkeyPatch) -> Market:
    monkeypatch.setattr("core.clock.now", lambda: NOW)
    return make_market(session)


def _h(session: Session, actor: Any) -> dict[str, str]:
    return bearer(session, session.get_one(User, actor.user_id))


def _accepted(m: Market) -> Order:
    order = m.order(10)
    ordering.decide_order(m.session, m.distributor_actor, order.id, accept=True, reason=None, now=NOW)  # type: ignore[attr-defined]
    return order  # type: ignore[return-value]


def test_the_distributors_get_records_the_first_read_and_the_hospitals_does_not(
    client: FlaskClient, session: Session, market: Market
) -> None:
    order = market.order(5)
    got = client.get(f"/api/v1/orders/{order.id}", headers=_h(session, market.hospital_actor))  # type: ignore[attr-defined]
    assert got.status_code == 200
    assert got.get_json()["first_read_at"] is None
    got = client.get(f"/api/v1/orders/{order.id}", headers=_h(session, market.distributor_actor))  # type: ignore[attr-defined]
    body = got.get_json()
    assert body["first_read_at"] is not None
    assert body["response_minutes"] is None
    session.expire_all()
    assert session.get_one(Order, order.id).first_read_by == market.distributor_actor.user_id  # type: ignore[attr-defined]


def test_out_of_stock_through_the_api(client: FlaskClient, session: Session, market: Market) -> None:
    order = _accepted(market)
    url = f"/api/v1/orders/{order.id}/lines/{order.lines[0].id}/out-of-stock"
    body = {"reason": "原料短缺", "expected_on": (NOW + timedelta(days=2)).date().isoformat()}
    assert client.post(url, json=body, headers=_h(session, market.hospital_actor)).status_code == 403
    bad = client.post(
        url, json={**body, "expected_on": "2000-01-01"}, headers=_h(session, market.distributor_actor)
    )
    assert bad.status_code == 422
    assert "expected_on" in str(bad.get_json())
    hostile = client.post(
        url, json={**body, "reason": "\u202e<script>"}, headers=_h(session, market.distributor_actor)
    )
    assert hostile.status_code == 422
    assert session.scalar(select(func.count()).select_from(StockOut)) == 0
    done = client.post(url, json=body, headers=_h(session, market.distributor_actor))
    assert done.status_code == 201, done.get_json()
    listed = client.get("/api/v1/stock-outs", headers=_h(session, market.hospital_actor)).get_json()
    assert [s["order_line_id"] for s in listed] == [order.lines[0].id]
    other = client.get("/api/v1/stock-outs", headers=_h(session, market.other_hospital_actor)).get_json()
    assert other == []


def test_supply_failures_and_activations_through_the_api(
    client: FlaskClient, session: Session, market: Market
) -> None:
    bureau = _h(session, market.world.bureau)
    body = {
        "award_id": market.award.id,
        "region_code": "510100",
        "first_day": (NOW - timedelta(days=30)).date().isoformat(),
        "last_day": NOW.date().isoformat(),
        "note": "多次拒单",
    }
    assert (
        client.post("/api/v1/supply-failures", json={**body, "award_id": -1}, headers=bureau).status_code
        == 422
    )
    created = client.post("/api/v1/supply-failures", json=body, headers=bureau)
    assert created.status_code == 201, created.get_json()
    failure_id = created.get_json()["id"]
    winner = market.world.actor(market.world.manufacturer("A"))
    rival = market.world.actor(market.world.manufacturer("B"))
    assert len(client.get("/api/v1/supply-failures", headers=_h(session, winner)).get_json()) == 1
    assert client.get("/api/v1/supply-failures", headers=_h(session, rival)).get_json() == []

    backup_award = session.scalars(select(Award).where(Award.id != market.award.id)).one()
    activation = {
        "item_id": market.award.item_id,
        "region_code": "510100",
        "to_award_id": backup_award.id,
        "from_award_id": market.award.id,
        "supply_failure_id": failure_id,
        "reason": "断供，启用备供",
    }
    wrong = client.post(
        "/api/v1/backup-activations", json={**activation, "to_award_id": market.award.id}, headers=bureau
    )
    assert wrong.status_code == 422
    assert "to_award_id" in str(wrong.get_json())
    first = client.post("/api/v1/backup-activations", json=activation, headers=bureau)
    assert first.status_code == 201, first.get_json()
    again = client.post("/api/v1/backup-activations", json=activation, headers=bureau)
    assert again.status_code == 409
    assert session.scalar(select(func.count()).select_from(BackupActivation)) == 1
    seen = client.get("/api/v1/backup-activations", headers=_h(session, market.hospital_actor)).get_json()
    assert [a["id"] for a in seen] == [first.get_json()["id"]]
    back = client.post(
        f"/api/v1/backup-activations/{first.get_json()['id']}/reversal",
        json={"reason": "恢复"},
        headers=bureau,
    )
    assert back.status_code == 201
    assert back.get_json()["reverses_id"] == first.get_json()["id"]


def test_void_endpoint_and_cli(client: FlaskClient, app: Flask, session: Session, market: Market) -> None:
    market.order(4)
    bureau = _h(session, market.world.bureau)
    assert (
        client.post(
            "/api/v1/supply/void-unshipped", json={}, headers=_h(session, market.hospital_actor)
        ).status_code
        == 403
    )
    today = client.post("/api/v1/supply/void-unshipped", json={}, headers=bureau)
    assert today.get_json()["packs"] == 0
    session.commit()
    result = app.test_cli_runner().invoke(
        args=["supervision", "void-unshipped", "--day", (NOW + timedelta(days=7)).date().isoformat()]
    )
    assert result.exit_code == 0, result.output
    assert "4" in result.output
    assert session.scalar(select(func.count()).select_from(LineVoid)) == 1
