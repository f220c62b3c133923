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
from tests.factories import actor_of, make_org, make_user
from tests.ordering import NOW, Market, make_market
from tests.security.test_order_line_scoping import Shared, shared  # noqa: F401  # the fixture
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


# --- the audit log ------------------------------------------------------------------------------


def _audit_seqs(html: str) -> list[int]:
    return [int(n) for n in re.findall(r"<tr><td>(\d+)</td>", html)]


def test_audit_log_shows_who_acted_and_filters_by_date_and_user(app: Flask, session: Session) -> None:
    market, _orders, _other = _market_with_orders(session, [10])
    hospital_user = make_user(session, market.hospital, username="tables-nurse")
    from sqlalchemy import select

    from core.audit import AuditEvent
    from core.organizations import User

    # The hospital's user orders once more, so an event carries its username.
    market.hospital_actor = actor_of(hospital_user)
    placed: Any = market.order(2)
    admin = make_user(session, market.hospital, Role.ADMIN)
    session.commit()
    client = _client(app, admin.username)
    page = client.get("/audit", query_string={"user": "tables-nurse"}).get_data(as_text=True)
    assert '<td class="username">tables-nurse</td>' in page
    assert market.hospital.name in page  # the acting user's organization
    seqs = _audit_seqs(page)
    assert seqs
    events = session.scalars(select(AuditEvent).where(AuditEvent.id.in_(seqs))).all()
    assert {e.actor_user_id for e in events} == {hospital_user.id}
    assert any(e.subject_id == str(placed.id) for e in events)
    # Dates are the province's: the events were written at the scenario's time, NOW.
    today = clock.business_date(NOW)
    assert (
        _audit_seqs(client.get(f"/audit?user=tables-nurse&from={today}&to={today}").get_data(as_text=True))
        == seqs
    )
    yesterday = today - timedelta(days=1)
    assert _audit_seqs(client.get(f"/audit?user=tables-nurse&to={yesterday}").get_data(as_text=True)) == []
    assert session.scalar(select(User.id).where(User.username == "tables-nurse")) == hospital_user.id


def test_audit_export_carries_the_user_and_nothing_of_another_organization(
    app: Flask, session: Session
) -> None:
    market, _orders, _other = _market_with_orders(session, [10])
    admin = make_user(session, market.hospital, Role.ADMIN)
    other_admin = make_user(session, market.other_hospital, Role.ADMIN, username="tables-other-admin")
    session.commit()
    rows = _csv_rows(_client(app, admin.username).get("/audit?export=csv").get_data())
    header, body = rows[0], rows[1:]
    assert zh("Username") in header
    assert header.index(zh("Username")) < header.index(zh("By organization"))
    organizations = {r[header.index(zh("By organization"))] for r in body}
    assert market.other_hospital.name not in organizations
    assert other_admin.username not in {r[header.index(zh("Username"))] for r in body}
    assert body  # the hospital's own events are there
    sheet = load_workbook(
        io.BytesIO(_client(app, admin.username).get("/audit?export=xlsx").get_data())
    ).active
    assert sheet is not None
    assert sheet.auto_filter.ref == f"A1:K{len(body) + 1}"  # 11 columns: id, lane·seq, …


# --- reconciliation -----------------------------------------------------------------------------


def test_reconciliation_lines_and_drill_down_carry_the_product(app: Flask, session: Session) -> None:
    from bidding.models import Product

    market = make_market(session)
    shipped: Any = market.order(10)
    market.accept_and_ship(shipped.id, 10)
    market.order(4)
    product = session.get(Product, market.listing.product_id)
    assert product is not None
    bureau = make_user(session, make_org(session, OrgKind.BUREAU), Role.AUDITOR)
    session.commit()
    client = _client(app, bureau.username)
    page = client.get("/bureau/reconciliation").get_data(as_text=True)
    assert page.count(f'<td class="product">{product.generic_name}</td>') == 2
    assert product.spec_text in page
    assert product.mah.name in page
    total_fen = sum(o.lines[0].amount_fen for o in (shipped,)) + market.listing.pack_price_fen * 4
    assert re.search(r'data-total="amount_fen">([^<]+)<', page).group(1) == f"{total_fen / 100:,.2f}"  # type: ignore[union-attr]
    detail = client.get(f"/bureau/reconciliation/lines/{shipped.lines[0].id}").get_data(as_text=True)
    assert product.generic_name in detail
    assert product.spec_text in detail
    rows = _csv_rows(client.get("/bureau/reconciliation?export=csv").get_data())
    header = rows[0]
    for title in ("Product", "Specification", "Manufacturer", "Product code", "Hospital ID", "Hospital"):
        assert zh(title) in header, title
    body = rows[1:-1]
    assert {r[header.index(zh("Product"))] for r in body} == {product.generic_name}
    assert {r[header.index(zh("Product code"))] for r in body} == {product.code}
    assert rows[-1][header.index(zh("Ordered (yuan)"))] == f"{total_fen // 100}.{total_fen % 100:02d}"


def test_reconciliation_export_is_the_bureaus_only(app: Flask, session: Session) -> None:
    market = make_market(session)
    user = make_user(session, market.hospital, Role.ADMIN)
    session.commit()
    client = _client(app, user.username)
    assert client.get("/bureau/reconciliation?export=csv").status_code == 403


# --- statements ---------------------------------------------------------------------------------


