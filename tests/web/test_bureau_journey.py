"""The bureau's working day in a real browser (Debian's chromium through Playwright): add a batch
item with the pickers, import items from the downloaded template (a bad row named and nothing
imported, then a good file), list the published winners, approve a price-linked listing, drill
into a settlement run with the product on each line and record its payment, and generate the
month's statements. Screenshots of every step: test-artifacts/screenshots/<db>/bureau_journey/.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.db import Database
from bidding import catalogue, opening
from bidding.models import BatchItem, BatchStatus, Category, DosageFormGroup
from core import clock
from core.actors import Role
from ledger.models import Listing, ListingStatus, Payment, Statement
from ledger.services import listings, settlement
from tests.factories import make_user
from tests.ledger.test_reconcile import FILED, PERIOD, Line
from tests.ordering import make_market
from tests.tendering import AT_OPENING, DURING_DEMAND, TIMELINE, make_world
from tests.web.conftest import Site, needs_browser, serve, zh

pytestmark = needs_browser


def _seed(db: Database) -> dict[str, int]:
    """A draft batch, a batch whose results are published but not listed, a flagged price-linked
    application held for the bureau's review, and an approved settlement run; all committed."""
    with db.sessionmaker() as session:
        market = make_market(session)
        market.hospital.name = "成都市第一人民医院"
        market.distributor.name = "四川医药配送有限公司"
        Line(market, 10).place().accept().receive(10).invoice_all()
        application = settlement.file_application(
            session, market.distributor_actor, hospital_id=market.hospital.id, period_month=PERIOD, now=FILED
        )
        settlement.confirm_application(session, market.hospital_actor, application.id, disputes={}, now=FILED)
        run = settlement.approve_run(session, market.world.bureau, period_month=PERIOD, now=FILED)

        winner = market.world.actor(market.world.manufacturer("A"))
        linked = listings.apply_price_linked(
            session,
            winner,
            product_id=market.award.product_id,
            region_code="510600",
            pack_price_fen=market.award.pack_price_fen + 100,
            now=AT_OPENING,
        )
        assert linked.status is ListingStatus.APPLIED  # above the reference: held for review

        published = make_world(session)  # a second batch: opened and published, not yet listed
        published.batch.name = "已公布未挂网批次"
        item = published.items[0]
        published.to(BatchStatus.DEMAND_COLLECTION, DURING_DEMAND)
        published.report(market.hospital, item, 30_000)
        published.to(BatchStatus.BIDDING, TIMELINE["demand_closes_at"])
        published.bid("丙", item, "0.2500")
        published.bid("丁", item, "0.3500")
        published.open()
        opening.publish_results(
            session, published.bureau, published.batch.id, now=AT_OPENING + timedelta(days=1), days=0
        )

        draft = make_world(session)
        draft.batch.name = "新建草稿批次"
        maker = draft.manufacturer("华西")
        catalogue.create_product(
            session,
            draft.bureau,
            data={
                "category": Category.DRUG,
                "code": "XA99000001",
                "generic_name": "阿托伐他汀钙片",
                "dosage_form": "片剂",
                "dosage_form_group": DosageFormGroup.ORAL_SOLID,
                "strength_value": "20",
                "strength_unit": "mg",
                "fill_volume_ml": None,
                "spec_text": "20mg×28片",
                "min_unit": "片",
                "units_per_pack": 28,
                "mah_uscc": maker.uscc,
                "originator": False,
                "reference_listed": False,
                "consistency_evaluated": True,
                "registration_no": None,
            },
            now=AT_OPENING,
        )
        bureau_org = session.get(type(market.hospital), market.world.bureau.org_id)
        make_user(session, bureau_org, Role.ADMIN, username="journey-bureau")
        session.commit()
        return {
            "draft_batch": draft.batch.id,
            "published_batch": published.batch.id,
            "linked": linked.id,
            "run": run.id,
            "application": application.id,
            "hospital": market.hospital.id,
            "other_hospital": market.other_hospital.id,
            "product_code": market.listing.product.code,
        }


@pytest.fixture(scope="module")
def site(
    databases: Any, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Site]:
    with serve(databases, tmp_path_factory, request, _seed) as served:
        yield served


def _count(site: Site, stmt: Any) -> int:
    with site.db.sessionmaker() as session:
        return int(session.scalar(stmt) or 0)


def _items(site: Site) -> int:
    batch_id = site.ids["draft_batch"]
    return _count(site, select(func.count()).select_from(BatchItem).where(BatchItem.batch_id == batch_id))


def _filled(template: Path, rows: list[list[object]], to: Path) -> Path:
    book = load_workbook(template)
    for row in rows:
        book.worksheets[0].append(row)
    book.save(to)
    return to


