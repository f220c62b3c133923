"""The table toolkit in a real browser on the remaining tables: the hospital searches and exports
its invoice lines, its confirmed deliveries and its settlement applications; the distributor its
applications; the bureau its settlement runs and the reconciliation explorer by a hospital's name.
Screenshots of every step go to `test-artifacts/screenshots/<database>/tables_more_journey/`."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from app.db import Database
from core.actors import OrgKind, Role
from ledger.services import settlement
from tests.factories import actor_of, make_org, make_user
from tests.flows import at, buy, invoice
from tests.ordering import make_market
from tests.web.conftest import Site, needs_browser, serve, zh

pytestmark = needs_browser

MAY, JUNE = date(2026, 5, 1), date(2026, 6, 1)


def _seed(db: Database) -> dict[str, Any]:
    """May's three purchases invoiced, confirmed, filed, confirmed and in an approved run; June's
    two invoiced (one pending) and filed; the other hospital's purchase invoiced and filed."""
    with db.sessionmaker() as session:
        market = make_market(session)
        market.hospital_actor = actor_of(
            make_user(session, market.hospital, Role.ADMIN, username="t2-hospital")
        )
        market.distributor_actor = actor_of(
            make_user(session, market.distributor, Role.OPERATOR, username="t2-distributor")
        )
        make_user(session, make_org(session, OrgKind.BUREAU), Role.AUDITOR, username="t2-bureau")
        lines = []
        for day, packs in ((date(2026, 5, 11), 2), (date(2026, 5, 12), 3), (date(2026, 5, 20), 5)):
            lines.append(invoice(market, buy(market, packs, on=day), packs, on=day))
        june = date(2026, 6, 10)
        lines.append(invoice(market, buy(market, 4, on=june), 4, on=june))
        pending = invoice(market, buy(market, 6, on=june), 6, on=june, confirm=None)
        other = market.other_hospital_actor
        theirs = invoice(market, buy(market, 7, on=june, hospital=other), 7, on=june, hospital=other)

        def file(hospital_id: int, month: date, on: date) -> Any:
            return settlement.file_application(
                session, market.distributor_actor, hospital_id=hospital_id, period_month=month, now=at(on)
            )

        may = file(market.hospital.id, MAY, date(2026, 6, 2))
        settlement.confirm_application(
            session, market.hospital_actor, may.id, disputes={}, now=at(date(2026, 6, 3))
        )
        run = settlement.approve_run(
            session, market.world.bureau, period_month=MAY, now=at(date(2026, 6, 20))
        )
        other_application = file(market.other_hospital.id, JUNE, date(2026, 7, 2))
        session.commit()
        return {
            "product": market.listing.product.generic_name,
            "hospital": market.hospital.name,
            "other_hospital": market.other_hospital.name,
            "invoice_fen": sum(line.amount_fen for line in lines) + pending.amount_fen,
            "pending_number": pending.invoice.invoice_number,
            "pending": pending.id,
            "theirs": theirs.id,
            "may": may.id,
            "other_application": other_application.id,
            "run": run.id,
            "run_fen": run.total_fen,
        }


@pytest.fixture(scope="module")
def site(
    databases: Any, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Site]:
    with serve(databases, tmp_path_factory, request, _seed) as served:
        yield served


def _go(page: Any, control: Any) -> None:
    with page.expect_navigation():
        control.click()


def _search(page: Any, label: str, text: str) -> None:
    page.get_by_label(zh(label)).fill(text)
    _go(page, page.locator("form.table-controls button[type=submit]"))


def _csv(page: Any) -> list[list[str]]:
    with page.expect_download() as download:
        page.get_by_role("link", name=zh("Export CSV")).click()
    data = Path(download.value.path()).read_bytes()
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def _xlsx(page: Any) -> None:
    with page.expect_download() as download:
        page.get_by_role("link", name=zh("Export Excel")).click()
    assert download.value.suggested_filename.endswith(".xlsx")


def _yuan(fen: int) -> str:
    return f"{fen / 100:,.2f}"


