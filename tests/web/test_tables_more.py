"""The table toolkit (app/web/tables.py) on the invoice lines, the hospital's confirmed deliveries,
the settlement lists and the reconciliation explorer's search and sort: search, sort, totals over
all pages, CSV/xlsx exports holding exactly what the page would show."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from core.actors import OrgKind, Role
from ledger.models import InvoiceLine, OrderLine
from tests.factories import make_org, make_user
from tests.flows import buy, invoice
from tests.ordering import NOW, Market, make_market
from tests.web.test_pages import web_login


@pytest.fixture
def clock_at_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("core.clock.now", lambda: NOW + timedelta(days=1))


def _client(app: Flask, session: Session, org: Any, role: Role = Role.OPERATOR) -> FlaskClient:
    user = make_user(session, org, role)
    session.commit()
    client = app.test_client()
    assert web_login(client, user.username).status_code == 302
    return client


def _csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"))))


def _yuan(fen: int) -> str:
    return f"{Decimal(fen) / 100:,.2f}"


# --- invoice lines ------------------------------------------------------------------------------


def _invoiced(
    market: Market, packs: list[int], *, other: int = 0
) -> tuple[list[InvoiceLine], list[InvoiceLine]]:
    """Pending invoice lines for the market's hospital (one per quantity) and `other` for the other
    hospital, by the same distributor."""
    day = NOW.date()
    mine = [invoice(market, buy(market, q, on=day), q, on=day, confirm=None) for q in packs]
    theirs = [
        invoice(
            market,
            buy(market, 2, on=day, hospital=market.other_hospital_actor),
            2,
            on=day,
            hospital=market.other_hospital_actor,
            confirm=None,
        )
        for _ in range(other)
    ]
    market.session.commit()
    return mine, theirs


def _invoice_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'id="invoice-line-(\d+)"', html)]


def test_invoices_totals_are_over_all_pages_and_the_callers_lines_only(
    app: Flask, session: Session, clock_at_now: None
) -> None:
    market = make_market(session)
    mine, theirs = _invoiced(market, [1 + i % 5 for i in range(21)], other=1)
    client = _client(app, session, market.hospital)
    html = client.get("/invoices").get_data(as_text=True)
    shown = _invoice_ids(html)
    assert len(shown) == 20  # one page
    assert theirs[0].id not in shown
    total = sum(line.amount_fen for line in mine)
    assert f'data-total="invoiced_fen">{_yuan(total)}<' in html
    assert f'data-total="invoiced_quantity">{sum(line.quantity for line in mine)}<' in html
    # The bulk confirmation is still there.
    assert "/invoice-lines/confirm" in html
    assert 'name="pick"' in html


def test_invoices_search_by_number_product_and_party_and_sort_by_amount(
    app: Flask, session: Session, clock_at_now: None
) -> None:
    market = make_market(session)
    mine, theirs = _invoiced(market, [3, 1, 2], other=1)
    client = _client(app, session, market.hospital)
    number = session.get_one(InvoiceLine, mine[1].id).invoice.invoice_number
    assert _invoice_ids(client.get("/invoices", query_string={"q": number}).get_data(as_text=True)) == [
        mine[1].id
    ]
    # The other hospital's invoice is not found by its number either.
    other_number = session.get_one(InvoiceLine, theirs[0].id).invoice.invoice_number
    assert (
        _invoice_ids(client.get("/invoices", query_string={"q": other_number}).get_data(as_text=True)) == []
    )
    product = market.listing.product.generic_name
    found = _invoice_ids(client.get("/invoices", query_string={"q": product}).get_data(as_text=True))
    assert sorted(found) == sorted(line.id for line in mine)
    assert _invoice_ids(client.get("/invoices?q=no-such%25").get_data(as_text=True)) == []
    ordered = _invoice_ids(client.get("/invoices?sort=invoiced_fen&dir=asc").get_data(as_text=True))
    assert ordered == [mine[1].id, mine[2].id, mine[0].id]
    # A hostile sort key is ignored: the default order (newest line first).
    hostile = _invoice_ids(client.get("/invoices?sort=amount_fen;drop").get_data(as_text=True))
    assert hostile == sorted((line.id for line in mine), reverse=True)
    # The distributor sees both hospitals' lines; the other hospital's name finds its line.
    seller = _client(app, session, market.distributor)
    name = market.other_hospital.name
    assert _invoice_ids(seller.get("/invoices", query_string={"q": name}).get_data(as_text=True)) == [
        theirs[0].id
    ]


def test_invoices_csv_and_xlsx_exports_hold_every_filtered_line_of_the_caller(
    app: Flask, session: Session, clock_at_now: None
) -> None:
    market = make_market(session)
    mine, theirs = _invoiced(market, [1 + i % 4 for i in range(22)], other=2)
    client = _client(app, session, market.hospital)
    response = client.get("/invoices?export=csv&sort=id&dir=asc")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    rows = _csv_rows(response.get_data())
    header, body, footer = rows[0], rows[1:-1], rows[-1]
    assert len(body) == 22  # every row, not the page
    assert [int(r[0]) for r in body] == [line.id for line in mine]
    assert not {str(line.id) for line in theirs} & {r[0] for r in body}
    amount = header.index("金额（元）") if "金额（元）" in header else len(header) - 2
    total = sum(line.amount_fen for line in mine)
    assert footer[amount] == f"{Decimal(total) / 100:.2f}"
    assert market.listing.product.spec_text in body[0]  # the export-only specification

    sheet = load_workbook(io.BytesIO(client.get("/invoices?export=xlsx&status=pending").get_data())).active
    values = list(sheet.iter_rows(values_only=True))  # type: ignore[union-attr]
    assert len(values) == 1 + 22 + 1
    assert values[-1][amount] == Decimal(total) / 100 or values[-1][amount] == float(Decimal(total) / 100)
    # A status filter narrows the export as it narrows the page.
    none = _csv_rows(client.get("/invoices?export=csv&status=confirmed").get_data())
    assert len(none) == 2  # the header and a zero totals row
    assert none[-1][amount] == "0.00"

    # A manufacturer sees no invoice lines: its export is the header and a zero totals row.
    maker = _client(app, session, market.world.manufacturer("A"))
    assert _csv_rows(maker.get("/invoices?export=csv").get_data())[1:] == [none[-1]]


# --- settlement applications and runs -----------------------------------------------------------


def _applications(market: Market) -> tuple[list[Any], Any]:
    """The distributor's applications for the hospital (May: 2 lines, June: 1) and for the other
    hospital (May: 5 packs)."""
    from datetime import date

    from ledger.services import settlement
    from tests.flows import at

    for day in (date(2026, 5, 11), date(2026, 5, 12), date(2026, 6, 10)):
        invoice(market, buy(market, 2, on=day), 2, on=day)
    other = market.other_hospital_actor
    day = date(2026, 5, 13)
    invoice(market, buy(market, 5, on=day, hospital=other), 5, on=day, hospital=other)

    def file(hospital_id: int, month: date, on: date) -> Any:
        return settlement.file_application(
            market.session, market.distributor_actor, hospital_id=hospital_id, period_month=month, now=at(on)
        )

    mine = [file(market.hospital.id, date(2026, 5, 1), date(2026, 6, 2))]
    mine.append(file(market.hospital.id, date(2026, 6, 1), date(2026, 7, 2)))
    theirs = file(market.other_hospital.id, date(2026, 5, 1), date(2026, 6, 3))
    market.session.commit()
    return mine, theirs


def _application_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'id="application-(\d+)"', html)]


def test_the_distributors_applications_search_sort_total_and_export(app: Flask, session: Session) -> None:
    market = make_market(session)
    (may, june), theirs = _applications(market)
    client = _client(app, session, market.distributor)
    html = client.get("/enterprise/settlement").get_data(as_text=True)
    assert _application_ids(html) == [theirs.id, june.id, may.id]
    net = may.net_fen + june.net_fen + theirs.net_fen
    assert f'data-total="net">{_yuan(net)}<' in html
    name = market.other_hospital.name
    found = client.get("/enterprise/settlement", query_string={"q": name}).get_data(as_text=True)
    assert _application_ids(found) == [theirs.id]
    assert _application_ids(client.get(f"/enterprise/settlement?q={may.id}").get_data(as_text=True)) == [
        may.id
    ]
    ordered = client.get("/enterprise/settlement?sort=net&dir=asc").get_data(as_text=True)
    by_net = sorted((may, june, theirs), key=lambda a: (a.net_fen, a.id))
    assert _application_ids(ordered) == [a.id for a in by_net]
    # Filed in June only: May's two applications.
    dated = client.get("/enterprise/settlement?from=2026-06-01&to=2026-06-30").get_data(as_text=True)
    assert sorted(_application_ids(dated)) == sorted((may.id, theirs.id))

    rows = _csv_rows(client.get("/enterprise/settlement?export=csv&sort=id&dir=asc").get_data())
    assert [int(r[0]) for r in rows[1:-1]] == [may.id, june.id, theirs.id]
    assert f"{Decimal(net) / 100:.2f}" in rows[-1]
    sheet = load_workbook(io.BytesIO(client.get("/enterprise/settlement?export=xlsx").get_data())).active
    assert sheet.max_row == 1 + 3 + 1  # type: ignore[union-attr]

    # Another distributor sees none of them.
    stranger = _client(app, session, make_org(session, OrgKind.DISTRIBUTOR))
    assert _csv_rows(stranger.get("/enterprise/settlement?export=csv").get_data())[1:-1] == []


def test_the_hospitals_applications_are_its_own_in_the_page_and_the_export(
    app: Flask, session: Session
) -> None:
    market = make_market(session)
    (may, june), theirs = _applications(market)
    client = _client(app, session, market.hospital)
    html = client.get("/hospital/settlements").get_data(as_text=True)
    assert sorted(_application_ids(html)) == sorted((may.id, june.id))
    assert f'data-total="net">{_yuan(may.net_fen + june.net_fen)}<' in html
    assert "/decision" in html  # the decision forms stay
    assert _application_ids(client.get(f"/hospital/settlements?q={theirs.id}").get_data(as_text=True)) == []
    assert _application_ids(client.get(f"/hospital/settlements?q={june.id}").get_data(as_text=True)) == [
        june.id
    ]
    ordered = client.get("/hospital/settlements?sort=net&dir=desc").get_data(as_text=True)
    assert _application_ids(ordered) == [may.id, june.id]  # May's two lines are worth more
    rows = _csv_rows(client.get("/hospital/settlements?export=csv").get_data())
    assert sorted(int(r[0]) for r in rows[1:-1]) == sorted((may.id, june.id))
    assert str(theirs.id) not in {r[0] for r in rows[1:-1]}


def test_the_bureaus_settlement_runs_search_total_and_export(app: Flask, session: Session) -> None:
    from ledger.services import settlement
    from tests.ledger.test_reconcile import FILED, PERIOD, Line

    market = make_market(session)
    Line(market, 10).place().accept().receive(10).invoice_all()
    application = settlement.file_application(
        session, market.distributor_actor, hospital_id=market.hospital.id, period_month=PERIOD, now=FILED
    )
    settlement.confirm_application(session, market.hospital_actor, application.id, disputes={}, now=FILED)
    run = settlement.approve_run(session, market.world.bureau, period_month=PERIOD, now=FILED)
    session.commit()
    client = _client(app, session, make_org(session, OrgKind.BUREAU))
    html = client.get("/bureau/settlement").get_data(as_text=True)
    assert f'id="run-{run.id}"' in html
    assert f'data-total="total">{_yuan(run.total_fen)}<' in html
    assert f'id="run-{run.id}"' in client.get(f"/bureau/settlement?q={run.id}").get_data(as_text=True)
    assert f'id="run-{run.id}"' not in client.get(f"/bureau/settlement?q={run.id + 1}").get_data(as_text=True)
    day = FILED.date()
    later = (day + timedelta(days=2)).isoformat()
    assert f'id="run-{run.id}"' not in client.get(f"/bureau/settlement?from={later}").get_data(as_text=True)
    rows = _csv_rows(client.get("/bureau/settlement?export=csv").get_data())
    assert [int(r[0]) for r in rows[1:-1]] == [run.id]
    assert rows[-1][2] == f"{Decimal(run.total_fen) / 100:.2f}"


# --- confirmed deliveries -----------------------------------------------------------------------


def test_confirmed_deliveries_search_dates_totals_and_export_are_the_hospitals_own(
    app: Flask, session: Session, clock_at_now: None
) -> None:
    day = NOW.date()
    market = make_market(session)
    mine = [buy(market, q, on=day - timedelta(days=q)) for q in (1, 2, 3)]
    theirs = buy(market, 4, on=day, hospital=market.other_hospital_actor)
    session.commit()
    client = _client(app, session, market.hospital)
    assert "/hospital/deliveries/received" in client.get("/hospital/deliveries").get_data(as_text=True)
    html = client.get("/hospital/deliveries/received").get_data(as_text=True)
    shown = [int(n) for n in re.findall(r'id="receipt-(\d+)"', html)]
    assert shown == sorted((b.receipt.id for b in mine), reverse=True)
    assert theirs.receipt.id not in shown
    assert 'data-total="accepted">6<' in html
    price = session.get_one(OrderLine, mine[0].line_id).pack_price_fen
    assert f'data-total="accepted_fen">{_yuan(6 * price)}<' in html
    # Accepted two or three days ago: the range leaves out yesterday's.
    since = (day - timedelta(days=3)).isoformat()
    until = (day - timedelta(days=2)).isoformat()
    dated = client.get(f"/hospital/deliveries/received?from={since}&to={until}").get_data(as_text=True)
    assert sorted(int(n) for n in re.findall(r'id="receipt-(\d+)"', dated)) == sorted(
        (mine[1].receipt.id, mine[2].receipt.id)
    )
    assert 'data-total="accepted">5<' in dated
    by_order = client.get(f"/hospital/deliveries/received?q={mine[0].order_id}").get_data(as_text=True)
    assert re.findall(r'id="receipt-(\d+)"', by_order) == [str(mine[0].receipt.id)]
    foreign = client.get(f"/hospital/deliveries/received?q={theirs.order_id}").get_data(as_text=True)
    assert re.findall(r'id="receipt-(\d+)"', foreign) == []
    ordered = client.get("/hospital/deliveries/received?sort=accepted&dir=asc").get_data(as_text=True)
    assert [int(n) for n in re.findall(r'id="receipt-(\d+)"', ordered)] == [b.receipt.id for b in mine]

    rows = _csv_rows(
        client.get("/hospital/deliveries/received?export=csv&sort=receipt_no&dir=asc").get_data()
    )
    assert [int(r[0]) for r in rows[1:-1]] == [b.receipt.id for b in mine]
    assert rows[-1][-1] == f"{Decimal(6 * price) / 100:.2f}"
    sheet = load_workbook(
        io.BytesIO(client.get("/hospital/deliveries/received?export=xlsx").get_data())
    ).active
    assert sheet.max_row == 1 + 3 + 1  # type: ignore[union-attr]
    # The page is the hospital's: a distributor is refused it, export included.
    seller = _client(app, session, market.distributor)
    assert seller.get("/hospital/deliveries/received?export=csv").status_code == 403
    # Printed: every row on one page, the print dialogue opened by static/tables.js.
    printed = client.get("/hospital/deliveries/received?print=1").get_data(as_text=True)
    assert "data-autoprint" in printed
    assert len(re.findall(r'id="receipt-(\d+)"', printed)) == 3


# --- the reconciliation explorer's search -------------------------------------------------------


def _line_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'href="/bureau/reconciliation/lines/(\d+)"', html)]


def test_the_reconciliation_explorer_searches_by_number_product_and_party(
    app: Flask, session: Session
) -> None:
    from ledger.services import ordering

    market = make_market(session)
    first: Any = market.order(10)
    second: Any = market.order(4)
    other = ordering.place_orders(
        session,
        market.other_hospital_actor,
        distributor_id=market.distributor.id,
        lines=[ordering.LineRequest(market.listing.id, 3)],
        urgency=ordering.Urgency.NORMAL,
        now=NOW,
    )
    session.commit()
    client = _client(app, session, make_org(session, OrgKind.BUREAU), Role.AUDITOR)
    everything = client.get("/bureau/reconciliation").get_data(as_text=True)
    assert 'name="q"' in everything
    assert len(_line_ids(everything)) == 3

    name = market.other_hospital.name
    found = client.get("/bureau/reconciliation", query_string={"q": name}).get_data(as_text=True)
    assert _line_ids(found) == [other.lines[0].id]
    # The totals row and the per-status summary follow the search (the domain's own sums).
    amount = other.lines[0].amount_fen
    assert f'data-total="amount_fen">{_yuan(amount)}<' in found
    status_links = [u for u in re.findall(r'href="(/bureau/reconciliation\?[^"]*)"', found) if "status=" in u]
    assert status_links
    assert all("q=" in u for u in status_links)  # a status picked keeps the search
    # A number is an order's or an order line's (ids of the two may coincide: both match).
    lines = [line for order in (first, second, other) for line in order.lines]
    by_order = client.get(f"/bureau/reconciliation?q={second.id}").get_data(as_text=True)
    assert _line_ids(by_order) == sorted(x.id for x in lines if second.id in (x.id, x.order_id))
    assert second.lines[0].id in _line_ids(by_order)
    by_line = client.get(f"/bureau/reconciliation?q={first.lines[0].id}").get_data(as_text=True)
    assert first.lines[0].id in _line_ids(by_line)
    product = market.listing.product.generic_name
    assert (
        len(
            _line_ids(
                client.get("/bureau/reconciliation", query_string={"q": product}).get_data(as_text=True)
            )
        )
        == 3
    )
    assert _line_ids(client.get("/bureau/reconciliation?q=no-such%25").get_data(as_text=True)) == []
    manufacturer = market.listing.product.mah.name
    by_maker = client.get("/bureau/reconciliation", query_string={"q": manufacturer}).get_data(as_text=True)
    assert len(_line_ids(by_maker)) == 3

    rows = _csv_rows(
        client.get("/bureau/reconciliation", query_string={"q": name, "export": "csv"}).get_data()
    )
    assert [int(r[0]) for r in rows[1:-1]] == [other.lines[0].id]


def test_the_reconciliation_explorer_sorts_the_whole_slice_before_paging(
    app: Flask, session: Session
) -> None:
    market = make_market(session)
    quantities = [3, 41, 7, 25, 1] * 5  # 25 lines: two pages of 20
    orders: list[Any] = [market.order(q) for q in quantities]
    session.commit()
    client = _client(app, session, make_org(session, OrgKind.BUREAU), Role.AUDITOR)
    page = client.get("/bureau/reconciliation?sort=quantity&dir=desc").get_data(as_text=True)
    by_quantity = sorted(orders, key=lambda o: (-o.lines[0].quantity, o.lines[0].id))
    # Page 1 holds the 20 largest of all 25, not a sorted first page of the default order.
    assert _line_ids(page) == [o.lines[0].id for o in by_quantity[:20]]
    assert 'href="/bureau/reconciliation?sort=quantity&amp;dir=asc' in page  # the header flips it
    second = client.get("/bureau/reconciliation?sort=quantity&dir=desc&page=2").get_data(as_text=True)
    assert _line_ids(second) == [o.lines[0].id for o in by_quantity[20:]]
    # A sort key that is not a declared column is ignored (order-line order), never reaches SQL.
    hostile = client.get("/bureau/reconciliation", query_string={"sort": "quantity; DROP TABLE x"})
    assert hostile.status_code == 200
    assert _line_ids(hostile.get_data(as_text=True)) == sorted(o.lines[0].id for o in orders)[:20]


def test_reconcile_lines_refuses_a_column_it_does_not_sort_by(session: Session) -> None:
    import pytest

    from ledger import reconcile

    market = make_market(session)
    market.order(2)
    bureau = market.world.bureau
    with pytest.raises(ValueError, match="sortable"):
        reconcile.reconcile_lines(
            session, bureau, reconcile.Slice(), as_of=NOW, order_by=("hospital_id) --", True)
        )
