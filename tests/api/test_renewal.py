"""Renewal (续标) and agreements through the HTTP API and the CLI: create once (409 the second
time), incumbents, carry-over refused with its reason, agreements scoped and paginated."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bidding.models import Bid, ProcurementBatch
from core.actors import OrgKind, Role
from core.organizations import Organization
from tests.factories import bearer, make_org, make_user
from tests.renewal import R0, R_DURING_BIDDING, RENEWAL_TIMELINE, published_world, to_bidding
from tests.tendering import World

BODY = {k: v.isoformat() for k, v in RENEWAL_TIMELINE.items()}


@pytest.fixture
def now_at(monkeypatch: pytest.MonkeyPatch) -> Any:
    state = {"now": R0 - timedelta(days=1)}
    monkeypatch.setattr("core.clock.now", lambda: state["now"])

    def set_now(value: datetime) -> None:
        state["now"] = value

    return set_now


def _headers(session: Session, org: Organization, role: Role = Role.OPERATOR) -> dict[str, str]:
    return bearer(session, make_user(session, org, role))


def _bureau(session: Session, world: World) -> dict[str, str]:
    return _headers(session, session.get_one(Organization, world.bureau.org_id))


def _renew(client: FlaskClient, headers: dict[str, str], batch_id: int, **extra: Any) -> Any:
    return client.post(f"/api/v1/batches/{batch_id}/renewal", json={**BODY, **extra}, headers=headers)


def test_the_bureau_creates_the_renewal_once_and_a_second_is_409(
    client: FlaskClient, session: Session, now_at: Any
) -> None:
    world = published_world(session)
    bureau = _bureau(session, world)
    first = _renew(client, bureau, world.batch.id, rule_overrides={"renewal_ceiling": "lowest_winning"})
    assert first.status_code == 201, first.get_json()
    body = first.get_json()
    assert (body["renews_batch_id"], body["status"], body["cycle_start_on"], body["cycle_end_on"]) == (
        world.batch.id,
        "draft",
        "2027-05-01",
        "2028-04-30",
    )
    items = client.get(f"/api/v1/batches/{body['id']}/items", headers=bureau).get_json()
    assert [i["ceiling_price"] for i in items] == ["0.2000"]
    second = _renew(client, bureau, world.batch.id, name="再次续标")
    assert second.status_code == 409
    assert second.get_json()["error"]["code"] == "already_renewed"


def test_bad_renewal_input_is_422_naming_the_field_and_writes_nothing(
    client: FlaskClient, session: Session, now_at: Any
) -> None:
    world = published_world(session)
    bureau = _bureau(session, world)
    typed_start = _renew(client, bureau, world.batch.id, cycle_start_on="2027-06-01")
    assert typed_start.status_code == 422
    assert "cycle_start_on" in typed_start.get_json()["error"]["fields"]
    disordered = _renew(client, bureau, world.batch.id, bid_closes_at=BODY["bid_opens_at"])
    assert disordered.status_code == 422
    assert "bid_closes_at" in disordered.get_json()["error"]["fields"]
    unknown_rule = _renew(client, bureau, world.batch.id, rule_overrides={"renewal_ceiling": "median"})
    assert unknown_rule.status_code == 422
    assert session.scalar(select(func.count()).select_from(ProcurementBatch)) == 1


def test_only_bureau_operators_create_a_renewal(client: FlaskClient, session: Session, now_at: Any) -> None:
    world = published_world(session)
    hospital = _headers(session, world.hospitals[0])
    assert _renew(client, hospital, world.batch.id).status_code == 403
    auditor = _headers(session, session.get_one(Organization, world.bureau.org_id), Role.AUDITOR)
    assert _renew(client, auditor, world.batch.id).status_code == 403


def test_incumbents_and_carry_over_with_its_refusals(
    client: FlaskClient, session: Session, now_at: Any
) -> None:
    world = published_world(session)
    new_id = _renew(client, _bureau(session, world), world.batch.id).get_json()["id"]
    new = session.get_one(ProcurementBatch, new_id)
    to_bidding(world, new)
    item_id = new.items[0].id
    now_at(R_DURING_BIDDING)
    maker_a = _headers(session, world.manufacturer("A"))
    incumbents = client.get(f"/api/v1/batches/{new_id}/incumbents", headers=maker_a).get_json()
    names = {o.id: k for k, o in world.manufacturers.items()}
    assert {names[i["manufacturer_id"]]: (i["may_carry_over"], i["refusal_code"]) for i in incumbents} == {
        "A": (True, None),
        "B": (True, None),
        "C": (False, "above_spread_line"),
        "D": (False, "above_spread_line"),
    }
    assert {i["pack_price"] for i in incumbents if names[i["manufacturer_id"]] == "A"} == {"20.00"}

    url = f"/api/v1/batches/{new_id}/items/{item_id}/carry-over"
    keyed = {**maker_a, "Idempotency-Key": "carry-a-1"}
    first = client.post(url, json={}, headers=keyed)
    assert first.status_code == 201, first.get_json()
    replay = client.post(url, json={}, headers=keyed)
    assert replay.get_json()["bid"]["id"] == first.get_json()["bid"]["id"]
    assert "pack_price" not in first.get_json()["bid"]  # sealed: no price in the receipt
    bid = session.get_one(Bid, first.get_json()["bid"]["id"])
    assert bid.carried_over_award_id is not None

    above = client.post(url, json={}, headers=_headers(session, world.manufacturer("C")))
    assert above.status_code == 422
    assert above.get_json()["error"]["code"] == "above_spread_line"
    stranger = client.post(url, json={}, headers=_headers(session, world.manufacturer("G")))
    assert stranger.status_code == 422
    assert stranger.get_json()["error"]["code"] == "not_incumbent"
    hospital = client.post(url, json={}, headers=_headers(session, world.hospitals[0]))
    assert hospital.status_code == 403
    assert session.scalar(select(func.count()).where(Bid.batch_id == new_id)) == 1


def test_agreements_are_scoped_paginated_and_filtered(
    client: FlaskClient, session: Session, now_at: Any
) -> None:
    world = published_world(session)
    bureau = _bureau(session, world)
    everything = client.get("/api/v1/agreements?page_size=100", headers=bureau)
    assert everything.status_code == 200
    rows = everything.get_json()
    assert rows
    assert {r["cycle_year"] for r in rows} == {1}
    assert {(r["first_day"], r["last_day"]) for r in rows} == {("2026-05-01", "2027-04-30")}
    page = client.get("/api/v1/agreements?page_size=1&page=2", headers=bureau)
    assert len(page.get_json()) == 1
    assert page.get_json()[0] == rows[1]
    assert json.loads(page.headers["X-Pagination"])["total"] == len(rows)

    hospital = world.hospitals[0]
    own = client.get("/api/v1/agreements", headers=_headers(session, hospital)).get_json()
    assert own
    assert {r["hospital_id"] for r in own} == {hospital.id}
    maker = world.manufacturer("A")
    theirs = client.get("/api/v1/agreements", headers=_headers(session, maker)).get_json()
    assert {r["manufacturer_id"] for r in theirs} == {maker.id}
    stranger = make_org(session, OrgKind.HOSPITAL)
    assert client.get("/api/v1/agreements", headers=_headers(session, stranger)).get_json() == []
    distributor = make_org(session, OrgKind.DISTRIBUTOR)
    assert client.get("/api/v1/agreements", headers=_headers(session, distributor)).status_code == 403

    assert client.get("/api/v1/agreements?year=2028", headers=bureau).get_json() == []
    assert client.get(f"/api/v1/agreements?batch_id={world.batch.id + 999}", headers=bureau).get_json() == []
    assert client.get("/api/v1/agreements?year=soon", headers=bureau).status_code == 422


def test_the_openapi_document_describes_the_renewal_endpoints(client: FlaskClient) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in (
        "/api/v1/batches/{batch_id}/renewal",
        "/api/v1/batches/{batch_id}/incumbents",
        "/api/v1/batches/{batch_id}/items/{item_id}/carry-over",
        "/api/v1/agreements",
    ):
        assert path in paths


def test_flask_batch_renew_creates_the_renewal_and_refuses_a_second(
    app: Flask, session: Session, now_at: Any
) -> None:
    world = published_world(session)
    runner = app.test_cli_runner()
    args = [
        "batch",
        "renew",
        str(world.batch.id),
        "--name",
        "测试批次续标",
        "--demand-opens",
        "2026-12-27T09:00",
        "--demand-closes",
        "2027-01-01T09:00",
        "--bid-opens",
        "2027-01-02T09:00",
        "--bid-closes",
        "2027-01-04T09:00",
        "--opening",
        "2027-01-04T10:00",
        "--cycle-end",
        "2029-04-30",
        "--carry-over",
        "none",
    ]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "2027-05-01 – 2029-04-30" in result.output
    new = session.scalars(
        select(ProcurementBatch).where(ProcurementBatch.renews_batch_id == world.batch.id)
    ).one()
    assert (new.name, new.rules["renewal_carry_over"]) == ("测试批次续标", "none")
    assert new.demand_opens_at == datetime(2026, 12, 27, 1, 0, tzinfo=UTC)  # 09:00 China time
    again = runner.invoke(args=args)
    assert again.exit_code == 1
    assert "already_renewed" in again.output
