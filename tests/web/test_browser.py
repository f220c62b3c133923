"""One full journey per kind of user in a real browser: Debian's chromium driven by Playwright
against the app served by a real WSGI server (werkzeug, threaded) on a committed database.

Each journey logs in, does its main task, and checks the result on the page. Screenshots of every
step are saved under `test-artifacts/screenshots/<database>/` (or $VBP_ARTIFACTS) for people to look at.
Every journey also watches the browser: a Content-Security-Policy violation, a script error or a
request to another host fails it.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from app import create_app
from app.config import Config
from app.db import Database, get_db
from bidding import batches
from bidding.models import BatchStatus, Category, DosageFormGroup, RatioKind, Scope
from core import clock
from core.actors import OrgKind, Role
from ledger.models import Order, OrderStatus, ReceiptLine
from tests.factories import PASSWORD, actor_of, make_org, make_user
from tests.ordering import make_market
from tests.tendering import SEALING_KEY, World, e4

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("VBP_ARTIFACTS", ROOT / "test-artifacts")) / "screenshots"
CHROMIUM = os.environ.get("VBP_CHROMIUM", "/usr/bin/chromium")
#: .ci/run sets this: there a missing browser fails the run instead of skipping the journeys.
REQUIRED = os.environ.get("VBP_BROWSER_TESTS") == "required"
MISSING = not Path(CHROMIUM).exists() and shutil.which("chromium") is None
if REQUIRED and MISSING:
    raise RuntimeError(f"VBP_BROWSER_TESTS=required but no chromium at {CHROMIUM} or on PATH")

if REQUIRED:
    import playwright.sync_api as playwright_api
else:
    playwright_api = pytest.importorskip("playwright.sync_api")

pytestmark = pytest.mark.skipif(
    MISSING, reason="Debian's chromium is not installed (scripts/system-packages.sh installs it)"
)


@cache
def zh(msgid: str) -> str:
    """What a page shows for `msgid` in Chinese (the committed catalogue)."""
    with open(ROOT / "app/web/translations/zh/LC_MESSAGES/messages.po", "rb") as f:
        catalogue = read_po(f)
    message = catalogue.get(msgid)
    assert message is not None, f"{msgid!r} is not in the catalogue"
    assert message.string, f"no Chinese text for {msgid!r}"
    return str(message.string)


@dataclass
class Site:
    url: str
    app: Flask
    db: Database
    ids: dict[str, int]
    shots: Path  #: this run's screenshots (one folder per database kind)


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
        timeline = {
            "demand_opens_at": now - timedelta(days=10),
            "demand_closes_at": now - timedelta(days=5),
            "bid_opens_at": now - timedelta(days=1),
            "bid_closes_at": now + timedelta(days=5),
            "opening_at": now + timedelta(days=5, hours=1),
            "cycle_start_on": (now + timedelta(days=30)).date(),
            "cycle_end_on": (now + timedelta(days=394)).date(),
        }
        batch = batches.create_batch(
            session,
            bureau,
            name="浏览器测试投标批次",
            category=Category.DRUG,
            scope=Scope.PROVINCIAL,
            rule_version="batch_4_9",
            rule_overrides=None,
            timeline=timeline,
            now=now - timedelta(days=11),
        )
        item = batches.add_item(
            session,
            bureau,
            batch.id,
            data={
                "generic_name": "浏览器测试药",
                "dosage_form_group": DosageFormGroup.ORAL_SOLID,
                "rep_strength_value": "10",
                "rep_strength_unit": "mg",
                "ratio_kind": RatioKind.CONTENT,
                "allowed_strengths": ["10"],
                "ceiling_e4": e4("1.0000"),
                "volume_ratio_override": None,
            },
            now=now - timedelta(days=11),
        )
        world = World(session=session, bureau=bureau, batch=batch, items=[item])
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
    from alembic import command

    from app.cli import alembic_config

    url = databases.new()
    command.upgrade(alembic_config(url), "head")
    config = Config(
        env="testing",
        database_url=url,
        secret_key="browser-test-secret-" + "y" * 32,
        instance_path=str(tmp_path_factory.mktemp("browser-instance")),
        bid_sealing_key=SEALING_KEY,
    )
    app = create_app(config)
    db = get_db(app)
    ids = _seed(db)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        shots = ARTIFACTS / str(request.config.getoption("--db"))
        shutil.rmtree(shots, ignore_errors=True)
        shots.mkdir(parents=True)
        yield Site(url=f"http://127.0.0.1:{server.server_port}", app=app, db=db, ids=ids, shots=shots)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        db.engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
        try:
            yield chromium
        finally:
            chromium.close()


class Journey:
    """A browser page for one user, with numbered screenshots."""

    def __init__(self, browser: Any, site: Site, name: str) -> None:
        self.context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.site, self.name, self.step = site, name, 0
        #: CSP violations and script errors the browser reported, and requests to other hosts.
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        self.page.on("request", self._request)

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.problems.append(f"console: {message.text}")

    def _request(self, request: Any) -> None:
        if not request.url.startswith((self.site.url + "/", "data:", "blob:")):
            self.problems.append(f"request to another host: {request.url}")

    def go(self, path: str) -> None:
        self.page.goto(self.site.url + path)

    def shot(self, what: str) -> None:
        self.step += 1
        path = self.site.shots / f"{self.name}-{self.step:02d}-{what}.png"
        self.page.screenshot(path=str(path), full_page=True)

    def login(self, username: str) -> None:
        self.go("/")
        assert "/login" in self.page.url  # strangers are sent to the login page
        self.page.get_by_label(zh("Username")).fill(username)
        self.page.get_by_label(zh("Password")).fill(PASSWORD)
        self.shot("login")
        self.page.get_by_role("button", name=zh("Log in")).click()
        self.page.wait_for_url(self.site.url + "/")
        assert self.page.locator("h1").inner_text() == zh("Dashboard")

    def flash(self) -> str:
        return str(self.page.locator(".flash").first.inner_text())

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def journey(browser: Any, site: Site) -> Iterator[Any]:
    journeys: list[Journey] = []

    def start(name: str) -> Journey:
        j = Journey(browser, site, name)
        journeys.append(j)
        return j

    yield start
    for j in journeys:
        j.shot("last")  # where the journey ended (also when it failed)
        j.close()
    problems = [f"{j.name}: {p}" for j in journeys for p in j.problems]
    assert not problems, "\n".join(problems)


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
    page.get_by_label(zh("Your product ID")).fill(str(site.ids["bid_product"]))
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
    page.get_by_role("button", name="Execute").click()
    body = page.locator(".responses-wrapper .live-responses-table .response-col_description pre").first
    assert "web-bureau" in body.inner_text()
    j.shot("docs-try-it-out")
