"""The distributor's and the manufacturer's working day through the test client: the delivery
note of a shipment, the sealed bid with its product picker and printable receipt (never a price),
invoices and red-letter invoices with the product on each line, settlement with its lines."""

from __future__ import annotations

import re
import shutil
import subprocess
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bidding.models import BatchStatus, Bid, Product
from core.actors import OrgKind, Role
from ledger.models import InvoiceLine, ShipmentLine
from tests.factories import make_org, make_user
from tests.ordering import NOW, make_market
from tests.tendering import DURING_BIDDING, DURING_DEMAND, SEALER, TIMELINE, make_world
from tests.web.test_pages import csrf, web_login


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


# --- sealed bids: product picker, receipt without a price -------------------------------------------


@pytest.fixture
def bidding(app: Flask, session: Session, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A batch open for bidding at the (fixed) clock, with manufacturer A's product of its item and
    another manufacturer's product of the same item."""
    monkeypatch.setitem(app.extensions, "vbp.sealer", SEALER)
    monkeypatch.setattr("core.clock.now", lambda: DURING_BIDDING)
    world = make_world(session)
    item = world.items[0]
    hospital = make_org(session, OrgKind.HOSPITAL, region_code="510104")
    world.to(BatchStatus.DEMAND_COLLECTION, DURING_DEMAND)
    world.report(hospital, item, 10_000)
    world.to(BatchStatus.BIDDING, TIMELINE["demand_closes_at"])
    mine = world.product("A", item)
    theirs = world.product("B", item)
    session.commit()
    return {"world": world, "item": item, "mine": mine, "theirs": theirs}


def test_the_bid_form_picks_the_manufacturers_own_product_by_name_and_spec(
    app: Flask, session: Session, bidding: dict[str, Any]
) -> None:
    world = bidding["world"]
    client = _login(app, session, world.manufacturer("A"))
    page = client.get(f"/enterprise/batches/{world.batch.id}").get_data(as_text=True)
    mine = session.get(Product, bidding["mine"])
    assert mine is not None
    assert f'<option value="{mine.id}" data-item="{bidding["item"].id}"' in page
    assert f"{mine.generic_name} {mine.spec_text}" in page
    assert mine.code in page
    assert f'value="{bidding["theirs"]}"' not in page  # another manufacturer's product is not offered
    assert 'name="product_id" inputmode="numeric"' not in page  # no id to type


def test_a_sealed_bid_and_its_printed_receipt_show_no_price(
    app: Flask, session: Session, bidding: dict[str, Any]
) -> None:
    world = bidding["world"]
    client = _login(app, session, world.manufacturer("A"))
    url = f"/enterprise/batches/{world.batch.id}"
    form = {
        "csrf_token": csrf(client),
        "item_id": str(bidding["item"].id),
        "product_id": str(bidding["mine"]),
        "pack_price": "43.21",
        "accepts_revival": "true",
    }
    # Above the ceiling (1.0000 per tablet × 100): refused, and the form keeps what was typed.
    refused = client.post(f"{url}/bids", data=form | {"pack_price": "987.65"})
    assert refused.status_code == 422
    kept = refused.get_data(as_text=True)
    assert 'value="987.65"' in kept
    assert f'<option value="{bidding["mine"]}" data-item="{bidding["item"].id}" selected' in kept
    assert session.scalar(select(func.count()).select_from(Bid)) == 0

    response = client.post(f"{url}/bids", data=form)
    assert response.status_code == 201
    page = response.get_data(as_text=True)
    bid = session.scalars(select(Bid)).one()
    salt = re.search(r'name="salt" value="([0-9a-f]{32})"', page).group(1)  # type: ignore[union-attr]
    assert bid.digest in page
    assert "43.21" not in page
    assert "4321" not in page

    pdf = client.post(
        f"/enterprise/bids/{bid.id}/receipt.pdf", data={"csrf_token": csrf(client), "salt": salt}
    )
    assert pdf.status_code == 200
    assert pdf.mimetype == "application/pdf"
    assert b"43.21" not in pdf.data
    if shutil.which("pdftotext"):
        text = pdf_text(pdf.data).replace("\n", "")
        assert bid.digest in text
        assert salt in text
        assert bid.public_id in text
        assert "测试批次" in text
        assert "43.21" not in text
        assert "4321" not in text

    # Another manufacturer cannot print it; a salt that is not one is refused.
    other = _login(app, session, world.manufacturer("B"))
    assert (
        other.post(
            f"/enterprise/bids/{bid.id}/receipt.pdf", data={"csrf_token": csrf(other), "salt": salt}
        ).status_code
        == 404
    )
    bad = client.post(
        f"/enterprise/bids/{bid.id}/receipt.pdf", data={"csrf_token": csrf(client), "salt": "43.21"}
    )
    assert bad.status_code == 422


def test_withdrawing_a_bid_asks_for_confirmation(
    app: Flask, session: Session, bidding: dict[str, Any]
) -> None:
    world = bidding["world"]
    world.bid("A", bidding["item"], "0.5000", product_id=bidding["mine"])
    session.commit()
    client = _login(app, session, world.manufacturer("A"))
    page = client.get(f"/enterprise/batches/{world.batch.id}").get_data(as_text=True)
    withdraw = page[page.index("/withdraw") :]
    assert "data-confirm=" in withdraw.split("</form>", 1)[0]


# --- shipping -----------------------------------------------------------------------------------


def test_a_refused_shipment_keeps_what_was_typed_and_names_the_row(app: Flask, session: Session) -> None:
    from ledger.services import ordering

    market = make_market(session)
    order: Any = market.order(10)
    session.commit()
    ordering.decide_order(session, market.distributor_actor, order.id, accept=True, reason=None, now=NOW)
    session.commit()
    line_id = order.lines[0].id
    client = _login(app, session, market.distributor)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    assert market.listing.product.spec_text in page
    form = {
        "csrf_token": csrf(client),
        "delivery_note": "PS-778",
        f"qty-{line_id}": "11",
        f"batch-{line_id}": "B77",
        f"expiry-{line_id}": "2028-06-30",
    }
    response = client.post(f"/enterprise/orders/{order.id}/shipments", data=form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "第 1 行" in page
    assert 'value="PS-778"' in page
    assert 'value="11"' in page
    assert 'value="B77"' in page
    assert session.scalar(select(func.count()).select_from(ShipmentLine)) == 0
    response = client.post(f"/enterprise/orders/{order.id}/shipments", data=form | {f"qty-{line_id}": "10"})
    assert response.status_code == 302
    assert session.scalars(select(ShipmentLine.batch_no)).all() == ["B77"]


# --- invoices and red-letter invoices -------------------------------------------------------------


def _invoiced(session: Session, *, quantity: int = 10) -> tuple[Any, Any]:
    """An order of `quantity` shipped, accepted and invoiced in full; returns (market, invoice line)."""
    from datetime import timedelta

    from ledger.services import invoicing, ordering

    market = make_market(session)
    order: Any = market.order(quantity)
    shipment: Any = market.accept_and_ship(order.id, quantity)
    receipt = ordering.confirm_receipt(
        session,
        market.hospital_actor,
        shipment.lines[0].id,
        accepted=quantity,
        rejected=0,
        reason_code=None,
        now=NOW,
    )
    price = market.listing.pack_price_fen
    invoice = invoicing.record_invoice(
        session,
        market.distributor_actor,
        hospital_id=market.hospital.id,
        invoice_code="",
        invoice_number="10000001",
        issued_on=(NOW - timedelta(days=1)).date(),
        tax_rate=Decimal("0.13"),
        lines=[invoicing.InvoiceLineRequest(receipt.id, quantity, quantity * price)],
        now=NOW,
    )
    session.commit()
    return market, invoice.lines[0]


def test_the_invoice_form_shows_each_deliverys_product_and_keeps_the_ticks_when_refused(
    app: Flask, session: Session
) -> None:
    from ledger.services import ordering

    market = make_market(session)
    order: Any = market.order(6)
    shipment: Any = market.accept_and_ship(order.id, 6)
    receipt = ordering.confirm_receipt(
        session,
        market.hospital_actor,
        shipment.lines[0].id,
        accepted=6,
        rejected=0,
        reason_code=None,
        now=NOW,
    )
    session.commit()
    client = _login(app, session, market.distributor)
    page = client.get("/enterprise/invoices/new").get_data(as_text=True)
    product = market.listing.product
    assert f"{product.generic_name} {product.spec_text}" in page
    assert "B20260101" in page
    assert f"DD{order.id:08d}" in page
    form = {"csrf_token": csrf(client), "receipt_line_id": str(receipt.id), "issued_on": "2026-11-20"}
    refused = client.post("/enterprise/invoices/new", data=form | {"invoice_number": "12ab"})
    assert refused.status_code == 422
    assert f'value="{receipt.id}" checked' in refused.get_data(as_text=True)
    assert 'value="12ab"' in refused.get_data(as_text=True)


def test_a_red_letter_invoice_credits_a_returned_line_and_names_a_refused_row(
    app: Flask, session: Session
) -> None:
    from ledger.models import Invoice, InvoiceLine, ReturnLine, ReturnStatus
    from ledger.services import ordering

    market, line = _invoiced(session)
    ordering.record_return(
        session, market.hospital_actor, line.receipt_line_id, quantity=3, reason="破损", now=NOW
    )
    session.commit()
    client = _login(app, session, market.distributor)
    page = client.get("/enterprise/credits").get_data(as_text=True)
    product = market.listing.product
    assert f"{product.generic_name} {product.spec_text}" in page
    assert f'name="qty-{line.id}" inputmode="numeric" size="6" value="3"' in page
    assert "破损" in page
    button = page[page.index(f'id="credit-{line.invoice_id}"') :].split("</form>", 1)[0]
    assert "data-confirm=" in button
    form = {
        "csrf_token": csrf(client),
        "original_invoice_id": str(line.invoice_id),
        "line_id": str(line.id),
        f"qty-{line.id}": "11",
        "invoice_number": "20000001",
        "issued_on": NOW.date().isoformat(),
        "tax_rate": "0.13",
    }
    refused = client.post("/enterprise/credits", data=form)
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "第 1 行" in text
    assert f'name="qty-{line.id}" inputmode="numeric" size="6" value="11"' in text
    assert 'value="20000001"' in text
    assert session.scalar(select(func.count()).select_from(Invoice)) == 1

    response = client.post("/enterprise/credits", data=form | {f"qty-{line.id}": "3"})
    assert response.status_code == 302, response.get_data(as_text=True)
    credit = session.scalars(select(InvoiceLine).where(InvoiceLine.quantity < 0)).one()
    assert (credit.quantity, credit.amount_fen, credit.credited_line_id) == (
        -3,
        -3 * market.listing.pack_price_fen,
        line.id,
    )
    # The return is credited once the hospital confirms the credit; till then it is not offered twice.
    assert credit.status.value == "pending"
    assert session.scalars(select(ReturnLine.status)).one() is ReturnStatus.AWAITING_CREDIT
    after = client.get("/enterprise/credits").get_data(as_text=True)
    assert f'id="credit-{line.invoice_id}"' not in after  # nothing left to credit
    assert f"/enterprise/credits/{credit.id}/void" in after  # the pending credit may be voided


def test_a_disputed_line_is_offered_for_credit_to_its_issuer_only(app: Flask, session: Session) -> None:
    from ledger.services import invoicing

    market, line = _invoiced(session)
    invoicing.decide_invoice_line(
        session, market.hospital_actor, line.id, confirm=False, reason="单价有误", now=NOW
    )
    session.commit()
    page = _login(app, session, market.distributor).get("/enterprise/credits").get_data(as_text=True)
    assert "单价有误" in page
    assert f'name="qty-{line.id}" inputmode="numeric" size="6" value="10"' in page
    stranger = _login(app, session, market.stranger_distributor)
    assert f'name="qty-{line.id}"' not in stranger.get("/enterprise/credits").get_data(as_text=True)
    form = {
        "csrf_token": csrf(stranger),
        "original_invoice_id": str(line.invoice_id),
        "line_id": str(line.id),
        f"qty-{line.id}": "10",
        "invoice_number": "20000002",
        "issued_on": NOW.date().isoformat(),
        "tax_rate": "0.13",
    }
    assert stranger.post("/enterprise/credits", data=form).status_code == 422
    assert session.scalar(select(func.count()).select_from(InvoiceLine)) == 1


# --- settlement ---------------------------------------------------------------------------------


def test_a_settlement_application_is_filed_for_a_picked_hospital_and_shows_its_lines_products(
    app: Flask, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from ledger.models import SettlementApplication
    from ledger.services import invoicing

    market, line = _invoiced(session)
    invoicing.decide_invoice_line(session, market.hospital_actor, line.id, confirm=True, reason=None, now=NOW)
    session.commit()
    monkeypatch.setattr("core.clock.now", lambda: NOW + timedelta(days=31))
    client = _login(app, session, market.distributor)
    page = client.get("/enterprise/settlement").get_data(as_text=True)
    assert f'<option value="{market.hospital.id}">{market.hospital.name}</option>' in page
    assert f'<option value="{market.other_hospital.id}"' not in page  # never invoiced
    assert 'name="hospital_id" inputmode="numeric"' not in page
    month = NOW.strftime("%Y-%m")
    form = {"csrf_token": csrf(client), "hospital_id": str(market.other_hospital.id), "period_month": month}
    refused = client.post("/enterprise/settlement", data=form)
    assert refused.status_code == 422
    assert f'value="{month}"' in refused.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(SettlementApplication)) == 0
    response = client.post("/enterprise/settlement", data=form | {"hospital_id": str(market.hospital.id)})
    assert response.status_code == 200
    application = session.scalars(select(SettlementApplication)).one()
    assert f"/enterprise/settlement/{application.id}" in response.get_data(as_text=True)

    detail = client.get(f"/enterprise/settlement/{application.id}").get_data(as_text=True)
    product = market.listing.product
    table = detail[detail.index('id="settlement-lines"') :]
    assert f"{product.generic_name} {product.spec_text}" in table
    assert "10000001" in table
    stranger = _login(app, session, market.stranger_distributor)
    assert stranger.get(f"/enterprise/settlement/{application.id}").status_code == 404
