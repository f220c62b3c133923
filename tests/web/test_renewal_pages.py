"""Renewal (续标) in the pages, through the test client: the bureau creates the renewal from the
expiring batch's page (links both ways), an incumbent keeps its price with one button while
another is told why it must bid again, agreements per cycle year, expiry flags on the home page."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bidding.models import Bid, ProcurementBatch
from core import clock
from core.actors import OrgKind, Role
from core.organizations import Organization
from tests.factories import make_org, make_user
from tests.renewal import R0, R_DURING_BIDDING, published_world, to_bidding
from tests.tendering import World
from tests.web.test_pages import csrf, web_login


@pytest.fixture
def now_at(monkeypatch: pytest.MonkeyPatch) -> Any:
    state = {"now": R0 - timedelta(days=1)}
    monkeypatch.setattr("core.clock.now", lambda: state["now"])

    def set_now(value: datetime) -> None:
        state["now"] = value

    return set_now


def _client(app: Flask, session: Session, org: Organization, role: Role = Role.OPERATOR) -> FlaskClient:
    user = make_user(session, org, role)
    session.commit()
    client = app.test_client()
    web_login(client, user.username)
    return client


def _text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def _renewal_form(client: FlaskClient) -> dict[str, str]:
    return {
        "csrf_token": csrf(client),
        "name": "测试批次续标",
        "demand_opens_at": "2026-12-27T09:00",
        "demand_closes_at": "2027-01-01T09:00",
        "bid_opens_at": "2027-01-02T09:00",
        "bid_closes_at": "2027-01-04T09:00",
        "opening_at": "2027-01-04T10:00",
        "ceiling": "highest_winning",
        "carry_over": "within_spread",
    }


def _bureau(app: Flask, session: Session, world: World) -> FlaskClient:
    return _client(app, session, session.get_one(Organization, world.bureau.org_id))


def test_the_bureau_creates_the_renewal_from_the_batch_page_and_both_pages_link(
    app: Flask, session: Session, now_at: Any
) -> None:
    world = published_world(session)
    bureau = _bureau(app, session, world)
    page = _text(bureau.get(f"/bureau/batches/{world.batch.id}"))
    assert "创建续标批次" in page
    assert 'id="renewal-form"' in page
    bad = bureau.post(
        f"/bureau/batches/{world.batch.id}/renewal",
        data={**_renewal_form(bureau), "opening_at": "2027-01-03T09:00"},
    )
    assert bad.status_code == 302  # back to the batch, with the reason shown; nothing created
    assert (
        session.scalars(select(ProcurementBatch).where(ProcurementBatch.renews_batch_id.is_not(None))).all()
        == []
    )
    created = bureau.post(
        f"/bureau/batches/{world.batch.id}/renewal", data=_renewal_form(bureau), follow_redirects=True
    )
    assert created.status_code == 200
    new = session.scalars(
        select(ProcurementBatch).where(ProcurementBatch.renews_batch_id == world.batch.id)
    ).one()
    text = _text(created)
    assert "续标批次 测试批次续标 已创建" in text
    assert 'id="renews-link"' in text
    assert new.cycle_start_on == date(2027, 5, 1)
    old_page = _text(bureau.get(f"/bureau/batches/{world.batch.id}"))
    assert 'id="renewed-by-link"' in old_page
    assert 'id="renewal-form"' not in old_page  # one renewal per batch
    hospital = _client(app, session, world.hospitals[0])
    assert (
        hospital.post(f"/bureau/batches/{world.batch.id}/renewal", data=_renewal_form(hospital)).status_code
        == 403
    )


def test_an_incumbent_renews_at_its_winning_price_and_another_is_told_to_bid_again(
    app: Flask, session: Session, now_at: Any
) -> None:
    world = published_world(session)
    bureau = _bureau(app, session, world)
    bureau.post(f"/bureau/batches/{world.batch.id}/renewal", data=_renewal_form(bureau))
    new = session.scalars(
        select(ProcurementBatch).where(ProcurementBatch.renews_batch_id == world.batch.id)
    ).one()
    to_bidding(world, new)
    now_at(R_DURING_BIDDING)
    maker_a = _client(app, session, world.manufacturer("A"))
    page = _text(maker_a.get(f"/enterprise/batches/{new.id}"))
    assert "按原中选价续约" in page
    assert "20.00" in page  # A's expiring pack price (100 × 0.2000)
    item_id = new.items[0].id
    answer = maker_a.post(
        f"/enterprise/batches/{new.id}/items/{item_id}/carry-over", data={"csrf_token": csrf(maker_a)}
    )
    assert answer.status_code == 201
    assert 'id="receipt-digest"' in _text(answer)
    bid = session.scalars(select(Bid).where(Bid.batch_id == new.id)).one()
    assert bid.carried_over_award_id is not None

    maker_c = _client(app, session, world.manufacturer("C"))
    page_c = _text(maker_c.get(f"/enterprise/batches/{new.id}"))
    assert "原中选价高于价差线" in page_c
    assert "按原中选价续约</button>" not in page_c
    refused = maker_c.post(
        f"/enterprise/batches/{new.id}/items/{item_id}/carry-over", data={"csrf_token": csrf(maker_c)}
    )
    assert refused.status_code == 302
    assert session.scalars(select(Bid).where(Bid.batch_id == new.id)).all() == [bid]
    stranger = _client(app, session, world.manufacturer("G"))
    assert "按原中选价续约" not in _text(stranger.get(f"/enterprise/batches/{new.id}"))


def test_agreements_page_lists_each_partys_own_agreements_per_cycle_year(
    app: Flask, session: Session, now_at: Any
) -> None:
    world = published_world(session)
    hospital = world.hospitals[0]
    page = _text(_client(app, session, hospital).get("/agreements"))
    assert "采购协议" in page
    assert "测试批次" in page
    assert page.count('data-year="1"') >= 1
    other = world.hospitals[1]
    assert org_name_in(page, session, hospital)
    assert not org_name_in(page, session, other)
    stranger = _text(_client(app, session, make_org(session, OrgKind.HOSPITAL)).get("/agreements"))
    assert "暂无采购协议" in stranger
    bureau_page = _text(_bureau(app, session, world).get(f"/agreements?batch_id={world.batch.id}&year=2027"))
    assert org_name_in(bureau_page, session, other)
    distributor = _client(app, session, make_org(session, OrgKind.DISTRIBUTOR))
    assert distributor.get("/agreements").status_code == 403


def org_name_in(page: str, session: Session, org: Organization) -> bool:
    return session.get_one(Organization, org.id).name in page


def test_expiring_agreements_show_on_the_home_pages(app: Flask, session: Session, now_at: Any) -> None:
    world = published_world(session)
    now_at(clock.local(date(2027, 4, 30) - timedelta(days=90), time(12)))
    hospital_home = _text(_client(app, session, world.hospitals[0]).get("/"))
    assert 'data-deadline="agreement_expiring"' in hospital_home
    assert "采购协议即将到期" in hospital_home
    assert "第1采购年度" in hospital_home
    bureau_home = _text(_bureau(app, session, world).get("/"))
    assert "请创建续标批次" in bureau_home
    now_at(clock.local(date(2027, 4, 30) - timedelta(days=91), time(12)))
    early = _text(_client(app, session, world.hospitals[0]).get("/"))
    assert 'data-deadline="agreement_expiring"' not in early
