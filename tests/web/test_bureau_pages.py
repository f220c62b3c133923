"""The bureau's working day through the test client: items by the form and by the xlsx template
(every bad row named, nothing imported), listings from the results, pickers that show names and
never ask for ids, searches scoped to the caller."""

from __future__ import annotations

import io
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bidding.models import BatchItem, Product
from core import clock
from core.actors import OrgKind, Role
from core.organizations import Organization
from ledger.models import Listing, ListingStatus, Payment, Statement
from ledger.services import listings, settlement
from tests.factories import make_org, make_user
from tests.ledger.test_reconcile import FILED, PERIOD, Line
from tests.ordering import make_market
from tests.tendering import make_world
from tests.web.test_pages import csrf, web_login


def _bureau_client(app: Flask, session: Session, role: Role = Role.OPERATOR) -> FlaskClient:
    user = make_user(session, make_org(session, OrgKind.BUREAU), role)
    session.commit()
    client = app.test_client()
    web_login(client, user.username)
    return client


def _items(session: Session, batch_id: int) -> int:
    session.expire_all()
    return (
        session.scalar(select(func.count()).select_from(BatchItem).where(BatchItem.batch_id == batch_id)) or 0
    )


def _form(client: FlaskClient, **values: str) -> dict[str, str]:
    base = {
        "csrf_token": csrf(client),
        "generic_name": "新增药",
        "dosage_form_group": "oral_solid",
        "rep_strength_value": "20",
        "rep_strength_unit": "mg",
        "ratio_kind": "content",
        "allowed_strengths": "10; 40",
        "ceiling_price": "2.3456",
    }
    return base | values


def test_the_bureau_adds_an_item_by_the_form_and_a_failed_form_keeps_what_was_typed(
    app: Flask, session: Session
) -> None:
    world = make_world(session)
    client = _bureau_client(app, session)
    page = client.get(f"/bureau/batches/{world.batch.id}").get_data(as_text=True)
    assert 'name="generic_name" list=' in page  # a picker of the catalogue's names, not an id field
    assert "品种ID" not in page
    assert "产品ID" not in page
    assert "口服常释剂型" in page  # dosage form groups by their words, not their codes

    bad = client.post(f"/bureau/batches/{world.batch.id}/items", data=_form(client, ceiling_price="abc"))
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert 'value="新增药"' in text
    assert 'value="10; 40"' in text
    assert 'value="abc"' in text
    assert _items(session, world.batch.id) == 1

    good = client.post(f"/bureau/batches/{world.batch.id}/items", data=_form(client))
    assert good.status_code == 302
    assert _items(session, world.batch.id) == 2
    item = session.scalars(select(BatchItem).where(BatchItem.generic_name == "新增药")).one()
    assert item.ceiling_e4 == 23456
    assert set(item.allowed_strengths) == {"10", "20", "40"}


def _filled_template(client: FlaskClient, batch_id: int, rows: list[list[object]]) -> io.BytesIO:
    download = client.get(f"/bureau/batches/{batch_id}/items/template.xlsx")
    assert download.status_code == 200
    book = load_workbook(io.BytesIO(download.data))
    sheet = book.worksheets[0]
    assert sheet.cell(1, 1).value == "通用名"
    for row in rows:
        sheet.append(row)
    data = io.BytesIO()
    book.save(data)
    data.seek(0)
    return data


def test_the_item_import_names_each_bad_row_and_imports_nothing_then_all_of_a_good_file(
    app: Flask, session: Session
) -> None:
    world = make_world(session)
    client = _bureau_client(app, session)
    rows: list[list[object]] = [
        ["导入药甲", "oral_solid", "10", "mg", "content", "5;20", "1.5", None],
        ["导入药乙", "oral_solid", "10", "mg", "content", None, "很贵", None],
        ["导入药丙", "口服", "10", "mg", None, None, "1.2", None],
    ]
    bad = client.post(
        f"/bureau/batches/{world.batch.id}/items/import",
        data={
            "csrf_token": csrf(client),
            "file": (_filled_template(client, world.batch.id, rows), "items.xlsx"),
        },
        content_type="multipart/form-data",
    )
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert "第 3 行" in text
    assert "第 4 行" in text
    assert "第 2 行" not in text
    assert "第 3 行（最高有效申报价（元/最小单位））" in text  # the column by its header, not its key
    assert _items(session, world.batch.id) == 1

    good_rows = [rows[0], ["导入药乙", "小容量注射剂", "2", "ml", "装量差比价", None, "3.25", "5"]]  # words
    good = client.post(
        f"/bureau/batches/{world.batch.id}/items/import",
        data={
            "csrf_token": csrf(client),
            "file": (_filled_template(client, world.batch.id, good_rows), "items.xlsx"),
        },
        content_type="multipart/form-data",
    )
    assert good.status_code == 302
    assert _items(session, world.batch.id) == 3
    injection = session.scalars(select(BatchItem).where(BatchItem.generic_name == "导入药乙")).one()
    assert (injection.dosage_form_group.value, injection.ratio_kind.value) == (
        "injection_small",
        "fill_volume",
    )


