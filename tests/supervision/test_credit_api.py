"""Credit linkage, payment standards and fund savings through the HTTP API: retried writes,
hostile input, who sees what, and what a listing shows beside its price."""

from __future__ import annotations

import io
from typing import Any

import openpyxl
import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bidding.models import CreditRating
from core.organizations import User
from ledger.models import ListingStatus
from ledger.supervision.credit_models import CreditSuspension
from tests.factories import bearer
from tests.flows import buy
from tests.ordering import NOW, Market, make_market
from tests.supervision.test_credit_fund_savings import DAY, priced_listing

TOP = {"cause": "bid_rigging_national_vbp", "amount": None}


@pytest.fixture
def market(session: Session, monkeypatch: pytest.MonkeyPatch) -> Market:
    monkeypatch.setattr("core.clock.now", lambda: NOW)
    return make_market(session)


def _headers(session: Session, actor: Any, **extra: str) -> dict[str, str]:
    return {**bearer(session, session.get_one(User, actor.user_id)), **extra}


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def _body(market: Market, **kw: Any) -> dict[str, Any]:
    maker = market.world.manufacturer("A")
    return {
        "enterprise_id": maker.id,
        "province_code": "510000",
        "product_ids": [],
        "effective_on": NOW.date().isoformat(),
        **TOP,
        **kw,
    }


def test_recording_suspends_once_and_repairing_restores_once(
    client: FlaskClient, session: Session, market: Market
) -> None:
    bureau = _headers(session, market.world.bureau, **{"Idempotency-Key": "rating-0001"})
    first = client.post("/api/v1/credit-ratings", json=_body(market), headers=bureau)
    assert first.status_code == 201, first.get_json()
    assert market.listing.id in first.get_json()["listing_ids"]
    counts = (_count(session, CreditRating), _count(session, CreditSuspension))
    again = client.post("/api/v1/credit-ratings", json=_body(market), headers=bureau)
    assert (again.status_code, again.get_json()["id"]) == (201, first.get_json()["id"])
    plain = _headers(session, market.world.bureau)
    retried = client.post("/api/v1/credit-ratings", json=_body(market), headers=plain)
    assert retried.status_code == 409
    assert (_count(session, CreditRating), _count(session, CreditSuspension)) == counts

    hospital = _headers(session, market.hospital_actor)
    shown = client.get("/api/v1/listings", query_string={"status": "suspended"}, headers=hospital).get_json()
    row = next(x for x in shown if x["id"] == market.listing.id)
    assert row["credit_grade"] == "particularly_serious"
    assert f"#{first.get_json()['id']}" in row["status_reason"]

    rating_id = first.get_json()["id"]
    competitor = _headers(session, market.world.actor(market.world.manufacturer("B")))
    path = f"/api/v1/credit-ratings/{rating_id}/suspensions"
    assert client.get(path, headers=competitor).status_code == 404
    assert len(client.get(path, headers=plain).get_json()) == counts[1]

    repair = f"/api/v1/credit-ratings/{rating_id}/repair"
    done = client.post(repair, json={"repaired_on": NOW.date().isoformat()}, headers=plain)
    assert done.status_code == 200, done.get_json()
    assert market.listing.id in done.get_json()["listing_ids"]
    twice = client.post(repair, json={"repaired_on": NOW.date().isoformat()}, headers=plain)
    assert twice.status_code == 409
    unknown = client.post(
        "/api/v1/credit-ratings/999999/repair", json={"repaired_on": NOW.date().isoformat()}, headers=plain
    )
    assert unknown.status_code == 404
    session.refresh(market.listing)
    assert market.listing.status is ListingStatus.LISTED
    listed = client.get("/api/v1/listings", query_string={"status": "listed"}, headers=hospital).get_json()
    row = next(x for x in listed if x["id"] == market.listing.id)
    assert (row["credit_grade"], row["credit_repaired"], row["payment_standard"]) == (None, True, "20.00")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"product_ids": [2**62]}, "product_ids"),
        ({"product_ids": [-1]}, "product_ids"),
        ({"enterprise_id": 2**70}, "enterprise_id"),
        ({"cause": "<script>alert(1)</script>"}, "cause"),
        ({"province_code": "51'; drop"}, "province_code"),
    ],
)
def test_hostile_ratings_name_the_field_and_change_nothing(
    client: FlaskClient, session: Session, market: Market, change: dict[str, Any], field: str
) -> None:
    before = (_count(session, CreditRating), _count(session, CreditSuspension))
    answer = client.post(
        "/api/v1/credit-ratings", json=_body(market, **change), headers=_headers(session, market.world.bureau)
    )
    assert answer.status_code == 422, answer.get_json()
    assert field in str(answer.get_json())
    assert (_count(session, CreditRating), _count(session, CreditSuspension)) == before


def test_payment_standard_and_fund_savings(client: FlaskClient, session: Session, market: Market) -> None:
    hospital = _headers(session, market.hospital_actor)
    std = client.get(
        "/api/v1/payment-standards",
        query_string={"product_id": market.award.product_id, "pack_price": "20.00"},
        headers=hospital,
    )
    assert std.status_code == 200, std.get_json()
    assert (std.get_json()["basis"], std.get_json()["payment_standard"]) == ("winning_price", "20.00")
    bad = client.get(
        "/api/v1/payment-standards", query_string={"product_id": 2**62, "pack_price": "1"}, headers=hospital
    )
    assert bad.status_code == 404

    cheap = priced_listing(market, 1500)
    buy(market, 10, on=DAY, listing=cheap)
    report = client.get("/api/v1/reports/fund-savings", query_string={"month": "2026-05"}, headers=hospital)
    assert report.status_code == 200
    assert report.get_json()["total"]["savings"] == "50.00"
    other = _headers(session, market.other_hospital_actor)
    theirs = client.get("/api/v1/reports/fund-savings", query_string={"month": "2026-05"}, headers=other)
    assert theirs.get_json()["rows"] == []  # a hospital sees its own only
    maker = _headers(session, market.world.actor(market.world.manufacturer("A")))
    assert (
        client.get(
            "/api/v1/reports/fund-savings", query_string={"month": "2026-05"}, headers=maker
        ).status_code
        == 403
    )
    sheet = client.get(
        "/api/v1/reports/fund-savings",
        query_string={"month": "2026-05", "format": "xlsx"},
        headers=_headers(session, market.world.bureau),
    )
    rows = list(openpyxl.load_workbook(io.BytesIO(sheet.data)).worksheets[0].values)
    assert rows[1][-1] == 50
    bad_month = client.get(
        "/api/v1/reports/fund-savings", query_string={"month": "2026-13"}, headers=hospital
    )
    assert bad_month.status_code == 422
    assert "month" in str(bad_month.get_json())