def test_statements_list_totals_and_exports_the_callers_statements(app: Flask, session: Session) -> None:
    from datetime import date

    from ledger import statements

    market, _orders, _other = _market_with_orders(session, [10, 20])
    period = date(NOW.year, NOW.month, 1)
    statements.generate(session, market.world.bureau, period=period, as_of=NOW, now=NOW)
    user = make_user(session, market.hospital)
    session.commit()
    client = _client(app, user.username)
    page = client.get("/statements").get_data(as_text=True)
    mine = session.scalars(statements.statements_for(market.hospital_actor)).all()
    assert len(mine) == 1
    shown = re.search(r'data-total="order_amount_fen">([^<]+)<', page)
    assert shown is not None
    assert shown.group(1) == f"{mine[0].order_amount_fen / 100:,.2f}"
    rows = _csv_rows(client.get("/statements?export=csv").get_data())
    assert len(rows) == 3  # header, the hospital's one statement, totals
    assert rows[1][0] == period.strftime("%Y-%m")
    assert rows[1][2] == market.hospital.name
    assert market.other_hospital.name not in {r[2] for r in rows}
    searched = client.get("/statements", query_string={"q": "no-such-enterprise"}).get_data(as_text=True)
    assert 'data-total="order_amount_fen"' not in searched
    dated = client.get(f"/statements?from={period.replace(year=period.year + 1)}").get_data(as_text=True)
    assert 'data-total="order_amount_fen"' not in dated


# --- a shared order: a manufacturer exports and searches only its own lines --------------------


def test_a_manufacturer_exports_and_finds_only_its_own_lines_of_a_shared_order(
    app: Flask,
    session: Session,
    shared: Shared,  # noqa: F811  # the fixture imported above
) -> None:
    from bidding.models import Product

    market = shared.market
    maker_a = make_user(session, market.world.manufacturer("A"))
    session.commit()
    a_line = next(line for line in shared.order.lines if line.manufacturer_id == maker_a.organization_id)
    b_line = next(line for line in shared.order.lines if line.manufacturer_id != maker_a.organization_id)
    client = _client(app, maker_a.username)
    rows = _csv_rows(client.get("/orders?export=csv").get_data())
    header, body, footer = rows[0], rows[1:-1], rows[-1]
    amount = header.index(zh("Amount (yuan)"))
    assert [r[0] for r in body] == [str(shared.order.id)]
    assert body[0][amount] == f"{a_line.amount_fen // 100}.{a_line.amount_fen % 100:02d}"
    assert footer[amount] == body[0][amount]  # B's line is in no total either
    xlsx = client.get("/orders?export=xlsx").get_data()
    texts = {
        str(c) for row in load_workbook(io.BytesIO(xlsx)).active.iter_rows(values_only=True) for c in row
    }  # type: ignore[union-attr]
    assert str(b_line.amount_fen / 100) not in texts
    # Searching by the other manufacturer's product tells A nothing about the order.
    b_name = session.get_one(Product, b_line.product_id).generic_name
    a_name = session.get_one(Product, a_line.product_id).generic_name
    if b_name != a_name:
        assert _order_ids(client.get("/orders", query_string={"q": b_name}).get_data(as_text=True)) == []
    b_code = session.get_one(Product, b_line.product_id).code
    assert _order_ids(client.get("/orders", query_string={"q": b_code}).get_data(as_text=True)) == []
    found = client.get("/orders", query_string={"q": session.get_one(Product, a_line.product_id).code})
    assert _order_ids(found.get_data(as_text=True)) == [shared.order.id]
    # Nor does ordering by the whole order's status (A sees its own lines' status only).
    assert "sort=status" not in client.get("/orders").get_data(as_text=True)
    # The hospital sees the whole order: both lines in its amount.
    hospital = make_user(session, market.hospital)
    session.commit()
    hospital_client = _client(app, hospital.username)
    assert "sort=status" in hospital_client.get("/orders").get_data(as_text=True)
    whole = _csv_rows(hospital_client.get("/orders?export=csv").get_data())
    mine = next(r for r in whole[1:-1] if r[0] == str(shared.order.id))
    both = a_line.amount_fen + b_line.amount_fen
    assert mine[amount] == f"{both // 100}.{both % 100:02d}"


def test_xlsx_amounts_are_stored_exactly_and_text_is_neutralized() -> None:
    import zipfile
    from decimal import Decimal

    from app.web.tables import MONEY, Column, xlsx

    columns = [Column("name", "Name"), Column("amount_fen", "Amount", kind=MONEY, total=True)]
    rows = [["=1+1", Decimal("9.87")], ["-2+3", Decimal("1234567.10")]]
    data = xlsx("t", columns, ["Name", "Amount"], rows, ["Total", Decimal("1234576.97")])
    sheet_xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert "<v>9.87</v>" in sheet_xml  # not 9.869999999999999
    assert "<v>1234567.10</v>" in sheet_xml
    assert '<autoFilter ref="A1:B3"' in sheet_xml  # the header and the rows, not the totals
    sheet = load_workbook(io.BytesIO(data)).active
    assert sheet is not None
    assert [sheet.cell(row=r, column=1).value for r in (2, 3, 4)] == ["'=1+1", "'-2+3", "Total"]
    assert sheet.cell(row=3, column=2).number_format == "#,##0.00"
    assert sheet.cell(row=4, column=2).font.bold  # the totals row
    assert sheet.cell(row=4, column=2).value == 1234576.97