def test_an_import_row_the_service_refuses_is_named_and_nothing_is_kept(app: Flask, session: Session) -> None:
    world = make_world(session)
    client = _bureau_client(app, session)
    rows: list[list[object]] = [
        ["导入药甲", "oral_solid", "10", "mg", "content", None, "1.5", None],
        [world.items[0].generic_name, "oral_solid", "10", "mg", "content", None, "1.5", None],
    ]
    response = client.post(
        f"/bureau/batches/{world.batch.id}/items/import",
        data={
            "csrf_token": csrf(client),
            "file": (_filled_template(client, world.batch.id, rows), "items.xlsx"),
        },
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "第 3 行" in response.get_data(as_text=True)
    assert _items(session, world.batch.id) == 1


def test_auditors_and_other_kinds_cannot_add_or_import_items(app: Flask, session: Session) -> None:
    world = make_world(session)
    auditor = _bureau_client(app, session, Role.AUDITOR)
    assert "add-item" not in auditor.get(f"/bureau/batches/{world.batch.id}").get_data(as_text=True)
    assert auditor.post(f"/bureau/batches/{world.batch.id}/items", data=_form(auditor)).status_code == 403
    hospital = make_user(session, make_org(session, OrgKind.HOSPITAL), Role.ADMIN)
    session.commit()
    other = app.test_client()
    web_login(other, hospital.username)
    assert other.post(f"/bureau/batches/{world.batch.id}/items", data=_form(other)).status_code == 403
    assert _items(session, world.batch.id) == 1


def test_pickers_search_by_name_and_show_region_names_scoped_to_the_bureau(
    app: Flask, session: Session
) -> None:
    make_org(session, OrgKind.HOSPITAL, name="成都市第一人民医院", region_code="510104")
    make_org(session, OrgKind.DISTRIBUTOR, name="德阳配送公司", region_code="510600")
    client = _bureau_client(app, session, Role.AUDITOR)
    found = client.get("/pickers/hospitals?q=第一人民").get_json()
    assert [o["label"].split(" · ")[:2] for o in found] == [["成都市第一人民医院", "成都市锦江区"]]
    assert client.get("/pickers/hospitals?q=锦江").get_json()[0]["value"] == found[0]["value"]
    assert (
        client.get("/pickers/distributors?q=德阳").get_json()[0]["label"].startswith("德阳配送公司 · 德阳市")
    )
    assert client.get("/pickers/regions?q=510100").get_json() == [
        {"value": "510100", "label": "成都市 (510100)"}
    ]
    assert client.get("/pickers/nothing").status_code == 404

    hospital = make_user(session, make_org(session, OrgKind.HOSPITAL), Role.ADMIN)
    session.commit()
    other = app.test_client()
    web_login(other, hospital.username)
    assert other.get("/pickers/hospitals?q=医院").status_code == 403
    assert other.get("/pickers/regions?q=成都").status_code == 200


def _approved_run(session: Session) -> tuple[Any, int, int]:
    """One hospital's confirmed application in an approved run (tests.ledger.test_reconcile's flow)."""
    market = make_market(session)
    Line(market, 10).place().accept().receive(10).invoice_all()
    application = settlement.file_application(
        session, market.distributor_actor, hospital_id=market.hospital.id, period_month=PERIOD, now=FILED
    )
    settlement.confirm_application(session, market.hospital_actor, application.id, disputes={}, now=FILED)
    run = settlement.approve_run(session, market.world.bureau, period_month=PERIOD, now=FILED)
    session.commit()
    return market, run.id, application.id


def test_the_run_page_shows_the_product_on_every_line_and_records_a_payment(
    app: Flask, session: Session
) -> None:
    market, run_id, application_id = _approved_run(session)
    client = _bureau_client(app, session)
    settlement_page = client.get("/bureau/settlement").get_data(as_text=True)
    assert f'href="/bureau/settlement/runs/{run_id}"' in settlement_page
    page = client.get(f"/bureau/settlement/runs/{run_id}").get_data(as_text=True)
    product = market.listing.product
    assert f"{product.generic_name} {product.spec_text}" in page
    assert product.code in page
    assert "data-confirm=" in page
    assert client.get("/bureau/settlement/runs/999999999").status_code == 404

    missing = client.post(
        f"/bureau/settlement/runs/{run_id}/payments",
        data={"csrf_token": csrf(client), "paid_on": "", "source": "fund", f"ref-{application_id}": "BANK-1"},
    )
    assert missing.status_code == 422
    assert 'value="BANK-1"' in missing.get_data(as_text=True)  # what was typed is kept
    assert session.scalar(select(func.count()).select_from(Payment)) == 0

    paid_on = clock.business_date(clock.now()).isoformat()
    paid = client.post(
        f"/bureau/settlement/runs/{run_id}/payments",
        data={
            "csrf_token": csrf(client),
            "paid_on": paid_on,
            "source": "fund",
            f"ref-{application_id}": "BANK-1",
        },
    )
    assert paid.status_code == 302
    session.expire_all()
    payment = session.scalars(select(Payment)).one()
    assert (payment.application_id, payment.bank_reference) == (application_id, "BANK-1")
    after = client.get(f"/bureau/settlement/runs/{run_id}").get_data(as_text=True)
    assert "BANK-1" in after
    assert "已支付" in after

    again = client.post(
        f"/bureau/settlement/runs/{run_id}/payments",
        data={
            "csrf_token": csrf(client),
            "paid_on": paid_on,
            "source": "fund",
            f"ref-{application_id}": "BANK-2",
        },
    )
    assert again.status_code == 422
    assert f"结算申请 {application_id}" in again.get_data(as_text=True)  # the refusal names its application
    assert session.scalar(select(func.count()).select_from(Payment)) == 1


def test_the_bureau_generates_the_months_statements_with_pickers(app: Flask, session: Session) -> None:
    market, _run_id, _application_id = _approved_run(session)
    auditor = _bureau_client(app, session, Role.AUDITOR)
    assert (
        auditor.post(
            "/bureau/statements", data={"csrf_token": csrf(auditor), "period": "2026-05"}
        ).status_code
        == 403
    )
    client = _bureau_client(app, session)
    page = client.get("/bureau/statements").get_data(as_text=True)
    assert f'<option value="{market.hospital.id}">{market.hospital.name} · ' in page
    assert "医疗机构ID" not in page

    bad = client.post("/bureau/statements", data={"csrf_token": csrf(client), "period": "2026-13"})
    assert bad.status_code == 422
    assert session.scalar(select(func.count()).select_from(Statement)) == 0

    made = client.post(
        "/bureau/statements",
        data={"csrf_token": csrf(client), "period": "2026-05", "hospital_id": str(market.hospital.id)},
    )
    assert made.status_code == 200
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Statement)) == 1
    again = client.post("/bureau/statements", data={"csrf_token": csrf(client), "period": "2026-05"})
    assert again.status_code == 200
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Statement)) == 1  # unchanged: no new version


