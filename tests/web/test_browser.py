"""One full journey per kind of user in a real browser: Debian's chromium driven by Playwright
against the app served by a real WSGI server (werkzeug, threaded) on a committed database.

Each journey logs in, does its main task, and checks the result on the page. Screenshots of every
step are saved under `test-artifacts/screenshots/<database>/browser/` (tests/web/conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app.db import Database
from bidding.models import BatchStatus
from core import clock
from core.actors import OrgKind, Role
from ledger.models import Order, OrderStatus, ReceiptLine
from tests.factories import actor_of, make_org, make_user
from tests.ordering import make_market
from tests.tendering import live_batch
from tests.web.conftest import Site, needs_browser, serve, zh

pytestmark = needs_browser


def _seed(db: Database) -> dict[str, int]:
    """A published batch with listings, orders in every state the journeys need, one batch open
    for bidding now, and one user per kind; all committed."""
    with db.sessionmaker() as session:
        market = make_market(session)
        submitted: Any = market.order(30)
        # Placed at the scenario's (past) time and never shipped: overdue whatever order the journeys run in.
        market.order(5)
        shipped: Any = market.order(10)
        market.accept_and_ship(shipped.id, 10)
        make_user(session, market.hospital, Role.OPERATOR, username="web-hospital")
        make_user(session, market.distributor, Role.OPERATOR, username="web-distributor")
        bureau_org = make_org(session, OrgKind.BUREAU, name="浏览器测试医保局")
        bureau = actor_of(make_user(session, bureau_org, Role.ADMIN, username="web-bureau"))

        now = clock.now()
        world = live_batch(session, bureau, name="浏览器测试投标批次", generic_name="浏览器测试药")
        batch, item = world.batch, world.items[0]
        maker = world.manufacturer("浏览器")
        product_id = world.product("浏览器", item)
        make_user(session, maker, Role.OPERATOR, username="web-manufacturer")
        hospital = make_org(session, OrgKind.HOSPITAL, region_code="510104")
        world.to(BatchStatus.DEMAND_COLLECTION, now - timedelta(days=9))
        from bidding import demand

        demand.report_demand(
            session,
            world.actor(hospital),
            batch.id,
            lines=[demand.DemandLine(item_id=item.id, quantity=10_000)],
            now=now - timedelta(days=8),
        )
        world.to(BatchStatus.BIDDING, now - timedelta(hours=23))
        session.commit()
        return {
            "submitted_order": submitted.id,
            "shipped_order": shipped.id,
            "listing": market.listing.id,
            "distributor": market.distributor.id,
            "bidding_batch": batch.id,
            "bid_item": item.id,
            "bid_product": product_id,
        }


@pytest.fixture(scope="module")
def site(
    databases: Any, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Site]:
    with serve(databases, tmp_path_factory, request, _seed) as served:
        yield served


def test_hospital_orders_and_confirms_a_partial_delivery(journey: Any, site: Site) -> None:
    j = journey("hospital")
    j.login("web-hospital")
    j.shot("dashboard")
    page = j.page

    # Place an order from the listings.
    page.get_by_role("link", name=zh("New order")).click()
    page.get_by_label(zh("Distributor")).select_option(str(site.ids["distributor"]))
    page.locator("#listing-0").select_option(str(site.ids["listing"]))
    page.locator("#quantity-0").fill("25")
    j.shot("order-form")
    page.get_by_role("button", name=zh("Place order")).click()
    assert zh("Order #%(id)s was sent to the distributor.").split("%")[0] in j.flash()
    assert page.locator("#order-status").inner_text() == zh("Awaiting acceptance")
    j.shot("order-placed")

    # Confirm the delivery that arrived: 8 accepted, 2 rejected as damaged.
    page.get_by_role("link", name=zh("Deliveries"), exact=True).click()
    row = page.locator("tr[id^='shipment-line-']").first
    line_id = int(str(row.get_attribute("id")).removeprefix("shipment-line-"))
    row.get_by_label(zh("Accepted quantity"), exact=True).fill("8")
    row.get_by_label(zh("Rejected quantity"), exact=True).fill("2")
    row.get_by_label(zh("Reason"), exact=True).select_option("damaged")
    j.shot("receipt-form")
    row.get_by_role("button", name=zh("Confirm receipt")).click()
    assert "8" in j.flash()
    assert "2" in j.flash()
    assert page.locator(f"#shipment-line-{line_id}").count() == 0
    j.shot("receipt-done")

    with site.db.sessionmaker() as s:
        receipt = s.scalars(select(ReceiptLine).where(ReceiptLine.shipment_line_id == line_id)).one()
        assert (receipt.accepted_quantity, receipt.rejected_quantity, receipt.reason_code) == (
            8,
            2,
            "damaged",
        )
        placed = s.scalars(
            select(Order).where(Order.hospital_id == receipt.hospital_id).order_by(Order.id.desc())
        ).first()
        assert placed is not None
        assert [line.quantity for line in placed.lines] == [25]

    # The page switches to English and back.
    page.get_by_role("button", name="English").click()
    assert page.locator("h1").inner_text() == "Deliveries to confirm"
    j.shot("english")
    page.get_by_role("button", name="中文").click()
    assert page.locator("h1").inner_text() == zh("Deliveries to confirm")


def test_distributor_accepts_and_ships_an_order(journey: Any, site: Site) -> None:
    j = journey("distributor")
    j.login("web-distributor")
    page = j.page
    order_id = site.ids["submitted_order"]
    page.get_by_role("link", name=zh("Orders"), exact=True).click()
    page.get_by_label(zh("Status")).select_option("submitted")
    page.get_by_role("button", name=zh("Filter")).click()
    j.shot("orders-to-accept")
    page.get_by_role("link", name=f"#{order_id}", exact=True).click()
    page.get_by_role("button", name=zh("Accept order")).click()
    assert j.flash() == zh("Order accepted.")
    assert page.locator("#order-status").inner_text() == zh("Accepted")
    j.shot("accepted")

    ship = page.locator("form[action$='/shipments']")
    ship.get_by_label(zh("Delivery note number")).fill("PS-2026-0001")
    ship.locator("input[name^='batch-']").fill("B2026W01")
    ship.locator("input[name^='expiry-']").fill("2028-06-30")
    j.shot("ship-form")
    ship.get_by_role("button", name=zh("Record shipment")).click()
    assert zh("Shipment %(id)s recorded.").split("%")[0] in j.flash()
    assert page.locator("#order-status").inner_text() == zh("Shipped")
    assert "B2026W01" in page.locator("table").last.inner_text()
    j.shot("shipped")

    with site.db.sessionmaker() as s:
        assert s.get(Order, order_id).status is OrderStatus.SHIPPED  # type: ignore[union-attr]


def test_manufacturer_submits_a_sealed_bid_and_keeps_the_receipt(journey: Any, site: Site) -> None:
    j = journey("manufacturer")
    j.login("web-manufacturer")
    page = j.page
    page.get_by_role("link", name=zh("Batches and bids")).click()
    page.get_by_role("link", name="浏览器测试投标批次").click()
    j.shot("batch")
    page.get_by_label(zh("Item"), exact=True).select_option(str(site.ids["bid_item"]))
    page.get_by_label(zh("Your product"), exact=True).select_option(str(site.ids["bid_product"]))
    page.get_by_label(zh("Price per pack (yuan)")).fill("25.00")
    page.get_by_role("button", name=zh("Seal and submit bid")).click()
    digest = page.locator("#receipt-digest").inner_text()
    assert len(digest) == 64
    assert len(page.locator("#receipt-salt").inner_text()) > 8
    j.shot("receipt")
    # The bid list shows the bid, its digest and no price.
    bids_table = page.locator("table").last.inner_text()
    assert digest[:16] in bids_table
    assert "25.00" not in bids_table
    assert zh("Active") in bids_table

    # Withdraw it again before the deadline.
    page.get_by_role("button", name=zh("Withdraw")).click()
    assert j.flash() == zh("Bid withdrawn.")
    assert zh("Withdrawn") in page.locator("table").last.inner_text()
    j.shot("withdrawn")


def test_bureau_creates_a_batch_and_drills_into_a_discrepancy(journey: Any, site: Site) -> None:
    j = journey("bureau")
    j.login("web-bureau")
    page = j.page

    page.get_by_role("link", name=zh("Batches"), exact=True).click()
    page.get_by_text(zh("Create a batch")).click()
    page.get_by_label(zh("Name"), exact=True).fill("2027年度第一批集中带量采购")
    for field, value in (
        ("#demand_opens_at", "2027-01-05T09:00"),
        ("#demand_closes_at", "2027-01-15T17:00"),
        ("#bid_opens_at", "2027-01-20T09:00"),
        ("#bid_closes_at", "2027-01-25T10:00"),
        ("#opening_at", "2027-01-25T10:30"),
        ("#cycle_start_on", "2027-03-01"),
        ("#cycle_end_on", "2028-02-29"),
    ):
        page.locator(field).fill(value)
    j.shot("batch-form")
    page.get_by_role("button", name=zh("Create batch")).click()
    assert page.locator("h1").inner_text() == "2027年度第一批集中带量采购"
    assert page.locator("#batch-status").inner_text() == zh("Draft")
    j.shot("batch-created")

    # Reconciliation explorer: lines past their delivery deadline, then every record of one of them.
    page.get_by_role("link", name=zh("Reconciliation"), exact=True).click()
    j.shot("explorer")
    page.get_by_label(zh("Status"), exact=True).select_option("shipment_overdue")
    page.get_by_role("button", name=zh("Filter")).click()
    first = page.locator("table").last.locator("tbody tr").first
    assert zh("Shipment overdue") in first.inner_text()
    first.locator("a").first.click()
    assert page.locator("#line-status").inner_text() == zh("Shipment overdue")
    assert page.get_by_text(zh("Nothing shipped.")).count() == 1
    j.shot("discrepancy")

    page.get_by_role("link", name=zh("Job history")).click()
    assert page.locator("h1").inner_text() == zh("Scheduler job history")
    page.get_by_role("link", name=zh("Audit log")).click()
    assert "batch.create" in page.locator("table").inner_text()
    j.shot("audit")


def test_the_api_documentation_works_from_the_platform_alone(journey: Any, site: Site) -> None:
    """Swagger UI comes from the platform itself (no CDN) and runs under the strict CSP."""
    j = journey("api-docs")
    j.login("web-bureau")
    j.go("/api/v1/docs")
    page = j.page
    assert "VBP" in page.locator(".swagger-ui .info .title").inner_text()
    page.locator(".opblock-tag", has_text="auth").first.wait_for()
    j.shot("docs")
    # "Try it out" on a GET, with the browser session: the API answers inside the page.
    page.locator(".opblock-summary-path", has_text="/api/v1/auth/me").first.click()
    page.get_by_role("button", name="Try it out").click()
    page.get_by_role("button", name="Execute", exact=True).click()
    body = page.locator(".responses-wrapper .live-responses-table .response-col_description pre").first
    assert "web-bureau" in body.inner_text()
    j.shot("docs-try-it-out")
