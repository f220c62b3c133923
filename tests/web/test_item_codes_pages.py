"""The catalogue page and the hospital's item-code mapping page (upload, list, errors in Chinese)."""

import io

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bidding import catalogue
from core.organizations import User
from ledger.models import HospitalItemCode
from tests.ordering import NOW, Market, make_market
from tests.web.test_pages import csrf, web_login

DRUG = "XA01ABD075A002010100483"


@pytest.fixture
def market(session: Session, monkeypatch: pytest.MonkeyPatch) -> Market:
    monkeypatch.setattr("core.clock.now", lambda: NOW)
    market = make_market(session)
    catalogue.set_national_code(
        session, market.world.bureau, market.listing.product.id, national_code=DRUG, now=NOW
    )
    session.commit()
    return market


def _login(client: FlaskClient, session: Session, market: Market) -> None:
    user = session.get_one(User, market.hospital_actor.user_id)
    web_login(client, user.username)


def test_the_catalogue_page_finds_a_product_by_national_code_prefix(
    client: FlaskClient, session: Session, market: Market
) -> None:
    _login(client, session, market)
    found = client.get("/catalogue?q=XA01ABD").get_data(as_text=True)
    assert DRUG in found
    assert "产品目录" in found
    assert DRUG not in client.get("/catalogue?q=ZZ99").get_data(as_text=True)


def test_a_hospital_uploads_its_item_codes_on_its_page_all_or_nothing(
    client: FlaskClient, session: Session, market: Market
) -> None:
    _login(client, session, market)
    bad = "院内编码,国家医保编码\nH1,XA01ABD075A002010100484\n"
    response = client.post(
        "/hospital/item-codes",
        data={"csrf_token": csrf(client), "file": (io.BytesIO(bad.encode()), "m.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "第 2 行" in response.get_data(as_text=True)
    assert session.scalar(select(func.count(HospitalItemCode.id))) == 0
    good = f"院内编码,国家医保编码,院内名称\nH1,{DRUG},阿托伐他汀\n"
    response = client.post(
        "/hospital/item-codes",
        data={"csrf_token": csrf(client), "file": (io.BytesIO(good.encode()), "m.csv")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "已对照 1 个院内编码" in page
    assert "阿托伐他汀" in page
    assert DRUG in page