def test_the_bureau_reviews_price_linked_listings_flagged_first_and_delisting_is_confirmed(
    app: Flask, session: Session
) -> None:
    market = make_market(session)
    winner = market.world.actor(session.get_one(Organization, market.award.manufacturer_id))
    listing = listings.apply_price_linked(
        session,
        winner,
        product_id=market.award.product_id,
        region_code="510600",
        pack_price_fen=market.award.pack_price_fen + 1,  # above the lowest price held: flagged
        now=clock.now(),
    )
    session.commit()
    client = _bureau_client(app, session)
    page = client.get("/bureau/listings/price-linked").get_data(as_text=True)
    assert "德阳市" in page  # the region by its name
    assert "510600" not in page.split('id="price-linked"')[1]
    assert listing.product.code in page
    assert 'data-confirm="' in page
    assert listing.price_flagged

    def decide(to: str) -> int:
        data = {"csrf_token": csrf(client), "to": to, "reason": "价格复核"}
        return client.post(f"/bureau/listings/price-linked/{listing.id}", data=data).status_code

    assert "批准挂网" in client.get("/bureau/listings/price-linked").get_data(as_text=True)
    assert decide("listed") == 302  # the held application is approved
    session.expire_all()
    assert session.get_one(Listing, listing.id).status is ListingStatus.LISTED
    assert decide("suspended") == 302
    assert decide("listed") == 302  # relisted
    session.expire_all()
    assert session.get_one(Listing, listing.id).status is ListingStatus.LISTED
    assert decide("delisted") == 302
    assert decide("listed") == 302  # refused (delisted is final): flashed, nothing changes
    session.expire_all()
    assert session.get_one(Listing, listing.id).status is ListingStatus.DELISTED
    assert (
        client.get("/bureau/listings/price-linked?region_code=510100")
        .get_data(as_text=True)
        .count(f"<td>{listing.id}</td>")
        == 0
    )