def test_the_bureau_works_through_its_day(journey: Any, site: Site, tmp_path: Path) -> None:
    j = journey("bureau")
    page = j.page
    page.on("dialog", lambda dialog: dialog.accept())  # the confirmations (data-confirm) say yes
    j.login("journey-bureau")
    j.shot("dashboard")

    # 1. Add an item by the form: the generic name is picked from the catalogue, never an id.
    j.go(f"/bureau/batches/{site.ids['draft_batch']}")
    assert page.locator("#pick-generic_name-list option[value='阿托伐他汀钙片']").count() == 1
    label = page.locator("#pick-generic_name-list option[value='阿托伐他汀钙片']").get_attribute("label")
    assert label is not None
    assert "20mg×28片" in label
    assert "XA99000001" in label
    page.get_by_label(zh("Generic name")).fill("阿托伐他汀钙片")
    page.get_by_label(zh("Dosage form group")).select_option("oral_solid")
    page.get_by_label(zh("Representative strength")).fill("20")
    page.get_by_label(zh("Strength unit")).fill("mg")
    page.get_by_label(zh("Other allowed strengths (separated by ;)")).fill("10; 40")
    page.get_by_label(zh("Ceiling per unit (yuan)"), exact=True).fill("0.8765")
    j.shot("item-form")
    page.get_by_role("button", name=zh("Add the item")).click()
    assert zh("Item %(name)s added.").split("%")[0] in j.flash()
    assert _items(site) == 2
    j.shot("item-added")

    # 2. Import from the downloaded template: one bad row is named and nothing is imported.
    with page.expect_download() as download:
        page.get_by_role("link", name=zh("Download the xlsx template")).click()
    template = tmp_path / "template.xlsx"
    download.value.save_as(template)
    good = ["瑞舒伐他汀钙片", "oral_solid", "10", "mg", "content", "5;20", "0.5000", "1.2"]
    bad = _filled(
        template,
        [good, ["氨氯地平片", "oral_solid", "5", "mg", "content", None, "很便宜", None]],
        tmp_path / "bad.xlsx",
    )
    page.get_by_label(zh("Filled template (xlsx or csv)")).set_input_files(str(bad))
    j.shot("import-bad-file")
    page.get_by_role("button", name=zh("Import all rows")).click()
    errors = page.locator("#row-errors").inner_text()
    assert "第 3 行" in errors
    assert "第 2 行" not in errors
    assert _items(site) == 2
    j.shot("import-refused")
    fixed = ["氨氯地平片", "oral_solid", "5", "mg", "content", None, "0.1500", None]
    ok = _filled(template, [good, fixed], tmp_path / "good.xlsx")
    page.get_by_label(zh("Filled template (xlsx or csv)")).set_input_files(str(ok))
    page.get_by_role("button", name=zh("Import all rows")).click()
    assert zh("%(n)s items imported.").replace("%(n)s", "2") in j.flash()
    assert _items(site) == 4
    j.shot("import-done")

    # 3. List the published winners of the other batch.
    j.go(f"/bureau/batches/{site.ids['published_batch']}")
    j.shot("published-batch")
    page.get_by_role("button", name=zh("List the winners (create listings)")).click()
    created = zh("%(n)s listings created from the results.").split("%(n)s")
    assert j.flash().startswith(created[0])
    assert " 0 " not in j.flash()
    j.shot("listings-created")

    # 4. Approve the price-linked listing that was held for review.
    j.go("/bureau/listings")
    page.get_by_role("link", name=zh("Review price-linked applications")).click()
    row = page.locator("#price-linked tbody tr", has_text=zh("Above the reference price")).first
    assert "德阳市" in row.inner_text()
    j.shot("price-linked-review")
    row.get_by_placeholder(zh("Reason")).fill("与外省最低价一致，同意挂网")
    row.get_by_role("button", name=zh("Approve and list")).click()
    assert zh("Listing %(id)s is now %(status)s.").split("%(id)s")[0] in j.flash()
    with site.db.sessionmaker() as session:
        assert session.get_one(Listing, site.ids["linked"]).status is ListingStatus.LISTED
    j.shot("price-linked-approved")

    # 5. Drill into the settlement run: the product on every line; record the payment.
    j.go("/bureau/settlement")
    page.get_by_role("link", name=str(site.ids["run"]), exact=True).click()
    lines = page.locator("#run-lines").inner_text()
    assert site.ids["product_code"] in lines
    j.shot("run-drill-down")
    page.get_by_label(
        zh("Bank reference for application %(id)s").replace("%(id)s", str(site.ids["application"]))
    ).fill("ICBC-20260610-0001")
    page.get_by_label(zh("Paid on")).fill(clock.business_date(clock.now()).isoformat())
    j.shot("payment-form")
    page.get_by_role("button", name=zh("Record the payments")).click()
    assert zh("%(n)s payments recorded.").replace("%(n)s", "1") in j.flash()
    assert _count(site, select(func.count()).select_from(Payment)) == 1
    assert page.locator("#run-status").inner_text() == zh("Paid")
    j.shot("run-paid")

    # 6. Generate the month's statements, the hospital chosen by searching its name.
    page.get_by_role("link", name=zh("All settlement runs")).click()
    page.get_by_role("link", name=zh("Generate the month's statements")).click()
    page.get_by_label(zh("Month")).fill(PERIOD.strftime("%Y-%m"))
    page.locator("#pick-hospital_id").locator("xpath=preceding-sibling::input[1]").fill("第一人民")
    options = page.locator("#pick-hospital_id")
    # The filter runs on the input event, and again when the server's further matches arrive.
    page.wait_for_function(
        "([other, own]) => { const s = document.getElementById('pick-hospital_id');"
        " const o = [...s.options].find(x => x.value === other);"
        " const m = [...s.options].find(x => x.value === own);"
        " return (!o || o.hidden) && m && !m.hidden; }",
        arg=[str(site.ids["other_hospital"]), str(site.ids["hospital"])],
        timeout=10_000,
    )
    other = options.locator(f"option[value='{site.ids['other_hospital']}']")
    assert other.count() == 0 or other.evaluate("o => o.hidden")
    assert not options.locator(f"option[value='{site.ids['hospital']}']").evaluate("o => o.hidden")
    j.shot("statements-picker-search")
    page.locator("#pick-hospital_id").select_option(str(site.ids["hospital"]))
    j.shot("statements-form")
    page.get_by_role("button", name=zh("Generate the month's statements")).click()
    assert zh("%(created)s statements generated, %(unchanged)s unchanged.").split("%")[0] in j.flash()
    assert _count(site, select(func.count()).select_from(Statement)) == 1
    assert "成都市第一人民医院" in page.locator("#generated").inner_text()
    j.shot("statements-generated")
