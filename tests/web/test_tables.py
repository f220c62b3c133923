"""Tables people can search, sort, filter by date, total, export and print (app/web/tables.py),
on the orders list, statements, the audit log and the bureau's reconciliation explorer."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from core import clock
from core.actors import OrgKind, Role
from tests.factories import make_org, make_user
from tests.ordering import NOW, Market, make_market
from tests.web.conftest import zh
from tests.web.test_pages import web_login


def _client(app: Flask, username: str) -> FlaskClient:
    client = app.test_client()
    assert web_login(client, username).status_code == 302
    return client


def _order_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'href="/orders/(\d+)"', html)]


def _market_with_orders(session: Session, quantities: list[int]) -> tuple[Market, list[Any], Any]:
    market = make_market(session)
    orders = [market.order(q) for q in quantities]
    foreign = market.order(7)
    # The other hospital's order: placed by it, never visible to the first hospital.
    from ledger.services import ordering

    other = ordering.place_orders(
        session,
        market.other_hospital_actor,
        distributor_id=market.distributor.id,
        lines=[ordering.LineRequest(market.listing.id, 3)],
        urgency=ordering.Urgency.NORMAL,
        now=NOW,
    )
    orders.append(foreign)
    return market, orders, other


def _csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel shows the Chinese
    return list(csv.reader(io.StringIO(data[3:].decode("utf-8"))))


# --- orders -------------------------------------------------------------------------------------


def test_orders_search_by_number_hospital_and_product(app: Flask, session: Session) -> None:
    market, orders, other = _market_with_orders(session, [10, 20])
    user = make_user(session, market.hospital)
    session.commit()
    client = _client(app, user.username)
    assert _order_ids(client.get(f"/orders?q={orders[1].id}").get_data(as_text=True)) == [orders[1].id]
    product = market.listing.product_id
    from bidding.models import Product

    name = session.get(Product, product).generic_name  # type: ignore[union-attr]
    found = _order_ids(client.get("/orders", query_string={"q": name}).get_data(as_text=True))
    assert sorted(found) == sorted(o.id for o in orders)
    assert other.id not in found
    assert _order_ids(client.get("/orders?q=no-such-thing%25").get_data(as_text=True)) == []


def test_orders_sort_by_amount_and_a_hostile_sort_key_is_ignored(app: Flask, session: Session) -> None:
    market, orders, _ = _market_with_orders(session, [10, 30, 20])
    user = make_user(session, market.hospital)
    session.commit()
    client = _client(app, user.username)
    by_amount = [o.id for o in sorted(orders, key=lambda o: o.lines[0].amount_fen)]
    page = client.get("/orders?sort=amount_fen&dir=asc").get_data(as_text=True)
    assert _order_ids(page) == by_amount
    assert 'aria-sort="ascending"' in page
    newest_first = sorted((o.id for o in orders), reverse=True)
    for hostile in ("id; DROP TABLE orders", "hospital_id", "(select 1)", "amount_fen desc,--"):
        response = client.get("/orders", query_string={"sort": hostile, "dir": "sideways"})
        assert response.status_code == 200
        assert _order_ids(response.get_data(as_text=True)) == newest_first


def test_orders_date_range_is_in_the_provinces_time_zone(app: Flask, session: Session) -> None:
    market = make_market(session)
    day = clock.business_date(NOW)
    # 23:30 Beijing time on the previous day is 15:30 UTC: the day before, not `day`.
    late_evening = clock.local(day - timedelta(days=1)).replace(hour=23, minute=30)
    early = market.order(5, now=late_evening)
    on_day = market.order(6)
    user = make_user(session, market.hospital)
    session.commit()
    client = _client(app, user.username)
    only_day = client.get(f"/orders?from={day}&to={day}").get_data(as_text=True)
    assert _order_ids(only_day) == [on_day.id]  # type: ignore[attr-defined]
    before = client.get(f"/orders?to={day - timedelta(days=1)}").get_data(as_text=True)
    assert _order_ids(before) == [early.id]  # type: ignore[attr-defined]
    bad = client.get("/orders?from=2024-13-45")
    assert bad.status_code == 200  # a date that does not parse is reported and ignored
    assert sorted(_order_ids(bad.get_data(as_text=True))) == sorted([early.id, on_day.id])  # type: ignore[attr-defined]


def test_orders_totals_row_sums_every_filtered_row_not_just_the_page(app: Flask, session: Session) -> None:
    market = make_market(session)
    orders = [market.order(1 + n) for n in range(23)]  # more than one page of 20
    user = make_user(session, market.hospital)
    session.commit()
    client = _client(app, user.username)
    page = client.get("/orders").get_data(as_text=True)
    assert len(_order_ids(page)) == 20
    total_fen = sum(o.lines[0].amount_fen for o in orders)  # type: ignore[attr-defined]
    shown = re.search(r'data-total="amount_fen">([^<]+)<', page)
    assert shown is not None
    assert shown.group(1) == f"{total_fen // 100:,}.{total_fen % 100:02d}"  # thousand separators, 2 dp
    assert "23" in page[page.index('class="totals"') :][:400]


def test_orders_csv_export_holds_every_filtered_row_of_the_callers_only(app: Flask, session: Session) -> None:
    market, orders, other = _market_with_orders(session, [10 + n for n in range(22)])
    user = make_user(session, market.hospital)
    session.commit()
    client = _client(app, user.username)
    response = client.get("/orders?export=csv&sort=id&dir=asc")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = _csv_rows(response.get_data())
    header, body, footer = rows[0], rows[1:-1], rows[-1]
    assert header[:3] == [zh("Order"), zh("Hospital ID"), zh("Hospital")]
    assert [int(r[0]) for r in body] == sorted(o.id for o in orders)  # all 23, not a page of 20
    assert str(other.id) not in [r[0] for r in body]
    assert {r[2] for r in body} == {market.hospital.name}  # names next to ids
    total_fen = sum(o.lines[0].amount_fen for o in orders)
    assert footer[0] == zh("Total")
    assert footer[-1] == f"{total_fen // 100}.{total_fen % 100:02d}"


def test_orders_xlsx_export_has_numbers_autofilter_frozen_header_and_totals(
    app: Flask, session: Session
) -> None:
    market, orders, _ = _market_with_orders(session, [10, 20])
    user = make_user(session, market.hospital)
    session.commit()
    client = _client(app, user.username)
    response = client.get("/orders?export=xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][-1] == zh("Amount (yuan)")
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:J{len(orders) + 1}"
    amount = sheet.cell(row=2, column=10)
    assert amount.number_format == "#,##0.00"
    assert isinstance(amount.value, int | float)
    assert rows[-1][0] == zh("Total")
    total_fen = sum(o.lines[0].amount_fen for o in orders)
    assert round(rows[-1][-1] * 100) == total_fen  # type: ignore[operator]


def test_exports_neutralize_formulas_in_text(app: Flask, session: Session) -> None:
    market = make_market(session)
    market.order(5)
    market.hospital.name = '=HYPERLINK("http://evil.example","x")'
    market.distributor.name = "@SUM(1+1)"
    user = make_user(session, market.hospital)
    session.commit()
    client = _client(app, user.username)
    body = _csv_rows(client.get("/orders?export=csv").get_data())[1]
    assert body[2] == "'" + market.hospital.name
    assert body[4] == "'@SUM(1+1)"
    sheet = load_workbook(io.BytesIO(client.get("/orders?export=xlsx").get_data())).active
    assert sheet is not None
    assert sheet.cell(row=2, column=3).value == "'" + market.hospital.name
    assert sheet.cell(row=2, column=3).data_type == "s"


def test_print_shows_every_row_on_one_page_and_asks_to_print(app: Flask, session: Session) -> None:
    market = make_market(session)
    for n in range(22):
        market.order(1 + n)
    user = make_user(session, market.hospital)
    session.commit()
    client = _client(app, user.username)
    page = client.get("/orders?print=1").get_data(as_text=True)
    assert len(_order_ids(page)) == 22
    assert "data-autoprint" in page
    assert "tables.js" in page
    assert "<script>" not in page  # no inline script (the CSP forbids it)


def test_another_partys_id_answers_nothing_in_the_list_or_export(app: Flask, session: Session) -> None:
    market, _orders, other = _market_with_orders(session, [10])
    stranger = make_user(session, market.stranger_distributor)
    session.commit()
    client = _client(app, stranger.username)
    assert _order_ids(client.get(f"/orders?q={other.id}").get_data(as_text=True)) == []
    rows = _csv_rows(client.get("/orders?export=csv").get_data())
    assert rows[1:] == [[zh("Total"), "", "", "", "", "", "", "", "", "0.00"]]


def test_bureau_sees_every_hospitals_orders_in_its_export(app: Flask, session: Session) -> None:
    _market, orders, other = _market_with_orders(session, [10])
    bureau = make_user(session, make_org(session, OrgKind.BUREAU), Role.AUDITOR)
    session.commit()
    rows = _csv_rows(_client(app, bureau.username).get("/orders?export=csv").get_data())
    assert {int(r[0]) for r in rows[1:-1]} == {o.id for o in orders} | {other.id}
