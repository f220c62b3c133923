"""The enterprise working day in a real browser (tests/web/conftest.py): the distributor accepts
and ships an order, prints its delivery note, invoices the delivery with the product on each line,
credits a returned line with a red-letter invoice and files a settlement application whose lines
name their products; the manufacturer picks its product, submits a sealed bid and prints the bid
receipt, which carries no price.

The PDFs are read back with poppler (pdftotext) and their first page is rendered beside the
screenshots (pdftoppm), so they can be compared like the pages."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from app.db import Database
from bidding import demand
from bidding.models import BatchStatus, Bid
from core import clock
from core.actors import OrgKind, Role
from ledger.models import Invoice, InvoiceKind, InvoiceLine, ReceiptLine, SettlementApplication, ShipmentLine
from ledger.services import invoicing, ordering
from tests.factories import actor_of, make_org, make_user
from tests.ordering import NOW, make_market
from tests.tendering import live_batch
from tests.web.conftest import Site, needs_browser, serve, zh

pytestmark = [
    needs_browser,
    pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils missing"),
]


def _seed(db: Database) -> dict[str, Any]:
    """An order waiting for the distributor; an earlier delivery invoiced and confirmed in the
    scenario's month (to file for settlement); a batch open for bidding now with the
    manufacturer's product; one user per role played."""
    with db.sessionmaker() as session:
        market = make_market(session)
        waiting: Any = market.order(12)
        earlier: Any = market.order(4)
        shipment: Any = market.accept_and_ship(earlier.id, 4)
        receipt = ordering.confirm_receipt(
            session,
            market.hospital_actor,
            shipment.lines[0].id,
            accepted=4,
            rejected=0,
            reason_code=None,
            now=NOW,
        )
        price = market.listing.pack_price_fen
        invoice = invoicing.record_invoice(
            session,
            market.distributor_actor,
            hospital_id=market.hospital.id,
            invoice_code="051001",
            invoice_number="88000001",
            issued_on=NOW.date(),
            tax_rate=Decimal("0.13"),
            lines=[invoicing.InvoiceLineRequest(receipt.id, 4, 4 * price)],
            now=NOW,
        )
        invoicing.decide_invoice_line(
            session, market.hospital_actor, invoice.lines[0].id, confirm=True, reason=None, now=NOW
        )
        make_user(session, market.distributor, Role.OPERATOR, username="ent-distributor")

        now = clock.now()
        bureau = actor_of(make_user(session, make_org(session, OrgKind.BUREAU), Role.ADMIN))
        world = live_batch(session, bureau, name="企业旅程投标批次", generic_name="旅程测试药")
        batch, item = world.batch, world.items[0]
        maker = world.manufacturer("旅程")
        product_id = world.product("旅程", item)
        make_user(session, maker, Role.OPERATOR, username="ent-manufacturer")
        hospital = make_org(session, OrgKind.HOSPITAL, region_code="510104")
        world.to(BatchStatus.DEMAND_COLLECTION, now - timedelta(days=9))
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
            "waiting_order": waiting.id,
            "hospital": market.hospital.id,
            "hospital_name": market.hospital.name,
            "hospital_user": market.hospital_actor,
            "product": f"{market.listing.product.generic_name} {market.listing.product.spec_text}",
            "price_fen": price,
            "period": NOW.strftime("%Y-%m"),
            "batch": batch.id,
            "item": item.id,
            "bid_product": product_id,
        }


@pytest.fixture(scope="module")
def site(
    databases: Any, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Site]:
    with serve(databases, tmp_path_factory, request, _seed) as served:
        yield served


def _pdf(j: Any, response: Any, what: str) -> str:
    """The PDF's text; its first page is saved as a picture beside the journey's screenshots."""
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    data = response.body()
    j.step += 1
    stem = j.site.shots / f"{j.name}-{j.step:02d}-{what}"
    stem.with_suffix(".pdf").write_bytes(data)
    if shutil.which("pdftoppm"):
        subprocess.run(
            ["pdftoppm", "-png", "-r", "80", "-singlefile", str(stem.with_suffix(".pdf")), str(stem)],
            check=True,
        )
    stem.with_suffix(".pdf").unlink()
    done = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True)
    return done.stdout.decode()


