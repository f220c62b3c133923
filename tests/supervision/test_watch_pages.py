"""The warning pages: the bureau's dashboard, list, warning page, acknowledge and resolve forms and
the report files; a party's own warnings with the answer form, and nobody else's."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.organizations import User
from ledger.services import ordering
from ledger.services.ordering import ShipRequest
from ledger.supervision.models import SupervisionWarning, WarningState
from ledger.supervision.settings import DEFAULTS
from ledger.supervision.warnings import compute_warnings
from tests.flows import at
from tests.ordering import EXPIRY, Market, make_market
from tests.web.test_pages import csrf, web_login

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
    compute_warnings(session, now=NOW, settings=DEFAULTS, rules=["receipt_unconfirmed"])
    session.commit()
    return m


def _client(app: Flask, session: Session, user_id: int | None) -> FlaskClient:
    client = app.test_client()
    web_login(client, session.get_one(User, user_id).username)
    return client


def _warning(session: Session) -> SupervisionWarning:
    return session.scalars(
        select(SupervisionWarning).where(SupervisionWarning.rule == "receipt_unconfirmed")
    ).one()


def test_the_bureau_works_a_warning_through_its_pages(app: Flask, session: Session, market: Market) -> None:
    bureau = _client(app, session, market.world.bureau.user_id)
    home = bureau.get("/").get_data(as_text=True)
    assert "/supervision" in home
    board = bureau.get("/supervision")
    assert board.status_code == 200
    text = board.get_data(as_text=True)
    assert "到货未及时验收" in text
    assert "/warnings?rule=receipt_unconfirmed" in text
    listed = bureau.get("/warnings?rule=receipt_unconfirmed&state=raised").get_data(as_text=True)
    warning = _warning(session)
    assert f'data-warning="{warning.id}"' in listed
    assert bureau.get("/warnings?rule=<script>&region=abc").status_code == 200  # bad filters ignored
    detail = bureau.get(f"/warnings/{warning.id}").get_data(as_text=True)
    assert "待验收" in detail  # the shipment line's state in words

    bureau.post(f"/warnings/{warning.id}/acknowledge", data={"csrf_token": csrf(bureau)})
    session.expire_all()
    assert _warning(session).state is WarningState.ACKNOWLEDGED
    bureau.post(f"/warnings/{warning.id}/resolve", data={"csrf_token": csrf(bureau), "note": "  "})
    session.expire_all()
    assert _warning(session).state is WarningState.ACKNOWLEDGED  # a blank note changes nothing
    bureau.post(f"/warnings/{warning.id}/resolve", data={"csrf_token": csrf(bureau), "note": "已督促验收"})
    session.expire_all()
    assert _warning(session).state is WarningState.RESOLVED

    pdf = bureau.get("/supervision/report.pdf?month=2026-06")
    assert (pdf.status_code, pdf.data[:4]) == (200, b"%PDF")
    assert bureau.get("/supervision/report.xlsx?month=2026-06").data[:2] == b"PK"
    assert bureau.get("/supervision/report.pdf?month=junk").status_code == 404


def test_a_party_sees_and_answers_its_own_only(app: Flask, session: Session, market: Market) -> None:
    warning = _warning(session)
    hospital = _client(app, session, market.hospital_actor.user_id)
    assert "/warnings" in hospital.get("/").get_data(as_text=True)
    mine = hospital.get("/warnings").get_data(as_text=True)
    assert f'data-warning="{warning.id}"' in mine
    assert hospital.get("/supervision").status_code == 403
    assert hospital.get(f"/warnings/{warning.id}").status_code == 403
    hospital.post(f"/warnings/{warning.id}/answer", data={"csrf_token": csrf(hospital), "answer": "今日验收"})
    session.expire_all()
    assert _warning(session).answer == "今日验收"

    other = _client(app, session, market.other_hospital_actor.user_id)
    assert f'data-warning="{warning.id}"' not in other.get("/warnings").get_data(as_text=True)
    response = other.post(f"/warnings/{warning.id}/answer", data={"csrf_token": csrf(other), "answer": "x"})
    assert response.status_code in (302, 404)
    session.expire_all()
    assert _warning(session).answer == "今日验收"
