"""The hospital's working day in a real browser (Debian's chromium, Playwright): search the
catalogue and build an order of three lines with its running total; re-order from a past order;
confirm two deliveries at once (one partly rejected) and download the receipt slip; confirm
invoice lines in bulk with the product on each line and dispute one; confirm one settlement
application and dispute another with a reason. A screenshot at every step
(test-artifacts/screenshots/<db>/hospital_journey/)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from app.db import Database
from core.actors import Role
from core.money import fen_to_str
from ledger.models import InvoiceLine, Listing, Order, ReceiptLine, SettlementApplication
from ledger.services import authorizations, listings, settlement
from tests.factories import make_user
from tests.flows import at, buy, invoice
from tests.ordering import AT_OPENING, make_market
from tests.web.conftest import Site, needs_browser, serve, zh

pytestmark = needs_browser


def _seed(db: Database) -> dict[str, Any]:
    """Three orderable products (A's award, B's backup, a filed purchase of A's), a past order, two
    deliveries waiting, three invoice lines pending, and two settlement applications filed."""
    with db.sessionmaker() as session:
        market = make_market(session)
        world = market.world
        authorizations.authorize_distributor(
            session,
            world.actor(world.manufacturer("B")),
            distributor_id=market.distributor.id,
            product_id=None,
            region_code="510100",
            now=AT_OPENING,
        )
        product_id = world.product("A", world.items[0], strength="20", units=30)
        filed = listings.file_purchase(
            session,
            market.hospital_actor,
            product_id=product_id,
            pack_price_fen=4_580,
            reason="临床急需",
            now=AT_OPENING,
        )
        backup = session.scalars(
            select(Listing).where(Listing.award_id.is_not(None), Listing.supply_role == "backup")
        ).first()
        assert backup is not None
        past: Any = market.order(12)
        deliveries = []
        for packs in (10, 6):
            order: Any = market.order(packs)
            shipment: Any = market.accept_and_ship(order.id, packs)
            deliveries.append(shipment.lines[0].id)
        for day in (date(2026, 5, 11), date(2026, 5, 12), date(2026, 6, 10)):
            invoice(market, buy(market, 2, on=day), 2, on=day)
        applications = [
            settlement.file_application(
                session,
                market.distributor_actor,
                hospital_id=market.hospital.id,
                period_month=month,
                now=at(on),
            ).id
            for month, on in ((date(2026, 5, 1), date(2026, 6, 2)), (date(2026, 6, 1), date(2026, 7, 2)))
        ]
        pending = [
            invoice(market, buy(market, n, on=date(2026, 7, 10)), n, on=date(2026, 7, 10), confirm=None).id
            for n in (3, 4, 5)
        ]
        make_user(session, market.hospital, Role.OPERATOR, username="hj-hospital")
        session.commit()
        return {
            "product": market.listing.product.generic_name,
            "listings": [market.listing.id, backup.id, filed.id],
            "distributor": market.distributor.id,
            "past_order": past.id,
            "deliveries": deliveries,
            "applications": applications,
            "pending_invoices": pending,
        }


@pytest.fixture(scope="module")
def site(
    databases: Any, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Site]:
    with serve(databases, tmp_path_factory, request, _seed) as served:
        yield served


def _start(journey: Any, name: str) -> Any:
    j = journey(name)
    j.page.on("dialog", lambda dialog: dialog.accept())  # data-confirm: the person says yes
    j.login("hj-hospital")
    return j


def test_the_hospital_orders_from_the_catalogue_and_reorders(journey: Any, site: Site) -> None:
    j = _start(journey, "ordering")
    page = j.page
    page.get_by_role("link", name=zh("New order")).click()
    j.shot("order-form")

    # Search the catalogue and add three products, one row each.
    page.get_by_label(zh("Product name, code or manufacturer")).fill(site.ids["product"])
    page.get_by_role("button", name=zh("Search"), exact=True).click()
    for listing_id in site.ids["listings"]:
        assert page.locator(f"#found-{listing_id}").count() == 1
    j.shot("catalogue-results")
    for n, listing_id in enumerate(site.ids["listings"]):
        page.locator(f"#found-{listing_id}").get_by_role("button", name=zh("Add to the order")).click()
        assert page.locator(f"#listing-{n}").input_value() == str(listing_id)
    j.shot("three-lines-added")

    page.get_by_label(zh("Distributor")).select_option(str(site.ids["distributor"]))
    prices = []
    for n, quantity in enumerate((5, 7, 2)):
        page.locator(f"#quantity-{n}").fill(str(quantity))
        prices.append(int(str(page.locator(f"#listing-{n} option:checked").get_attribute("data-price"))))
    expected = fen_to_str(sum(p * q for p, q in zip(prices, (5, 7, 2), strict=True)))
    assert page.locator("[data-total]").inner_text() == expected  # the live total (order-form.js)
    j.shot("running-total")
    page.get_by_role("button", name=zh("Recalculate the total")).click()
    assert page.locator("[data-total]").inner_text() == expected  # the server's total agrees
    j.shot("recalculated")
    page.get_by_role("button", name=zh("Place order")).click()
    assert zh("Order #%(id)s was sent to the distributor.").split("%")[0] in j.flash()
    j.shot("order-placed")
    with site.db.sessionmaker() as s:
        placed = s.scalars(select(Order).order_by(Order.id.desc())).first()
        assert placed is not None
        assert [(x.listing_id, x.quantity) for x in placed.lines] == list(
            zip(site.ids["listings"], (5, 7, 2), strict=True)
        )

    # Re-order from the past order, from its page.
    past = site.ids["past_order"]
    page.get_by_role("link", name=zh("Orders"), exact=True).click()
    page.get_by_role("link", name=f"#{past}", exact=True).click()
    j.shot("past-order")
    page.get_by_role("link", name=zh("Re-order from order #%(id)s").replace("%(id)s", str(past))).click()
    assert page.locator("#quantity-0").input_value() == "12"
    j.shot("reorder-copied")
    page.locator("#quantity-0").fill("15")
    page.get_by_role("button", name=zh("Place order")).click()
    assert zh("Order #%(id)s was sent to the distributor.").split("%")[0] in j.flash()
    j.shot("reorder-placed")
    with site.db.sessionmaker() as s:
        again = s.scalars(select(Order).order_by(Order.id.desc())).first()
        assert again is not None
        assert [x.quantity for x in again.lines] == [15]


def test_the_hospital_confirms_deliveries_invoices_and_settlement(journey: Any, site: Site) -> None:
    j = _start(journey, "confirming")
    page = j.page

    # Two deliveries confirmed at once, the first partly rejected.
    page.get_by_role("link", name=zh("Deliveries"), exact=True).click()
    first, second = site.ids["deliveries"]
    assert site.ids["product"] in page.locator(f"#shipment-line-{first}").inner_text()
    j.shot("deliveries")
    row = page.locator(f"#shipment-line-{first}")
    row.get_by_role("checkbox").check()
    row.get_by_label(zh("Accepted quantity"), exact=True).fill("7")
    row.get_by_label(zh("Rejected quantity"), exact=True).fill("3")
    row.get_by_label(zh("Reason"), exact=True).select_option("damaged")
    page.locator(f"#shipment-line-{second}").get_by_role("checkbox").check()
    assert page.locator("[data-bulk-count]").inner_text() == "2"
    j.shot("deliveries-ticked")
    page.get_by_role("button", name=zh("Confirm selected")).click()
    assert j.flash() == zh("%(n)s deliveries confirmed.").replace("%(n)s", "2")
    j.shot("deliveries-confirmed")
    with site.db.sessionmaker() as s:
        receipts = {r.shipment_line_id: r for r in s.scalars(select(ReceiptLine))}
        assert (receipts[first].accepted_quantity, receipts[first].rejected_quantity) == (7, 3)
        assert (receipts[second].accepted_quantity, receipts[second].rejected_quantity) == (6, 0)

    # The receipt and warehousing slip of the partly rejected delivery.
    link = page.get_by_role("link", name=zh("Receipt slip (PDF)")).first
    href = str(link.get_attribute("href"))
    response = page.request.get(site.url + href)
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")
    j.shot("receipt-slip-link")

    # Invoice lines: two confirmed together, one disputed with its reason.
    page.get_by_role("link", name=zh("Invoices"), exact=True).click()
    page.get_by_label(zh("Status")).select_option("pending")
    page.get_by_role("button", name=zh("Filter")).click()
    one, two, three = site.ids["pending_invoices"]
    assert site.ids["product"] in page.locator(f"#invoice-line-{one}").inner_text()
    j.shot("invoices-pending")
    for line_id in (one, two):
        page.locator(f"#invoice-line-{line_id}").get_by_role("checkbox").check()
    j.shot("invoices-ticked")
    page.get_by_role("button", name=zh("Confirm selected")).click()
    assert j.flash() == zh("%(n)s invoice lines confirmed.").replace("%(n)s", "2")
    j.shot("invoices-confirmed")
    row = page.locator(f"#invoice-line-{three}")
    row.get_by_placeholder(zh("Reason for a dispute")).fill("数量与入库不符")
    row.get_by_role("button", name=zh("Dispute"), exact=True).click()
    j.shot("invoice-disputed")
    with site.db.sessionmaker() as s:
        statuses = [s.get_one(InvoiceLine, x).status.value for x in (one, two, three)]
        assert statuses == ["confirmed", "confirmed", "disputed"]

    # Settlement: May's application confirmed, June's disputed with a reason.
    page.get_by_role("link", name=zh("Settlement"), exact=True).click()
    may, june = site.ids["applications"]
    assert site.ids["product"] in page.locator(f"#application-{may}").inner_text()
    j.shot("settlement-applications")
    page.locator(f"#application-{may}").get_by_role(
        "button", name=zh("Confirm (ticked lines disputed)")
    ).click()
    assert j.flash() == zh("Settlement application #%(id)s confirmed.").replace("%(id)s", str(may))
    j.shot("settlement-confirmed")
    card = page.locator(f"#application-{june}")
    card.get_by_label(zh("Reason for a dispute")).fill("未收到该批货物")
    j.shot("settlement-dispute-reason")
    card.get_by_role("button", name=zh("Dispute the whole application")).click()
    assert j.flash() == zh("Settlement application #%(id)s disputed.").replace("%(id)s", str(june))
    j.shot("settlement-disputed")
    with site.db.sessionmaker() as s:
        assert s.get_one(SettlementApplication, may).status.value == "confirmed"
        assert s.get_one(SettlementApplication, june).status.value == "closed"