def test_distributor_ships_prints_invoices_credits_and_files_for_settlement(journey: Any, site: Site) -> None:
    j = journey("distributor")
    page = j.page
    page.on("dialog", lambda dialog: dialog.accept())  # the data-confirm questions, answered yes
    j.login("ent-distributor")
    order_id = site.ids["waiting_order"]
    product = site.ids["product"]

    # Accept the order and ship it; the shipment form names each row's product.
    j.go(f"/orders/{order_id}")
    page.get_by_role("button", name=zh("Accept order")).click()
    assert j.flash() == zh("Order accepted.")
    ship = page.locator("form[action$='/shipments']")
    assert product in ship.inner_text()
    ship.get_by_label(zh("Delivery note number")).fill("PS-J-0001")
    ship.locator("input[name^='batch-']").fill("BJ20261201")
    ship.locator("input[name^='expiry-']").fill("2028-11-30")
    j.shot("ship-form")
    ship.get_by_role("button", name=zh("Record shipment")).click()
    assert zh("Shipment %(id)s recorded.").split("%")[0] in j.flash()
    j.shot("shipped")

    # The delivery note: parties, product, batch, totals, QR text, signature lines.
    link = page.locator("a[id^='delivery-note-']").first
    href = str(link.get_attribute("href"))
    text = _pdf(j, page.context.request.get(site.url + href), "delivery-note")
    shipment_id = int(href.split("/")[2])
    for expected in (
        "配送单",
        site.ids["hospital_name"],
        f"FH{shipment_id:010d}",
        f"DD{order_id:08d}",
        "PS-J-0001",
        "BJ20261201",
        "2028-11-30",
        "发货人签字",
        "收货人签字",
        f"VBP-PSD:FH{shipment_id:010d}:",
    ):
        assert expected in text, expected

    # The hospital accepts the delivery (its own journey is elsewhere).
    with site.db.sessionmaker() as s:
        visible = ordering.shipment_lines_visible_to(site.ids["hospital_user"])
        line = s.scalars(visible.order_by(ShipmentLine.id.desc())).first()
        assert line is not None
        ordering.confirm_receipt(
            s, site.ids["hospital_user"], line.id, accepted=12, rejected=0, reason_code=None, now=clock.now()
        )
        s.commit()

    # Invoice it: the form shows the product on each row.
    page.get_by_role("link", name=zh("Invoices"), exact=True).click()
    page.get_by_role("link", name=zh("Issue an invoice")).click()
    row = page.locator("tr", has=page.get_by_role("link", name=f"DD{order_id:08d}"))
    assert product in row.inner_text()
    assert "BJ20261201" in row.inner_text()
    row.get_by_role("checkbox").check()
    page.get_by_label(zh("Invoice number (8–20 digits)")).fill("88000002")
    page.get_by_label(zh("Issued on")).fill(clock.business_date(clock.now()).isoformat())
    j.shot("invoice-form")
    page.get_by_role("button", name=zh("Record invoice")).click()
    assert zh("Invoice %(number)s recorded.").split("%")[0] in j.flash()
    j.shot("invoiced")

    # The hospital returns 5 packs of the invoiced delivery: a red-letter invoice is due.
    with site.db.sessionmaker() as s:
        receipt = s.scalars(select(ReceiptLine).order_by(ReceiptLine.id.desc())).first()
        assert receipt is not None
        ordering.record_return(
            s, site.ids["hospital_user"], receipt.id, quantity=5, reason="包装破损", now=clock.now()
        )
        s.commit()
    page.get_by_role("link", name=zh("Red-letter invoices")).click()
    form = page.locator("form[id^='credit-']").first
    assert product in form.inner_text()
    assert "包装破损" in form.inner_text()
    assert form.locator("input[name^='qty-']").input_value() == "5"
    form.get_by_label(zh("Red-letter invoice number (8–20 digits)")).fill("88000003")
    # More packs than the line has left: refused, the row named, what was typed kept.
    form.locator("input[name^='qty-']").fill("13")
    j.shot("red-letter-form")
    form.get_by_role("button", name=zh("Issue red-letter invoice")).click()
    assert zh("Row %(n)s").replace("%(n)s", "1") in page.locator(".flash").all_inner_texts()[-1]
    form = page.locator("form[id^='credit-']").first
    assert form.locator("input[name^='qty-']").input_value() == "13"
    assert form.get_by_label(zh("Red-letter invoice number (8–20 digits)")).input_value() == "88000003"
    j.shot("red-letter-refused")
    form.locator("input[name^='qty-']").fill("5")
    form.get_by_role("button", name=zh("Issue red-letter invoice")).click()
    assert zh("Red-letter invoice %(number)s recorded.").split("%")[0] in j.flash()
    assert "88000003" in page.locator("table").last.inner_text()
    j.shot("red-letter-issued")
    with site.db.sessionmaker() as s:
        red = s.scalars(select(Invoice).where(Invoice.kind == InvoiceKind.RED)).one()
        credit = s.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id == red.id)).one()
        assert (credit.quantity, credit.amount_fen) == (-5, -5 * site.ids["price_fen"])

    # File the settlement application of the scenario's month for the hospital, picked by name.
    page.get_by_role("link", name=zh("Settlement"), exact=True).click()
    page.get_by_label(zh("Hospital"), exact=True).select_option(label=site.ids["hospital_name"])
    page.get_by_label(zh("Month settled")).fill(site.ids["period"])
    j.shot("settlement-form")
    page.get_by_role("button", name=zh("File application")).click()
    assert zh("Settlement application %(id)s filed.").split("%")[0] in j.flash()
    with site.db.sessionmaker() as s:
        application = s.scalars(select(SettlementApplication)).one()
    page.get_by_role("link", name=str(application.id), exact=True).click()
    lines = page.locator("#settlement-lines").inner_text()
    assert product in lines
    assert "88000001" in lines
    j.shot("settlement-lines")


