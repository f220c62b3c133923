"""The credit pages through the test client: the bureau records a rating (its listing suspended,
shown with the grade beside the price) and repairs it; a bad form changes nothing; fund savings
for a hospital, and a manufacturer refused."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bidding.models import CreditRating
from core.organizations import User
from ledger.models import ListingStatus
from tests.flows import buy
from tests.ordering import Market, make_market
from tests.supervision.test_credit_fund_savings import DAY, priced_listing
from tests.web.test_pages import csrf, web_login


def _client(app: Flask, session: Session, user_id: int | None) -> FlaskClient:
    session.commit()
    client = app.test_client()
    web_login(client, session.get_one(User, user_id).username)
    return client


def _ratings(session: Session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(CreditRating)) or 0


def test_the_bureau_records_and_repairs_a_rating_by_the_form(app: Flask, session: Session) -> None:
    market: Market = make_market(session)
    client = _client(app, session, market.world.bureau.user_id)
    maker = market.world.manufacturer("A")
    form = {
        "csrf_token": csrf(client),
        "enterprise_id": str(maker.id),
        "province_code": "510000",
        "cause": "bribery",
        "amount": "600000",
        "product_ids": f"{market.listing.product_id}",
        "effective_on": "2026-05-10",
    }
    bad = client.post("/bureau/credit-ratings", data=form | {"product_ids": "1, x"})
    assert bad.status_code == 422
    assert _ratings(session) == 0
    answer = client.post("/bureau/credit-ratings", data=form, follow_redirects=True)
    assert answer.status_code == 200
    assert "暂停挂网 1 条" in answer.get_data(as_text=True)
    session.refresh(market.listing)
    assert market.listing.status is ListingStatus.SUSPENDED
    listed = client.get("/bureau/listings", query_string={"status": "suspended"}).get_data(as_text=True)
    assert "严重失信" in listed
    assert "联动暂停" in listed

    rating = session.scalars(select(CreditRating)).one()
    repaired = client.post(
        f"/bureau/credit-ratings/{rating.id}/repair",
        data={"csrf_token": csrf(client), "repaired_on": "2026-05-11"},
        follow_redirects=True,
    )
    assert "恢复挂网或配送授权 1 条" in repaired.get_data(as_text=True)
    session.refresh(market.listing)
    assert market.listing.status is ListingStatus.LISTED


def test_fund_savings_page_for_a_hospital_not_for_a_manufacturer(app: Flask, session: Session) -> None:
    market = make_market(session)
    buy(market, 10, on=DAY, listing=priced_listing(market, 1500))
    hospital = _client(app, session, market.hospital_actor.user_id)
    page = hospital.get("/fund-savings", query_string={"month": "2026-05"})
    assert page.status_code == 200
    assert "50.00" in page.get_data(as_text=True)
    sheet = hospital.get("/fund-savings.xlsx", query_string={"month": "2026-05"})
    assert sheet.status_code == 200
    assert sheet.data[:2] == b"PK"
    maker = _client(app, session, market.world.actor(market.world.manufacturer("A")).user_id)
    assert maker.get("/fund-savings").status_code == 403
