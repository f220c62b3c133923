"""The hospital's working day through the test client: bulk receipt and invoice confirmation (all or
nothing, a refused row named as people count it), the product on every line, settlement
applications confirmed or disputed, the receipt slip. The order and demand forms:
test_hospital_order_pages.py."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.actors import Role
from ledger.models import InvoiceLine, Order, ReceiptLine
from tests.factories import make_user
from tests.flows import Bought, buy, invoice
from tests.ordering import NOW, Market, make_market
from tests.web.test_pages import csrf, web_login


@pytest.fixture
def clock_at_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("core.clock.now", lambda: NOW + timedelta(days=1))


def hospital_client(app: Flask, session: Session, market: Market, role: Role = Role.OPERATOR) -> FlaskClient:
    user = make_user(session, market.hospital, role)
    session.commit()
    client = app.test_client()
    web_login(client, user.username)
    return client


def shipped(market: Market, *quantities: int) -> list[int]:
    """One order and shipment per quantity; the shipment line ids."""
    ids = []
    for quantity in quantities:
        order: Any = market.order(quantity)
        shipment: Any = market.accept_and_ship(order.id, quantity)
        ids.append(shipment.lines[0].id)
    return ids


def test_deliveries_show_the_product_and_are_confirmed_in_bulk_all_or_nothing(
    app: Flask, session: Session, clock_at_now: None
) -> None:
    market = make_market(session)
    first, second = shipped(market, 10, 4)
    client = hospital_client(app, session, market)
    page = client.get("/hospital/deliveries").get_data(as_text=True)
    product = market.listing.product
    assert product.generic_name in page
    assert product.spec_text in page
    assert 'data-confirm="' in page
    assert "/hospital/deliveries/confirm" in page

    form = {
        "csrf_token": csrf(client),
        "pick": [str(first), str(second)],
        f"row-{first}": "1",
        f"row-{second}": "2",
        f"accepted-{first}": "7",
        f"rejected-{first}": "3",
        f"reason-{first}": "damaged",
        f"accepted-{second}": "4",
        f"rejected-{second}": "1",  # 4 + 1 ≠ 4 shipped
    }
    response = client.post("/hospital/deliveries/confirm", data=form)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "第 2 行" in text
    assert 'value="7"' in text
    assert "checked" in text
    assert session.scalar(select(func.count()).select_from(ReceiptLine)) == 0  # row 1 not kept either

    response = client.post("/hospital/deliveries/confirm", data=form | {f"rejected-{second}": "0"})
    assert response.status_code == 302
    receipts = {r.shipment_line_id: r for r in session.scalars(select(ReceiptLine))}
    assert (receipts[first].accepted_quantity, receipts[first].rejected_quantity) == (7, 3)
    assert receipts[first].reason_code == "damaged"
    assert (receipts[second].accepted_quantity, receipts[second].rejected_quantity) == (4, 0)


def test_bulk_receipt_refuses_another_hospitals_delivery_and_keeps_nothing(
    app: Flask, session: Session, clock_at_now: None
) -> None:
    market = make_market(session)
    (mine,) = shipped(market, 5)
    # The other hospital's delivery, by the same distributor.
    from ledger.services import ordering

    other = ordering.place_orders(
        session,
        market.other_hospital_actor,
        distributor_id=market.distributor.id,
        lines=[ordering.LineRequest(market.listing.id, 3)],
        urgency=ordering.Urgency.NORMAL,
        now=NOW,
    )
    foreign: Any = market.accept_and_ship(other.id, 3)
    client = hospital_client(app, session, market)
    assert f"shipment-line-{foreign.lines[0].id}" not in client.get("/hospital/deliveries").get_data(
        as_text=True
    )
    form = {
        "csrf_token": csrf(client),
        "pick": [str(mine), str(foreign.lines[0].id)],
        f"row-{mine}": "1",
        f"accepted-{mine}": "5",
        f"accepted-{foreign.lines[0].id}": "3",
    }
    response = client.post("/hospital/deliveries/confirm", data=form)
    assert response.status_code == 422
    assert session.scalar(select(func.count()).select_from(ReceiptLine)) == 0


def test_nothing_ticked_is_refused(app: Flask, session: Session, clock_at_now: None) -> None:
    market = make_market(session)
    shipped(market, 2)
    client = hospital_client(app, session, market)
    response = client.post("/hospital/deliveries/confirm", data={"csrf_token": csrf(client)})
    assert response.status_code == 422
    assert session.scalar(select(func.count()).select_from(ReceiptLine)) == 0


def test_auditors_may_not_confirm_in_bulk(app: Flask, session: Session, clock_at_now: None) -> None:
    market = make_market(session)
    (line,) = shipped(market, 2)
    client = hospital_client(app, session, market, Role.AUDITOR)
    form = {"csrf_token": csrf(client), "pick": str(line), f"accepted-{line}": "2"}
    assert client.post("/hospital/deliveries/confirm", data=form).status_code == 403
    assert client.post("/invoice-lines/confirm", data={"csrf_token": csrf(client)}).status_code == 403


def pending_invoices(market: Market, count: int) -> list[InvoiceLine]:
    day = NOW.date()
    lines = []
    for _ in range(count):
        bought: Bought = buy(market, 3, on=day)
        lines.append(invoice(market, bought, 3, on=day, confirm=None))
    return lines


def test_invoice_lines_show_the_product_and_are_confirmed_in_bulk(
    app: Flask, session: Session, clock_at_now: None
) -> None:
    market = make_market(session)
    one, two, three = pending_invoices(market, 3)
    client = hospital_client(app, session, market)
    page = client.get("/invoices?status=pending").get_data(as_text=True)
    assert market.listing.product.generic_name in page
    assert "/invoice-lines/confirm" in page
    assert 'data-confirm="' in page

    # A line already decided refuses the whole batch, naming its row.
    from ledger.services import invoicing

    invoicing.decide_invoice_line(
        session, market.hospital_actor, three.id, confirm=False, reason="x", now=NOW
    )
    session.commit()
    form = {
        "csrf_token": csrf(client),
        "pick": [str(one.id), str(three.id)],
        f"row-{one.id}": "1",
        f"row-{three.id}": "3",
    }
    response = client.post("/invoice-lines/confirm", data=form)
    assert response.status_code == 422
    assert "第 3 行" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get_one(InvoiceLine, one.id).status.value == "pending"

    response = client.post("/invoice-lines/confirm", data=form | {"pick": [str(one.id), str(two.id)]})
    assert response.status_code == 302
    session.expire_all()
    assert [session.get_one(InvoiceLine, x.id).status.value for x in (one, two, three)] == [
        "confirmed",
        "confirmed",
        "disputed",
    ]


def test_the_deliveries_page_numbers_rows_as_people_count_them(
    app: Flask, session: Session, clock_at_now: None
) -> None:
    market = make_market(session)
    shipped(market, 1, 2, 3)
    client = hospital_client(app, session, market)
    page = client.get("/hospital/deliveries").get_data(as_text=True)
    assert re.findall(r'name="row-\d+" value="(\d+)"', page) == ["1", "2", "3"]
    assert session.scalar(select(func.count()).select_from(Order)) == 3


def filed_applications(market: Market) -> list[Any]:
    """Two applications from the distributor for the hospital: May's (2 lines) and June's (1)."""
    from datetime import date

    from ledger.services import settlement
    from tests.flows import at

    for day in (date(2026, 5, 11), date(2026, 5, 12), date(2026, 6, 10)):
        invoice(market, buy(market, 2, on=day), 2, on=day)
    filed = [
        settlement.file_application(
            session_of(market),
            market.distributor_actor,
            hospital_id=market.hospital.id,
            period_month=month,
            now=at(on),
        )
        for month, on in ((date(2026, 5, 1), date(2026, 6, 2)), (date(2026, 6, 1), date(2026, 7, 2)))
    ]
    session_of(market).commit()
    return filed


def session_of(market: Market) -> Session:
    return market.session


def test_settlement_applications_are_confirmed_or_disputed_with_a_reason(
    app: Flask, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.flows import at

    market = make_market(session)
    may, june = filed_applications(market)
    assert (len(may.lines), len(june.lines)) == (2, 1)
    monkeypatch.setattr("core.clock.now", lambda: at(june.filed_at.date() + timedelta(days=1)))
    client = hospital_client(app, session, market)
    page = client.get("/hospital/settlements").get_data(as_text=True)
    assert market.listing.product.generic_name in page
    assert f"/hospital/settlements/{may.id}/decision" in page
    assert 'data-confirm="' in page

    # A dispute without its reason changes nothing and keeps the ticks.
    url = f"/hospital/settlements/{may.id}/decision"
    bad = {"csrf_token": csrf(client), "action": "confirm", "dispute": str(may.lines[1].id), "reason": ""}
    response = client.post(url, data=bad)
    assert response.status_code == 422
    session.expire_all()
    assert session.get_one(type(may), may.id).status.value == "filed"

    assert client.post(url, data=bad | {"reason": "数量与入库不符"}).status_code == 302
    session.expire_all()
    may = session.get_one(type(may), may.id)
    assert may.status.value == "confirmed"
    assert [line.status.value for line in may.lines] == ["confirmed", "disputed"]
    assert may.lines[1].dispute_reason == "数量与入库不符"

    url = f"/hospital/settlements/{june.id}/decision"
    response = client.post(url, data={"csrf_token": csrf(client), "action": "dispute", "reason": "未收到货"})
    assert response.status_code == 302
    session.expire_all()
    june = session.get_one(type(june), june.id)
    assert [line.status.value for line in june.lines] == ["disputed"]
    assert june.status.value == "closed"


def test_another_hospitals_settlement_application_is_not_found(
    app: Flask, session: Session, clock_at_now: None
) -> None:
    market = make_market(session)
    may, _june = filed_applications(market)
    user = make_user(session, market.other_hospital, Role.OPERATOR)
    session.commit()
    client = app.test_client()
    web_login(client, user.username)
    assert f"application-{may.id}" not in client.get("/hospital/settlements").get_data(as_text=True)
    response = client.post(f"/hospital/settlements/{may.id}/decision", data={"csrf_token": csrf(client)})
    assert response.status_code == 404
    assert client.get(f"/hospital/settlements/{may.id}").status_code == 404


def test_the_receipt_slip_is_linked_from_the_deliveries_and_order_pages(
    app: Flask, session: Session, clock_at_now: None
) -> None:
    from ledger.services import ordering

    market = make_market(session)
    order: Any = market.order(4)
    shipment: Any = market.accept_and_ship(order.id, 4)
    ordering.confirm_receipt(
        session,
        market.hospital_actor,
        shipment.lines[0].id,
        accepted=4,
        rejected=0,
        reason_code=None,
        now=NOW,
    )
    client = hospital_client(app, session, market)
    slip = f"/hospital/shipments/{shipment.id}/receipt-slip.pdf"
    assert slip in client.get("/hospital/deliveries").get_data(as_text=True)
    assert slip in client.get(f"/orders/{order.id}").get_data(as_text=True)
    response = client.get(slip)
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")

    stranger = make_user(session, market.other_hospital, Role.OPERATOR)
    session.commit()
    other = app.test_client()
    web_login(other, stranger.username)
    assert other.get(slip).status_code == 404


def test_a_rows_own_button_confirms_that_row_alone(app: Flask, session: Session, clock_at_now: None) -> None:
    market = make_market(session)
    first, second = shipped(market, 3, 6)
    client = hospital_client(app, session, market)
    form = {
        "csrf_token": csrf(client),
        "pick": [str(first), str(second)],
        f"accepted-{first}": "3",
        f"accepted-{second}": "6",
        "only": str(second),
    }
    response = client.post("/hospital/deliveries/confirm", data=form)
    assert response.status_code == 302
    assert [r.shipment_line_id for r in session.scalars(select(ReceiptLine))] == [second]