def test_manufacturer_picks_its_product_bids_sealed_and_prints_the_receipt(journey: Any, site: Site) -> None:
    j = journey("manufacturer")
    page = j.page
    j.login("ent-manufacturer")
    page.get_by_role("link", name=zh("Batches and bids")).click()
    page.get_by_role("link", name="企业旅程投标批次").click()
    j.shot("batch")
    page.get_by_label(zh("Item"), exact=True).select_option(str(site.ids["item"]))
    picker = page.get_by_label(zh("Your product"), exact=True)
    assert picker.input_value() == str(site.ids["bid_product"])  # the only product of the item, chosen
    assert "旅程测试药 10mg×100" in picker.inner_text()
    page.get_by_label(zh("Price per pack (yuan)")).fill("37.50")
    j.shot("bid-form")
    page.get_by_role("button", name=zh("Seal and submit bid")).click()
    digest = page.locator("#receipt-digest").inner_text()
    salt = page.locator("#receipt-salt").inner_text()
    assert "37.50" not in page.content()
    j.shot("receipt")

    # The printable receipt: the form's own token and salt, posted as the button does.
    form = page.locator("form[action$='/receipt.pdf']")
    response = page.context.request.post(
        site.url + str(form.get_attribute("action")),
        form={
            "csrf_token": str(form.locator("input[name='csrf_token']").input_value()),
            "salt": str(form.locator("input[name='salt']").input_value()),
        },
    )
    text = _pdf(j, response, "bid-receipt")
    flat = text.replace("\n", "").replace(" ", "")
    assert digest in flat
    assert salt in flat
    assert "企业旅程投标批次" in text
    assert "37.50" not in text
    assert "3750" not in flat
    with site.db.sessionmaker() as s:
        bid = s.scalars(select(Bid).where(Bid.batch_id == site.ids["batch"])).one()
        assert bid.product_id == site.ids["bid_product"]
        assert bid.public_id in flat
