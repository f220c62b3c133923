"""The public verification page: the QR code on a statement PDF opens a readable page for anyone
(no login) that says whether the code is real, which statement it belongs to (period, parties,
version), whether that version is still the current one, and each party's decision; no amounts.
An unknown code gets a readable "not found" page with 404."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.db import Database
from core.money import fen_to_str
from ledger import statements
from ledger.models import Statement
from tests.ledger.test_reconcile import FILED, PERIOD, PRICE, Line
from tests.ordering import Market, make_market
from tests.web.conftest import Site, needs_browser, serve, zh


@pytest.fixture
def market(session: Session) -> Market:
    return make_market(session)


def _generate(market: Market) -> list[Statement]:
    made = statements.generate(market.session, market.world.bureau, period=PERIOD, as_of=FILED, now=FILED)
    market.session.commit()
    return made.created


def _grouped(code: str) -> str:
    return " ".join(code[i : i + 4].upper() for i in range(0, len(code), 4))


def test_a_stranger_reads_what_the_code_belongs_to(client: FlaskClient, market: Market) -> None:
    Line(market, 10).place().accept().receive(10).invoice_all()
    [st] = _generate(market)
    statements.decide(market.session, market.hospital_actor, st.id, confirm=True, reason=None, now=FILED)
    market.session.commit()

    response = client.get(f"/verify/{st.digest}")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert zh("This verification code belongs to a statement issued by the platform.") in html
    assert st.payload["number"] in html
    assert "2026-05" in html
    assert market.hospital.name in html
    assert market.distributor.name in html
    assert "V1" in html
    assert zh("Yes, this is the current version.") in html
    # Each party's decision, in words (core/glossary.py), never the raw code.
    assert "已确认" in html
    assert "待确认" in html
    assert ">confirmed<" not in html
    assert ">pending<" not in html
    # No amounts: not the ordered, invoiced or paid sum.
    assert fen_to_str(10 * PRICE) not in html
    # Machines keep the JSON endpoint; the page links to it.
    assert f"/api/v1/statements/verify/{st.digest}" in html
    # The code as printed (grouped, upper case) is the same code.
    assert st.payload["number"] in client.get(f"/verify/{_grouped(st.digest)}").get_data(as_text=True)


def test_a_superseded_version_says_so(client: FlaskClient, market: Market) -> None:
    line = Line(market, 10).place().accept().receive(10).invoice_all()
    [v1] = _generate(market)
    line.settle_and_pay()
    [v2] = _generate(market)
    old = client.get(f"/verify/{v1.digest}").get_data(as_text=True)
    assert zh("No: a newer version of this statement exists.") in old
    assert "V2" in old  # names the version to ask for
    new = client.get(f"/verify/{v2.digest}").get_data(as_text=True)
    assert zh("Yes, this is the current version.") in new


@pytest.mark.parametrize("code", ["0" * 64, "not-a-code", "ab" * 40])
def test_an_unknown_code_is_a_readable_not_found_page(client: FlaskClient, code: str) -> None:
    response = client.get(f"/verify/{code}")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert zh("No statement has this verification code.") in html
    assert "<script>" not in html


def test_the_page_is_public_and_the_policy_holds(client: FlaskClient, market: Market) -> None:
    Line(market, 10).place().accept()
    [st] = _generate(market)
    response = client.get(f"/verify/{st.digest}")
    assert response.status_code == 200  # no redirect to the login page
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers.get("X-Robots-Tag") == "noindex"


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils (pdftotext) not installed")
def test_the_statement_pdf_points_to_the_page(app: Flask, client: FlaskClient, market: Market) -> None:
    from reports.statement_pdf import render_statement
    from reports.statements import to_document

    Line(market, 10).place().accept()
    [st] = _generate(market)
    base = app.config["VBP"].statement_verify_url_base()
    assert base == f"{app.config['VBP'].public_url}/verify"
    pdf = render_statement(to_document(market.session, st, verify_url_base=base))
    text = subprocess.run(["pdftotext", "-raw", "-", "-"], input=pdf, capture_output=True, check=True).stdout
    assert f"{base}/{st.digest}" in "".join(text.decode().split())


# --- in a real browser --------------------------------------------------------------------------


def _seed(db: Database) -> dict[str, Any]:
    with db.sessionmaker() as session:
        market = make_market(session)
        Line(market, 10).place().accept().receive(10).invoice_all()
        [st] = _generate(market)
        statements.decide(session, market.distributor_actor, st.id, confirm=True, reason=None, now=FILED)
        session.commit()
        return {"code": st.digest, "number": st.payload["number"], "hospital": market.hospital.name}


@pytest.fixture(scope="module")
def site(
    databases: Any, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Site]:
    with serve(databases, tmp_path_factory, request, _seed) as site:
        yield site


@needs_browser
def test_a_stranger_opens_the_qr_address_and_reads_the_page(site: Site, journey: Any) -> None:
    j = journey("stranger")
    # The QR code's address, on the served site (the configured public address is another host).
    address = f"{site.app.config['VBP'].statement_verify_url_base()}/{site.ids['code']}"
    j.go(address.removeprefix(site.app.config["VBP"].public_url))
    assert "/login" not in j.page.url
    assert j.page.locator("h1").inner_text() == zh("Statement verification")
    text = j.page.inner_text("main")
    assert zh("This verification code belongs to a statement issued by the platform.") in text
    assert site.ids["number"] in text
    assert site.ids["hospital"] in text
    j.shot("valid")
    j.go("/verify/" + "0" * 64)
    assert zh("No statement has this verification code.") in j.page.inner_text("main")
    j.shot("unknown")
