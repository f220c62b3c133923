"""The warnings API: the bureau computes, lists, acknowledges and resolves; a party sees and
answers only its own; the drill-down never shows a record the caller is no party to; the report."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.organizations import User
from ledger.services import ordering
from ledger.services.ordering import ShipRequest
from ledger.supervision.models import SupervisionWarning
from tests.factories import bearer
from tests.flows import at
from tests.ordering import EXPIRY, Market, make_market

DAY = date(2026, 6, 1)
NOW = at(DAY + timedelta(days=8))


@pytest.fixture
def market(session: Session, monkeypatch: pytest.MonkeyPatch) -> Market:
    monkeypatch.setattr("core.clock.now", lambda: NOW)
    m = make_market(session)
    order = m.order(5, now=at(DAY))
    ordering.decide_order(session, m.distributor_actor, order.id, accept=True, reason=None, now=at(DAY))
    ordering.ship(
        session,
        m.distributor_actor,
        order.id,
        lines=[ShipRequest(order.lines[0].id, 5, "B1", EXPIRY)],
        now=at(DAY),
    )
    session.flush()
    return m


def _h(session: Session, actor: Any, **extra: str) -> dict[str, str]:
    return {**bearer(session, session.get_one(User, actor.user_id)), **extra}


def _receipt_warning(client: FlaskClient, headers: dict[str, str]) -> dict[str, Any]:
    (warning,) = client.get("/api/v1/warnings?rule=receipt_unconfirmed", headers=headers).get_json()
    return warning


def test_the_bureau_computes_and_parties_see_only_their_own(
    client: FlaskClient, session: Session, market: Market
) -> None:
    bureau = _h(session, market.world.bureau)
    first = client.post("/api/v1/warnings/compute", json={}, headers=bureau)
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["raised"]["receipt_unconfirmed"] == 1
    count = session.scalar(select(func.count()).select_from(SupervisionWarning))
    again = client.post("/api/v1/warnings/compute", json={}, headers=bureau)
    assert sum(again.get_json()["raised"].values()) == 0
    assert session.scalar(select(func.count()).select_from(SupervisionWarning)) == count

    hospital = _h(session, market.hospital_actor)
    mine = client.get("/api/v1/warnings?page_size=100", headers=hospital).get_json()
    assert mine
    assert {w["org_id"] for w in mine} == {market.hospital.id}
    warning = _receipt_warning(client, hospital)
    assert warning["rule_label"].startswith("到货未及时验收")

    detail = client.get(f"/api/v1/warnings/{warning['id']}", headers=hospital).get_json()
    kinds = {r["kind"] for r in detail["records"]}
    assert kinds == {"shipment", "shipment_line"}
    assert all(r["description"] for r in detail["records"])

    other = _h(session, market.other_hospital_actor)
    assert client.get("/api/v1/warnings?rule=receipt_unconfirmed", headers=other).get_json() == []
    assert client.get(f"/api/v1/warnings/{warning['id']}", headers=other).status_code == 404
    answer = client.post(f"/api/v1/warnings/{warning['id']}/answer", json={"answer": "x"}, headers=other)
    assert answer.status_code == 404
    distributor = _h(session, market.distributor_actor)
    assert client.get(f"/api/v1/warnings/{warning['id']}", headers=distributor).status_code == 404

    heard = client.get("/api/v1/messages?page_size=100", headers=hospital).get_json()
    assert {"warning", warning["id"]} <= {
        v for m in heard if m["kind"] == "warning_raised" for v in (m["link_kind"], m["link_id"])
    }
    theirs = client.get("/api/v1/messages?page_size=100", headers=other).get_json()
    assert warning["id"] not in {m["link_id"] for m in theirs if m["link_kind"] == "warning"}

    summary = client.get("/api/v1/warnings/summary", headers=bureau).get_json()
    assert summary["by_state"]["raised"] == count
    other_summary = client.get("/api/v1/warnings/summary", headers=other).get_json()
    assert all(r["org_id"] != market.hospital.id for r in other_summary["rows"] if "org_id" in r)
    assert not any(r["rule"] == "receipt_unconfirmed" for r in other_summary["rows"])


def test_acknowledge_resolve_and_answer(client: FlaskClient, session: Session, market: Market) -> None:
    bureau = _h(session, market.world.bureau)
    client.post("/api/v1/warnings/compute", json={"rules": ["receipt_unconfirmed"]}, headers=bureau)
    warning = _receipt_warning(client, bureau)
    url = f"/api/v1/warnings/{warning['id']}"

    hospital = _h(session, market.hospital_actor)
    assert client.post(f"{url}/acknowledge", headers=hospital).status_code == 403
    answered = client.post(f"{url}/answer", json={"answer": "已联系配送企业"}, headers=hospital)
    assert (answered.status_code, answered.get_json()["answer"]) == (200, "已联系配送企业")
    assert client.post(f"{url}/answer", json={"answer": ""}, headers=hospital).status_code == 422

    keyed = _h(session, market.world.bureau, **{"Idempotency-Key": "ack-1"})
    ack = client.post(f"{url}/acknowledge", headers=keyed)
    assert (ack.status_code, ack.get_json()["state"]) == (200, "acknowledged")
    assert client.post(f"{url}/acknowledge", headers=keyed).get_json() == ack.get_json()  # replayed
    assert client.post(f"{url}/acknowledge", headers=bureau).status_code == 409

    missing = client.post(f"{url}/resolve", json={}, headers=bureau)
    assert missing.status_code == 422
    assert "note" in str(missing.get_json())
    blank = client.post(f"{url}/resolve", json={"note": "   "}, headers=bureau)
    assert blank.status_code == 422
    done = client.post(f"{url}/resolve", json={"note": "医院已验收"}, headers=bureau)
    assert (done.status_code, done.get_json()["state"]) == (200, "resolved")
    assert client.post(f"{url}/resolve", json={"note": "again"}, headers=bureau).status_code == 409
    assert client.post(f"{url}/answer", json={"answer": "late"}, headers=hospital).status_code == 409


def test_bad_filters_and_unknown_ids_name_the_field(
    client: FlaskClient, session: Session, market: Market
) -> None:
    bureau = _h(session, market.world.bureau)
    for query, field in (
        ("rule=no_such_rule", "rule"),
        ("state=open", "state"),
        ("severity=huge", "severity"),
        ("region=ab%3Cx%3E1", "region"),
        ("org_id=-5", "org_id"),
    ):
        response = client.get(f"/api/v1/warnings?{query}", headers=bureau)
        assert response.status_code == 422, query
        assert field in str(response.get_json()), query
    assert client.get("/api/v1/warnings/999999999", headers=bureau).status_code == 404
    assert client.get(f"/api/v1/warnings/{10**30}", headers=bureau).status_code == 404
    huge = client.post(f"/api/v1/warnings/{10**30}/resolve", json={"note": "x"}, headers=bureau)
    assert huge.status_code == 404
    compute = client.post("/api/v1/warnings/compute", json={"rules": ["<script>"]}, headers=bureau)
    assert compute.status_code == 422
    assert session.scalar(select(func.count()).select_from(SupervisionWarning)) == 0


def test_rules_and_the_monthly_report(client: FlaskClient, session: Session, market: Market) -> None:
    bureau = _h(session, market.world.bureau)
    rules = {r["code"]: r for r in client.get("/api/v1/warnings/rules", headers=bureau).get_json()}
    assert rules["receipt_unconfirmed"]["thresholds"] == {"receipt_unconfirmed_days": 7}
    assert {"non_winner_share", "volume_lag", "implausibly_fast"} <= set(rules)
    client.post("/api/v1/warnings/compute", json={}, headers=bureau)
    pdf = client.get("/api/v1/reports/supervision?month=2026-06&format=pdf", headers=bureau)
    assert (pdf.status_code, pdf.mimetype) == (200, "application/pdf")
    assert pdf.data.startswith(b"%PDF")
    xlsx = client.get("/api/v1/reports/supervision?month=2026-06&format=xlsx", headers=bureau)
    assert xlsx.status_code == 200
    assert xlsx.data[:2] == b"PK"
    assert client.get("/api/v1/reports/supervision?month=2026-13", headers=bureau).status_code == 422
    hospital = _h(session, market.hospital_actor)
    assert client.get("/api/v1/reports/supervision?month=2026-06", headers=hospital).status_code == 403