def test_the_item_picker_lists_a_visible_batchs_items_by_name_and_answers_404_for_others(
    app: Flask, session: Session
) -> None:
    world = make_world(session)  # a draft: the bureau's only
    client = _bureau_client(app, session, Role.AUDITOR)
    found = client.get(f"/pickers/items?batch_id={world.batch.id}&q=测试").get_json()
    assert found == [{"value": str(world.items[0].id), "label": "测试药0 10mg · 口服常释剂型"}]
    assert client.get("/pickers/items?batch_id=999999999").status_code == 404
    assert client.get("/pickers/items?batch_id=x").status_code == 404
    hospital = make_user(session, make_org(session, OrgKind.HOSPITAL), Role.ADMIN)
    session.commit()
    other = app.test_client()
    web_login(other, hospital.username)
    assert (
        other.get(f"/pickers/items?batch_id={world.batch.id}").status_code == 404
    )  # a draft is the bureau's
    product_id = world.product("甲", world.items[0])
    session.commit()
    code = session.get_one(Product, product_id).code
    products = other.get(f"/pickers/products?q={code}").get_json()  # the catalogue is everyone's
    assert products == [{"value": str(product_id), "label": f"测试药0 10mg×100 · 企业甲 · {code}"}]
    assert other.get("/pickers/products?q=企业甲").get_json() == products  # by manufacturer too


def test_the_batch_page_names_items_products_and_routes_never_bare_ids_or_codes(
    app: Flask, session: Session
) -> None:
    market = make_market(session)
    client = _bureau_client(app, session, Role.AUDITOR)
    page = client.get(f"/bureau/batches/{market.world.batch.id}").get_data(as_text=True)
    product = market.listing.product
    results = page.split('id="results"')[1]
    assert "测试药0 10mg" in results
    assert f"{product.generic_name} {product.spec_text}" in results
    assert product.code in results
    assert "价差规则中选" in results
    assert ">spread<" not in results
    assert "成都市" in results  # the allocation's region by its name


def test_a_flagged_application_waits_on_the_review_page_and_the_bureau_may_refuse_it(
    app: Flask, session: Session
) -> None:
    market = make_market(session)
    winner = market.world.actor(session.get_one(Organization, market.award.manufacturer_id))
    held = listings.apply_price_linked(
        session,
        winner,
        product_id=market.award.product_id,
        region_code="510600",
        pack_price_fen=market.award.pack_price_fen + 1,
        now=clock.now(),
    )
    session.commit()
    assert held.status is ListingStatus.APPLIED
    client = _bureau_client(app, session)
    row = client.get("/bureau/listings/price-linked").get_data(as_text=True).split(f"<td>{held.id}</td>")[1]
    row = row.split("</tr>")[0]
    assert "已申请" in row
    assert "批准挂网" in row
    assert "拒绝挂网" in row
    assert "暂停" not in row  # an application is approved or refused, not suspended
    assert f'data-confirm="拒绝挂网申请 {held.id}' in row
    data = {"csrf_token": csrf(client), "to": "delisted", "reason": "高于外省最低价"}
    assert client.post(f"/bureau/listings/price-linked/{held.id}", data=data).status_code == 302
    session.expire_all()
    refused = session.get_one(Listing, held.id)
    assert (refused.status, refused.status_reason) == (ListingStatus.DELISTED, "高于外省最低价")
