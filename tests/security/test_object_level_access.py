"""Object-level access (BOLA): another organization's orders, shipments, receipts, invoices,
settlement applications, statements and bids answer 404 — the same answer as an id that does not
exist, so existence does not leak — while their owner gets through."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.actors import OrgKind, Role
from core.organizations import User
from ledger import statements
from ledger.services import settlement
from tests.factories import actor_of, bearer, make_org, make_user
from tests.ledger.test_reconcile import FILED, PERIOD, Line
from tests.ordering import make_market
from tests.tendering import DURING_BIDDING


@pytest.fixture
def world(session: Session, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setattr("core.clock.now", lambda: FILED)
    market = make_market(session)
    line = Line(market, 10).place().accept().receive(8).invoice_all()
    application = settlement.file_application(
        session, market.distributor_actor, hospital_id=market.hospital.id, period_month=PERIOD, now=FILED
    )
    [statement] = statements.generate(
        session, market.world.bureau, period=PERIOD, as_of=FILED, now=FILED
    ).created
    other_maker = make_org(session, OrgKind.MANUFACTURER, region_code="510100")

    def h(actor: Any) -> dict[str, str]:
        return bearer(session, session.get_one(User, actor.user_id))

    return {
        "ids": {
            "order": line.order_id,
            "receipt": line.receipts[0].id,
            "shipment_line": line.receipts[0].shipment_line_id,
            "invoice_line": line.invoice.lines[0].id,  # type: ignore[union-attr]
            "application": application.id,
            "statement": statement.id,
        },
        "owner_hospital": h(market.hospital_actor),
        "other_hospital": h(market.other_hospital_actor),
        "owner_distributor": h(market.distributor_actor),
        "other_distributor": bearer(session, make_user(session, market.stranger_distributor, Role.OPERATOR)),
        "other_manufacturer": bearer(session, make_user(session, other_maker, Role.OPERATOR)),
        "market": market,
    }


FOREIGN_CALLS = [
    ("other_hospital", "GET", "/orders/{order}", None),
    ("other_hospital", "POST", "/orders/{order}/cancel", {"reason": "x"}),
    ("other_distributor", "GET", "/orders/{order}", None),
    ("other_distributor", "POST", "/orders/{order}/decision", {"accept": True}),
    (
        "other_distributor",
        "POST",
        "/orders/{order}/shipments",
        {"lines": [{"order_line_id": 1, "quantity": 1, "batch_no": "B1", "expiry_on": "2028-12-31"}]},
    ),
    ("other_hospital", "POST", "/shipment-lines/{shipment_line}/receipt", {"accepted_quantity": 1}),
    ("other_hospital", "POST", "/receipt-lines/{receipt}/returns", {"quantity": 1, "reason": "x"}),
    ("other_hospital", "POST", "/invoice-lines/{invoice_line}/decision", {"confirm": True}),
    ("other_hospital", "GET", "/settlement-applications/{application}", None),
    ("other_distributor", "GET", "/settlement-applications/{application}", None),
    ("other_hospital", "POST", "/settlement-applications/{application}/confirmation", {"disputes": []}),
    ("other_hospital", "GET", "/statements/{statement}", None),
    ("other_hospital", "GET", "/statements/{statement}/pdf", None),
    ("other_distributor", "GET", "/statements/{statement}", None),
    ("other_distributor", "POST", "/statements/{statement}/decision", {"confirm": True}),
]


def test_foreign_objects_answer_404_like_missing_ones(client: FlaskClient, world: dict[str, Any]) -> None:
    tried = 0
    for who, method, template, body in FOREIGN_CALLS:
        url = "/api/v1" + template.format(**world["ids"])
        response = client.open(url, method=method, json=body, headers=world[who])
        assert response.status_code == 404, (who, method, url, response.status_code, response.get_json())
        missing = client.open(
            "/api/v1" + template.format(**dict.fromkeys(world["ids"], 99999999)),
            method=method,
            json=body,
            headers=world[who],
        )
        assert missing.status_code in (404, 422), (who, method, template, missing.status_code)
        tried += 1
    print(f"object-level access: {tried} foreign-object calls, all 404")


def test_owners_reach_their_own_objects(client: FlaskClient, world: dict[str, Any]) -> None:
    ids = world["ids"]
    for who, url in (
        ("owner_hospital", f"/orders/{ids['order']}"),
        ("owner_distributor", f"/orders/{ids['order']}"),
        ("owner_hospital", f"/settlement-applications/{ids['application']}"),
        ("owner_hospital", f"/statements/{ids['statement']}"),
        ("owner_distributor", f"/statements/{ids['statement']}"),
    ):
        response = client.get("/api/v1" + url, headers=world[who])
        assert response.status_code == 200, (who, url, response.get_json())


def test_lists_never_include_foreign_rows(client: FlaskClient, world: dict[str, Any]) -> None:
    for url in (
        "/orders",
        "/shipment-lines",
        "/invoice-lines",
        "/settlement-applications",
        "/statements",
        "/reconciliation/lines",
        "/payments",
    ):
        response = client.get("/api/v1" + url, headers=world["other_hospital"])
        assert response.status_code == 200, (url, response.get_json())
        assert response.get_json() == [], url


def test_a_manufacturer_cannot_withdraw_another_manufacturers_bid(
    client: FlaskClient, session: Session, world: dict[str, Any]
) -> None:
    from bidding.models import BatchStatus
    from tests.tendering import DURING_DEMAND, TIMELINE, make_world

    bidding = make_world(session)
    bidding.to(BatchStatus.DEMAND_COLLECTION, DURING_DEMAND)
    bidding.to(BatchStatus.BIDDING, TIMELINE["demand_closes_at"])
    receipt = bidding.bid("A", bidding.items[0], "0.2000")
    session.commit()
    response = client.delete(f"/api/v1/bids/{receipt.bid.id}", headers=world["other_manufacturer"])
    assert response.status_code == 404
    owner = actor_of(session.get_one(User, bidding.actor(bidding.manufacturer("A")).user_id))
    assert owner.org_id == bidding.manufacturer("A").id
    assert TIMELINE["bid_closes_at"] > DURING_BIDDING
