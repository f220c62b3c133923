"""Tables in a real browser: a hospital searches and sorts its orders, exports them and reads the
audit log filtered by date with the user who acted; the bureau drills down from a reconciliation
line to its three flows, with the product named on both. Screenshots of every step go to
`test-artifacts/screenshots/<database>/tables_journey/` (tests/web/conftest.py)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.db import Database
from bidding.models import Product
from core import clock
from core.actors import OrgKind, Role
from tests.factories import actor_of, make_org, make_user
from tests.ordering import NOW, make_market
from tests.web.conftest import Site, needs_browser, serve, zh

pytestmark = needs_browser


def _seed(db: Database) -> dict[str, Any]:
    """Orders of three sizes by a named hospital user, one shipped; a bureau auditor."""
    with db.sessionmaker() as session:
        market = make_market(session)
        admin = make_user(session, market.hospital, Role.ADMIN, username="tables-hospital")
        market.hospital_actor = actor_of(admin)
        orders: list[Any] = [market.order(q) for q in (12, 40, 25)]
        market.accept_and_ship(orders[0].id, 12)
        make_user(session, make_org(session, OrgKind.BUREAU), Role.AUDITOR, username="tables-bureau")
        product = session.get(Product, market.listing.product_id)
        assert product is not None
        session.commit()
        return {
            "orders": [o.id for o in orders],
            "amounts": {o.id: o.lines[0].amount_fen for o in orders},
            "shipped_line": orders[0].lines[0].id,
            "product": product.generic_name,
            "spec": product.spec_text,
            "hospital": market.hospital.name,
        }


@pytest.fixture(scope="module")
def site(
    databases: Any, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Site]:
    with serve(databases, tmp_path_factory, request, _seed) as served:
        yield served


def _go(page: Any, control: Any) -> None:
    """Click a link or button and wait for the page it loads."""
    with page.expect_navigation():
        control.click()


def _shown_order_ids(page: Any) -> list[int]:
    links = page.locator("table.data tbody tr td:first-child a").all_inner_texts()
    return [int(text.lstrip("#")) for text in links]


def test_hospital_searches_sorts_exports_and_reads_the_audit_log(journey: Any, site: Site) -> None:
    j = journey("hospital")
    j.login("tables-hospital")
    page = j.page
    ids, amounts = site.ids["orders"], site.ids["amounts"]

    _go(page, page.get_by_role("navigation").get_by_role("link", name=zh("Orders"), exact=True))
    assert sorted(_shown_order_ids(page)) == sorted(ids)
    total = sum(amounts.values())
    assert page.locator('[data-total="amount_fen"]').inner_text() == f"{total / 100:,.2f}"
    j.shot("orders")

    # Search by the order number.
    page.get_by_label(zh("Order, hospital, distributor or product")).fill(str(ids[1]))
    _go(page, page.get_by_role("button", name=zh("Filter")))
    assert _shown_order_ids(page) == [ids[1]]
    j.shot("search-by-number")

    # Search by product name finds all three; sort by amount, largest first, then smallest first.
    page.get_by_label(zh("Order, hospital, distributor or product")).fill(site.ids["product"])
    _go(page, page.get_by_role("button", name=zh("Filter")))
    _go(page, page.get_by_role("link", name=zh("Amount (yuan)")))
    by_amount = sorted(ids, key=lambda i: amounts[i])
    assert _shown_order_ids(page) == list(reversed(by_amount))
    j.shot("sorted-by-amount-desc")
    _go(page, page.get_by_role("link", name=zh("Amount (yuan)")))
    assert _shown_order_ids(page) == by_amount
    j.shot("sorted-by-amount-asc")

    # Printed, the page is the table alone: no menu, no forms, no export links.
    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible()
    assert not page.locator("form.table-controls").is_visible()
    assert page.locator("table.data").is_visible()
    j.shot("print-layout")
    page.emulate_media(media="screen")

    # Export what is shown: every filtered row, in this order, with the totals row.
    with page.expect_download() as download:
        page.get_by_role("link", name=zh("Export CSV")).click()
    data = Path(download.value.path()).read_bytes()
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert [int(r[0]) for r in rows[1:-1]] == by_amount
    assert rows[-1][0] == zh("Total")
    with page.expect_download() as download:
        page.get_by_role("link", name=zh("Export Excel")).click()
    assert download.value.suggested_filename.endswith(".xlsx")
    j.shot("exported")

    # The audit log, filtered to the day the orders were placed, shows who placed them.
    _go(page, page.get_by_role("navigation").get_by_role("link", name=zh("Audit log")))
    day = clock.business_date(NOW).isoformat()
    page.get_by_label(zh("From")).fill(day)
    page.get_by_label(zh("To")).fill(day)
    page.get_by_label(zh("Username")).fill("tables-hospital")
    j.shot("audit-filter")
    _go(page, page.get_by_role("button", name=zh("Search")))
    users = page.locator("td.username").all_inner_texts()
    assert users
    assert set(users) == {"tables-hospital"}
    assert site.ids["hospital"] in page.locator("table.data").inner_text()
    j.shot("audit-by-date-and-user")


def test_bureau_drills_down_from_a_reconciliation_line_to_its_product(journey: Any, site: Site) -> None:
    j = journey("bureau")
    j.login("tables-bureau")
    page = j.page
    _go(page, page.get_by_role("navigation").get_by_role("link", name=zh("Reconciliation"), exact=True))
    products = page.locator("td.product").all_inner_texts()
    assert products
    assert set(products) == {site.ids["product"]}
    assert site.ids["spec"] in page.locator("table.data").inner_text()
    j.shot("explorer")
    _go(page, page.get_by_role("link", name=str(site.ids["shipped_line"]), exact=True))
    assert site.ids["product"] in page.locator("#line-product").inner_text()
    assert site.ids["spec"] in page.locator("#line-product").inner_text()
    j.shot("drill-down")
