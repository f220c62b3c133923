"""The distributor's and the manufacturer's working day through the test client: the delivery
note of a shipment, the sealed bid with its product picker and printable receipt (never a price),
invoices and red-letter invoices with the product on each line, settlement with its lines."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.actors import Role
from tests.factories import make_user
from tests.ordering import make_market
from tests.web.test_pages import web_login


def _login(app: Flask, session: Session, org: Any, role: Role = Role.OPERATOR) -> FlaskClient:
    user = make_user(session, org, role)
    session.commit()
    client = app.test_client()
    web_login(client, user.username)
    return client


def pdf_text(data: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()


# --- delivery note ------------------------------------------------------------------------------


def test_the_order_page_links_each_shipments_delivery_note_for_its_parties_only(
    app: Flask, session: Session
) -> None:
    market = make_market(session)
    order: Any = market.order(10)
    shipment: Any = market.accept_and_ship(order.id, 4)
    seller = _login(app, session, market.distributor)
    page = seller.get(f"/orders/{order.id}").get_data(as_text=True)
    assert f'href="/shipments/{shipment.id}/delivery-note.pdf"' in page
    response = seller.get(f"/shipments/{shipment.id}/delivery-note.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    if shutil.which("pdftotext"):
        text = pdf_text(response.data)
        assert f"FH{shipment.id:010d}" in text
        assert market.listing.product.generic_name in text
    buyer = _login(app, session, market.hospital)
    assert buyer.get(f"/shipments/{shipment.id}/delivery-note.pdf").status_code == 200
    other = _login(app, session, market.other_hospital)
    assert other.get(f"/shipments/{shipment.id}/delivery-note.pdf").status_code == 404
    stranger = _login(app, session, market.stranger_distributor)
    assert stranger.get(f"/shipments/{shipment.id}/delivery-note.pdf").status_code == 404


def test_refusing_an_order_asks_for_confirmation(app: Flask, session: Session) -> None:
    market = make_market(session)
    order: Any = market.order(10)
    session.commit()
    page = _login(app, session, market.distributor).get(f"/orders/{order.id}").get_data(as_text=True)
    refuse = page[page.index('value="false"') :].split(">", 1)[0]
    assert "data-confirm=" in refuse