def test_hospital_searches_and_exports_invoices_deliveries_and_settlements(journey: Any, site: Site) -> None:
    j = journey("hospital")
    j.login("t2-hospital")
    page, ids = j.page, site.ids

    j.go("/invoices")
    assert page.locator('[data-total="invoiced_fen"]').inner_text() == _yuan(ids["invoice_fen"])
    assert page.locator(f"#invoice-line-{ids['theirs']}").count() == 0
    j.shot("invoices")
    _search(page, "Invoice, party or product", ids["pending_number"])
    assert page.locator("table.data tbody tr").count() == 1
    assert page.locator(f"#invoice-line-{ids['pending']}").is_visible()
    assert page.locator('input[name="pick"]').count() == 1  # the bulk confirmation is still there
    j.shot("invoices-searched-by-number")
    rows = _csv(page)
    assert len(rows) == 3  # header, the line, totals
    assert rows[1][0] == str(ids["pending"])
    _xlsx(page)
    j.shot("invoices-exported")

    j.go("/hospital/deliveries")
    _go(page, page.get_by_role("link", name=zh("All confirmed deliveries: search, export, print")))
    assert page.locator("table.data tbody tr").count() == 5
    j.shot("received")
    page.get_by_label(zh("From")).fill("2026-05-01")
    page.get_by_label(zh("To")).fill("2026-05-31")
    _search(page, "Order number, delivery note, batch, distributor or product", ids["product"])
    assert page.locator("table.data tbody tr").count() == 3
    assert page.locator('[data-total="accepted"]').inner_text() == "10"
    j.shot("received-in-may")
    rows = _csv(page)
    assert len(rows) == 1 + 3 + 1
    _xlsx(page)
    j.shot("received-exported")

    j.go("/hospital/settlements")
    assert page.locator(f"#application-{ids['may']}").is_visible()
    assert page.locator(f"#application-{ids['other_application']}").count() == 0
    j.shot("settlements")
    _search(page, "Application number or enterprise", str(ids["may"]))
    assert page.locator("section.card").count() == 1
    j.shot("settlements-searched")
    rows = _csv(page)
    assert [r[0] for r in rows[1:-1]] == [str(ids["may"])]
    j.shot("settlements-exported")


def test_distributor_searches_sorts_and_exports_its_applications(journey: Any, site: Site) -> None:
    j = journey("distributor")
    j.login("t2-distributor")
    page, ids = j.page, site.ids
    j.go("/enterprise/settlement")
    assert page.locator("table.data tbody tr").count() == 2
    j.shot("applications")
    _go(page, page.get_by_role("link", name=zh("Net (yuan)")))
    j.shot("applications-sorted-by-net")
    _search(page, "Application number or party", ids["other_hospital"])
    assert page.locator("table.data tbody tr").count() == 1
    assert page.locator(f"#application-{ids['other_application']}").is_visible()
    j.shot("applications-searched")
    rows = _csv(page)
    assert [r[0] for r in rows[1:-1]] == [str(ids["other_application"])]
    _xlsx(page)
    j.shot("applications-exported")


def test_bureau_searches_runs_and_the_reconciliation_explorer(journey: Any, site: Site) -> None:
    j = journey("bureau")
    j.login("t2-bureau")
    page, ids = j.page, site.ids
    j.go("/bureau/settlement")
    assert page.locator('[data-total="total"]').inner_text() == _yuan(ids["run_fen"])
    j.shot("runs")
    _search(page, "Run number", str(ids["run"]))
    assert page.locator(f"#run-{ids['run']}").is_visible()
    j.shot("runs-searched")
    rows = _csv(page)
    assert [r[0] for r in rows[1:-1]] == [str(ids["run"])]
    _xlsx(page)
    j.shot("runs-exported")

    j.go("/bureau/reconciliation")
    everything = page.locator("table.data tbody tr").count()
    j.shot("explorer")
    _search(page, "Order or line number, product, hospital or enterprise", ids["other_hospital"])
    assert page.locator("table.data tbody tr").count() == 1
    assert everything > 1
    j.shot("explorer-searched")
    rows = _csv(page)
    assert len(rows) == 1 + 1 + 1
    assert ids["other_hospital"] in rows[1]
    _xlsx(page)
    j.shot("explorer-exported")
