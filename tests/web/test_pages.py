"""The server-rendered pages through the test client: who may open what, CSRF, forms that save
everything or nothing, pagination and empty states, Chinese by default and English on request."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bidding.models import BatchStatus, DemandReport
from core.actors import OrgKind, Role
from ledger.models import Order, ReceiptLine
from tests.factories import PASSWORD, make_org, make_user
from tests.ordering import make_market
from tests.tendering import DURING_DEMAND, make_world

KINDS = (OrgKind.BUREAU, OrgKind.HOSPITAL, OrgKind.MANUFACTURER, OrgKind.DISTRIBUTOR)
ROLES = (Role.ADMIN, Role.OPERATOR, Role.AUDITOR)


def web_login(client: FlaskClient, username: str, password: str = PASSWORD) -> Any:
    client.get("/login")
    return client.post(
        "/login", data={"username": username, "password": password, "csrf_token": csrf(client)}
    )


def csrf(client: FlaskClient) -> str:
    with client.session_transaction() as s:
        return str(s.get("csrf", ""))


def page_routes(app: Flask) -> list[tuple[str, Any, frozenset[OrgKind], frozenset[Role]]]:
    routes = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("web.") or "GET" not in (rule.methods or ()):
            continue
        gate = getattr(app.view_functions[rule.endpoint], "_vbp_page", None)
        if gate is None:
            continue
        path = re.sub(r"<int:[a-z_]+>", "1", rule.rule)
        routes.append((path, rule.endpoint, *gate))
    return routes


def test_every_page_is_gated_by_kind_and_role(app: Flask, session: Session) -> None:
    routes = page_routes(app)
    assert len(routes) >= 20  # every page carries its gate (the decorator records it)
    anonymous = app.test_client()
    for path, _, _, _ in routes:
        response = anonymous.get(path)
        assert response.status_code == 302, path
        assert "/login" in response.headers["Location"], path
    denied = allowed = 0
    for kind in KINDS:
        org = make_org(session, kind)
        for role in ROLES:
            user = make_user(session, org, role)
            session.commit()
            client = app.test_client()
            assert web_login(client, user.username).status_code == 302
            for path, _endpoint, kinds, roles in routes:
                status = client.get(path).status_code
                may = (not kinds or kind in kinds) and role in roles
                if may:
                    allowed += 1
                    assert status in (200, 404), (kind, role, path, status)
                else:
                    denied += 1
                    assert status == 403, (kind, role, path, status)
    assert denied > 0
    assert allowed > 0


def test_forms_without_the_session_csrf_token_are_refused(app: Flask, session: Session) -> None:
    market = make_market(session)
    user = make_user(session, market.hospital, Role.OPERATOR)
    session.commit()
    client = app.test_client()
    web_login(client, user.username)
    before = session.scalar(select(func.count()).select_from(Order))
    form = {
        "distributor_id": str(market.distributor.id),
        "listing-0": str(market.listing.id),
        "quantity-0": "5",
    }
    assert client.post("/hospital/orders/new", data=form).status_code == 400
    assert client.post("/hospital/orders/new", data=form | {"csrf_token": "forged"}).status_code == 400
    assert session.scalar(select(func.count()).select_from(Order)) == before
    # A login form posted from another site has no token either.
    assert (
        app.test_client().post("/login", data={"username": user.username, "password": PASSWORD}).status_code
        == 400
    )


def test_hospital_orders_from_the_form_and_bad_lines_change_nothing(app: Flask, session: Session) -> None:
    market = make_market(session)
    user = make_user(session, market.hospital, Role.OPERATOR)
    session.commit()
    client = app.test_client()
    web_login(client, user.username)
    page = client.get("/hospital/orders/new").get_data(as_text=True)
    assert f'value="{market.listing.id}"' in page
    assert market.distributor.name in page

    before = session.scalar(select(func.count()).select_from(Order))
    bad = {
        "csrf_token": csrf(client),
        "distributor_id": str(market.distributor.id),
        "listing-0": str(market.listing.id),
        "quantity-0": "12",
        "listing-1": str(market.listing.id),
        "quantity-1": "-3",
    }
    response = client.post("/hospital/orders/new", data=bad)
    assert response.status_code == 422
    assert "第 2 行" in response.get_data(as_text=True)  # the row as people count it
    assert "lines.1.quantity" not in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Order)) == before

    good = bad | {"quantity-1": "", "listing-1": ""}
    response = client.post("/hospital/orders/new", data=good)
    assert response.status_code == 302
    order = session.scalars(select(Order).order_by(Order.id.desc())).first()
    assert order is not None
    assert order.hospital_id == market.hospital.id
    assert [line.quantity for line in order.lines] == [12]
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"#{order.id}" in detail
    assert "待" in detail


def test_partial_receipt_from_the_deliveries_page(app: Flask, session: Session) -> None:
    market = make_market(session)
    order: Any = market.order(10)
    market.accept_and_ship(order.id, 10)
    user = make_user(session, market.hospital, Role.OPERATOR)
    session.commit()
    client = app.test_client()
    web_login(client, user.username)
    page = client.get("/hospital/deliveries").get_data(as_text=True)
    shipment_line_id = int(re.search(r'id="shipment-line-(\d+)"', page).group(1))  # type: ignore[union-attr]

    # 7 + 2 ≠ 10 shipped: refused, nothing recorded
    form = {
        "csrf_token": csrf(client),
        "accepted_quantity": "7",
        "rejected_quantity": "2",
        "reason_code": "damaged",
    }
    assert client.post(f"/hospital/deliveries/{shipment_line_id}", data=form).status_code == 422
    assert session.scalar(select(func.count()).select_from(ReceiptLine)) == 0

    form["rejected_quantity"] = "3"
    response = client.post(f"/hospital/deliveries/{shipment_line_id}", data=form, follow_redirects=True)
    assert response.status_code == 200
    receipt = session.scalars(select(ReceiptLine)).one()
    assert (receipt.accepted_quantity, receipt.rejected_quantity, receipt.reason_code) == (7, 3, "damaged")
    assert f'id="shipment-line-{shipment_line_id}"' not in response.get_data(as_text=True)


def test_demand_upload_shows_every_bad_row_and_saves_none(app: Flask, session: Session) -> None:
    world = make_world(session, rule_version="batch_4_9")
    hospital = make_org(session, OrgKind.HOSPITAL, region_code="510104")
    world.to(BatchStatus.DEMAND_COLLECTION, DURING_DEMAND)
    user = make_user(session, hospital, Role.OPERATOR)
    session.commit()
    client = app.test_client()
    web_login(client, user.username)
    book = Workbook()
    sheet = book.active
    sheet.append(["品种ID", "年需求量"])
    sheet.append([world.items[0].id, 1200])
    sheet.append([world.items[0].id, "很多"])
    sheet.append(["x", 5])
    data = io.BytesIO()
    book.save(data)
    data.seek(0)
    response = client.post(
        "/hospital/demand",
        data={"csrf_token": csrf(client), "batch_id": str(world.batch.id), "file": (data, "demand.xlsx")},
        content_type="multipart/form-data",
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "第 3 行 · 数量：" in text  # the column by its label, not its code
    assert "第 4 行" in text
    assert "quantity" not in text
    assert session.scalar(select(func.count()).select_from(DemandReport)) == 0


def test_lists_page_and_show_empty_states(app: Flask, session: Session) -> None:
    market = make_market(session)
    for _ in range(23):
        market.order(1)
    user = make_user(session, market.hospital, Role.OPERATOR)
    other = make_user(session, market.other_hospital, Role.OPERATOR)
    session.commit()
    client = app.test_client()
    web_login(client, user.username)
    first = client.get("/orders").get_data(as_text=True)
    second = client.get("/orders?page=2").get_data(as_text=True)
    assert first.count("/orders/") - first.count("/orders/new") == 20
    assert second.count('href="/orders/') == 3
    assert "23" in first
    assert 'rel="next"' in first
    assert 'rel="prev"' in second
    assert client.get("/orders?page=99999999999999999999").status_code == 200  # past the end: last page

    stranger = app.test_client()
    web_login(stranger, other.username)
    empty = stranger.get("/orders").get_data(as_text=True)
    assert 'class="empty"' in empty
    assert "/orders/" not in empty.replace("/orders/new", "")
    order_id = session.scalars(select(Order.id).where(Order.hospital_id == market.hospital.id)).first()
    assert stranger.get(f"/orders/{order_id}").status_code == 404  # another hospital's order


def test_chinese_by_default_and_english_on_request(app: Flask, session: Session) -> None:
    org = make_org(session, OrgKind.HOSPITAL)
    user = make_user(session, org, Role.OPERATOR)
    session.commit()
    client = app.test_client()
    login_page = client.get("/login").get_data(as_text=True)
    assert "登录" in login_page
    assert 'lang="zh-CN"' in login_page
    web_login(client, user.username)
    dashboard = client.get("/").get_data(as_text=True)
    assert "待验收配送" in dashboard  # "Deliveries to confirm"
    assert "Deliveries to confirm" not in dashboard
    client.post("/language", data={"lang": "en", "csrf_token": csrf(client), "next": "/"})
    english = client.get("/").get_data(as_text=True)
    assert "Deliveries to confirm" in english
    assert 'lang="en"' in english
    client.post("/language", data={"lang": "zh", "csrf_token": csrf(client), "next": "/"})
    assert "Deliveries to confirm" not in client.get("/").get_data(as_text=True)


def test_login_refuses_wrong_password_and_open_redirects(app: Flask, session: Session) -> None:
    org = make_org(session, OrgKind.HOSPITAL)
    user = make_user(session, org, Role.OPERATOR)
    session.commit()
    client = app.test_client()
    assert web_login(client, user.username, "wrong-password").status_code == 401
    assert client.get("/").status_code == 302
    client.get("/login")
    response = client.post(
        "/login",
        data={
            "username": user.username,
            "password": PASSWORD,
            "csrf_token": csrf(client),
            "next": "//evil.example/",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    logout = client.post("/logout", data={"csrf_token": csrf(client)})
    assert logout.status_code == 302
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("catalogue", ["zh"])
def test_translation_catalogue_is_complete_and_compiled(catalogue: str) -> None:
    """Every string on the pages has its Chinese text, and the committed .mo matches the .po."""
    from pathlib import Path

    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    folder = Path(__file__).resolve().parents[2] / "app" / "web" / "translations" / catalogue / "LC_MESSAGES"
    with open(folder / "messages.po", "rb") as f:
        po = read_po(f)
    with open(folder / "messages.mo", "rb") as f:
        mo = read_mo(f)
    missing = [m.id for m in po if m.id and not m.string]
    assert not missing, missing[:10]
    assert {m.id: m.string for m in po if m.id} == {m.id: m.string for m in mo if m.id}


def test_translation_catalogue_holds_every_string_of_the_source() -> None:
    """A string added to a page or view without `pybabel extract`/`update` fails here (it would
    show in English on the Chinese pages)."""
    from pathlib import Path

    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
    from babel.messages.pofile import read_po

    root = Path(__file__).resolve().parents[2]
    method_map = [("app/web/**.py", "python"), ("app/web/templates/**.html", "jinja2")]
    keywords = dict(DEFAULT_KEYWORDS) | {"_l": None}
    found = {
        message if isinstance(message, str) else message[0]
        for _, _, message, _, _ in extract_from_dir(str(root), method_map, keywords=keywords)
    }
    with open(root / "app/web/translations/zh/LC_MESSAGES/messages.po", "rb") as f:
        catalogue = {m.id for m in read_po(f) if m.id}
    assert len(found) > 300
    assert found <= catalogue, sorted(found - catalogue)[:10]


def test_reconciliation_explorer_filters_and_drills_down(app: Flask, session: Session) -> None:
    market = make_market(session)
    shipped: Any = market.order(10)
    market.accept_and_ship(shipped.id, 10)
    market.order(4)
    bureau = make_user(session, make_org(session, OrgKind.BUREAU), Role.AUDITOR)
    session.commit()
    client = app.test_client()
    web_login(client, bureau.username)
    page = client.get("/bureau/reconciliation")
    assert page.status_code == 200
    waiting = client.get("/bureau/reconciliation?status=awaiting_receipt").get_data(as_text=True)
    line_ids = re.findall(r'/bureau/reconciliation/lines/(\d+)"', waiting)
    assert line_ids == [str(shipped.lines[0].id)]
    detail = client.get(f"/bureau/reconciliation/lines/{line_ids[0]}").get_data(as_text=True)
    assert "B20260101" in detail  # the shipment line's batch number
    assert client.get("/bureau/reconciliation/lines/999999999").status_code == 404
    # A bad filter is shown, not a crash.
    assert client.get("/bureau/reconciliation?hospital_id=abc&status=nonsense").status_code == 200


def test_every_form_refuses_the_wrong_kind_or_role(app: Flask, session: Session) -> None:
    """POST routes carry the same gate as the pages: a disallowed user gets 403 with a valid
    CSRF token (so the refusal is the gate's, not the token check's)."""
    posts = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("web.") and "POST" in (rule.methods or ()):
            gate = getattr(app.view_functions[rule.endpoint], "_vbp_page", None)
            if gate is not None:
                posts.append((re.sub(r"<int:[a-z_]+>", "1", rule.rule), *gate))
    assert len(posts) >= 15
    refused = 0
    for kind in KINDS:
        org = make_org(session, kind)
        for role in ROLES:
            user = make_user(session, org, role)
            session.commit()
            client = app.test_client()
            web_login(client, user.username)
            token = csrf(client)
            for path, kinds, roles in posts:
                if (not kinds or kind in kinds) and role in roles and not _role_checked_inside(path):
                    continue
                status = client.post(path, data={"csrf_token": token}).status_code
                if (kinds and kind not in kinds) or role not in roles:
                    assert status == 403, (kind, role, path, status)
                    refused += 1
    assert refused > 100


def _role_checked_inside(path: str) -> bool:
    """Pages that show to readers and check the writer role when the form is posted."""
    return path in (
        "/bureau/batches",
        "/bureau/settlement",
        "/enterprise/settlement",
        "/hospital/demand",
    )


def test_invoice_from_the_distributor_confirmed_by_the_hospital(app: Flask, session: Session) -> None:
    from ledger.models import InvoiceLine
    from ledger.services import ordering as ordering_service
    from tests.ordering import NOW

    market = make_market(session)
    order: Any = market.order(6)
    shipment: Any = market.accept_and_ship(order.id, 6)
    ordering_service.confirm_receipt(
        session,
        market.hospital_actor,
        shipment.lines[0].id,
        accepted=6,
        rejected=0,
        reason_code=None,
        accepted_on=None,
        now=NOW,
    )
    distributor = make_user(session, market.distributor, Role.OPERATOR)
    hospital = make_user(session, market.hospital, Role.OPERATOR)
    session.commit()
    receipt_id = session.scalars(select(ReceiptLine.id)).one()

    seller = app.test_client()
    web_login(seller, distributor.username)
    form = seller.get("/enterprise/invoices/new").get_data(as_text=True)
    assert f'value="{receipt_id}"' in form
    bad = {
        "csrf_token": csrf(seller),
        "receipt_line_id": str(receipt_id),
        "invoice_number": "12ab",
        "issued_on": "2026-11-20",
        "tax_rate": "0.13",
    }
    response = seller.post("/enterprise/invoices/new", data=bad)
    assert response.status_code == 422
    assert "invoice_number" in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(InvoiceLine)) == 0
    response = seller.post("/enterprise/invoices/new", data=bad | {"invoice_number": "20261120001"})
    assert response.status_code == 302
    line = session.scalars(select(InvoiceLine)).one()
    assert (line.quantity, line.amount_fen) == (6, 6 * market.listing.pack_price_fen)

    buyer = app.test_client()
    web_login(buyer, hospital.username)
    pending = buyer.get("/invoices?status=pending").get_data(as_text=True)
    assert f"/invoice-lines/{line.id}/decision" in pending
    # A dispute needs its reason: refused, nothing changes.
    buyer.post(f"/invoice-lines/{line.id}/decision", data={"csrf_token": csrf(buyer), "confirm": "false"})
    session.refresh(line)
    assert line.status.value == "pending"
    buyer.post(f"/invoice-lines/{line.id}/decision", data={"csrf_token": csrf(buyer), "confirm": "true"})
    session.refresh(line)
    assert line.status.value == "confirmed"


def test_prices_and_rates_are_shown_exactly(app: Flask, session: Session) -> None:
    from decimal import Decimal

    from app.web.common import pct, unit_yuan

    world = make_world(session, items=({"ceiling_e4": 12_345},))
    bureau = make_user(session, make_org(session, OrgKind.BUREAU), Role.AUDITOR)
    session.commit()
    client = app.test_client()
    web_login(client, bureau.username)
    page = client.get(f"/bureau/batches/{world.batch.id}").get_data(as_text=True)
    assert ">1.2345<" in page
    assert unit_yuan(7) == "0.0007"
    assert pct(Decimal("0.929449")) == "92.94%"
    assert pct(Decimal("0.00005")) == "0.01%"  # half-up, as core/money.py rounds
    assert pct(None) == "—"
