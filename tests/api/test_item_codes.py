"""National codes on products and hospital item-code mappings (院内编码对照) through the HTTP API:
create/search/correct national codes, map/remap/import/export item codes, and order uploads that
name products by the hospital's own code."""

import io
from typing import Any

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bidding import catalogue
from bidding.models import Product
from core.actors import OrgKind, Role
from core.audit import AuditEvent
from core.organizations import User
from ledger.models import HospitalItemCode, Order
from ledger.services import item_codes
from tests.factories import actor_of, bearer, make_org, make_user
from tests.ordering import NOW, Market, make_market

DRUG = "XA01ABD075A002010100483"
DRUG_2 = "XC10AAA067A001010101445"
CONSUMABLE = "C" + "0201011010000000000" + "0000123"


@pytest.fixture
def market(session: Session, monkeypatch: pytest.MonkeyPatch) -> Market:
    monkeypatch.setattr("core.clock.now", lambda: NOW)
    return make_market(session)


def _h(session: Session, actor: Any) -> dict[str, str]:
    return bearer(session, session.get_one(User, actor.user_id))


def _bureau(session: Session) -> dict[str, str]:
    return bearer(session, make_user(session, make_org(session, OrgKind.BUREAU), Role.OPERATOR))


def _product_body(maker_uscc: str, code: str, **extra: Any) -> dict[str, Any]:
    return {
        "category": "drug",
        "code": code,
        "generic_name": "阿托伐他汀钙片",
        "dosage_form": "片剂",
        "dosage_form_group": "oral_solid",
        "strength_value": "10",
        "strength_unit": "mg",
        "spec_text": "10mg×28片",
        "min_unit": "片",
        "units_per_pack": 28,
        "mah_uscc": maker_uscc,
        **extra,
    }


def test_a_product_carries_a_valid_unique_national_code_and_is_found_by_it(
    client: FlaskClient, session: Session, market: Market
) -> None:
    bureau = _bureau(session)
    maker = market.world.manufacturer("A")
    bad = client.post(
        "/api/v1/products", headers=bureau, json=_product_body(maker.uscc, "P1", national_code="XA01")
    )
    assert bad.status_code == 422
    assert "23 位" in bad.get_json()["error"]["fields"]["national_code"][0]
    wrong_kind = client.post(
        "/api/v1/products", headers=bureau, json=_product_body(maker.uscc, "P1", national_code=CONSUMABLE)
    )
    assert wrong_kind.status_code == 422
    assert "national_code" in wrong_kind.get_json()["error"]["fields"]
    made = client.post(
        "/api/v1/products", headers=bureau, json=_product_body(maker.uscc, "P1", national_code=DRUG)
    )
    assert made.status_code == 201
    assert made.get_json()["national_code"] == DRUG
    again = client.post(
        "/api/v1/products", headers=bureau, json=_product_body(maker.uscc, "P2", national_code=DRUG)
    )
    assert again.status_code == 409
    assert set(again.get_json()["error"]["fields"]) == {"national_code"}

    def ids(query: str) -> list[int]:
        response = client.get(f"/api/v1/products?{query}", headers=bureau)
        assert response.status_code == 200
        return [p["id"] for p in response.get_json()]

    pid = made.get_json()["id"]
    assert ids(f"national_code={DRUG}") == [pid]
    assert ids("national_code=XA01ABD075A002010100484") == []
    assert ids("national_code_prefix=XA01AB") == [pid]
    assert ids("national_code_prefix=xa01ab") == [pid]  # codes are upper case; the search says so
    assert ids("national_code_prefix=XA01_B") == []  # a LIKE wildcard is a plain character
    assert pid in ids("q=阿托伐他汀")
    assert ids("q=XA01ABD") == [pid]


def test_a_lost_race_on_the_national_code_answers_409_not_500(
    client: FlaskClient, session: Session, market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    bureau = _bureau(session)
    maker = market.world.manufacturer("A")
    body = _product_body(maker.uscc, "P1", national_code=DRUG)
    assert client.post("/api/v1/products", headers=bureau, json=body).status_code == 201
    # The other request passed its check before this one committed: only the unique index stops it.
    monkeypatch.setattr(catalogue, "_national_code_taken", lambda *a, **k: False)
    lost = client.post("/api/v1/products", headers=bureau, json={**body, "code": "P2"})
    assert lost.status_code == 409
    assert set(lost.get_json()["error"]["fields"]) == {"national_code"}


def test_the_bureau_sets_and_corrects_a_legacy_products_national_code_each_change_audited(
    client: FlaskClient, session: Session, market: Market
) -> None:
    bureau = _bureau(session)
    product = market.listing.product
    assert product.national_code is None
    url = f"/api/v1/products/{product.id}/national-code"
    assert (
        client.put(url, headers=_h(session, market.hospital_actor), json={"national_code": DRUG}).status_code
        == 403
    )
    bad = client.put(url, headers=bureau, json={"national_code": DRUG[:5] + "x" + DRUG[6:]})
    assert bad.status_code == 422
    assert "第 6 位" in bad.get_json()["error"]["fields"]["national_code"][0]
    assert client.put(url, headers=bureau, json={"national_code": DRUG}).status_code == 200
    fixed = client.put(url, headers=bureau, json={"national_code": DRUG_2})
    assert fixed.status_code == 200
    assert fixed.get_json()["national_code"] == DRUG_2
    events = session.scalars(
        select(AuditEvent)
        .where(
            AuditEvent.subject_type == "product",
            AuditEvent.subject_id == str(product.id),
            AuditEvent.action.startswith("product.national_code"),
        )
        .order_by(AuditEvent.id)
    ).all()
    assert [(e.action, e.before, e.after) for e in events] == [
        ("product.national_code_set", {"national_code": None}, {"national_code": DRUG}),
        ("product.national_code_corrected", {"national_code": DRUG}, {"national_code": DRUG_2}),
    ]


def test_catalogue_import_and_export_carry_the_national_code(
    client: FlaskClient, session: Session, market: Market
) -> None:
    bureau = _bureau(session)
    maker = market.world.manufacturer("A")
    header = (
        "类别,产品编码,通用名,剂型,剂型组,含量,含量单位,规格,最小单位,包装数量,"
        "上市许可持有人信用代码,国家医保编码\n"
    )
    row = "drug,{code},阿托伐他汀钙片,片剂,oral_solid,10,mg,10mg×28片,片,28,{uscc},{national}\n"
    twice = (
        header
        + row.format(code="N1", uscc=maker.uscc, national=DRUG)
        + row.format(code="N2", uscc=maker.uscc, national=DRUG)
    )
    bad = client.post(
        "/api/v1/products/import", headers=bureau, data={"file": (io.BytesIO(twice.encode()), "p.csv")}
    )
    assert bad.status_code == 422
    assert set(bad.get_json()["error"]["fields"]) == {"row 3.national_code"}
    good = (
        header
        + row.format(code="N1", uscc=maker.uscc, national=DRUG)
        + row.format(code="N2", uscc=maker.uscc, national="")
    )
    ok = client.post(
        "/api/v1/products/import", headers=bureau, data={"file": (io.BytesIO(good.encode()), "p.csv")}
    )
    assert ok.status_code == 201
    exported = client.get("/api/v1/products/export?format=csv", headers=bureau).get_data(as_text=True)
    assert exported.splitlines()[0].endswith("国家医保编码")
    assert "N1,阿托伐他汀钙片" in exported
    assert DRUG in exported


def _map(client: FlaskClient, headers: dict[str, str], **body: Any) -> Any:
    return client.post("/api/v1/item-codes", headers=headers, json=body)


def test_a_hospital_maps_and_remaps_its_own_item_codes_and_sees_only_its_own(
    client: FlaskClient, session: Session, market: Market
) -> None:
    h, other = _h(session, market.hospital_actor), _h(session, market.other_hospital_actor)
    product = market.listing.product
    made = _map(client, h, item_code="HIS-001", product_id=product.id, item_name="阿托伐他汀")
    assert made.status_code == 201
    first = made.get_json()
    assert (first["item_code"], first["product_id"], first["live"]) == ("HIS-001", product.id, True)
    twice = _map(client, h, item_code="HIS-001", product_id=product.id)
    assert twice.status_code == 409
    assert set(twice.get_json()["error"]["fields"]) == {"item_code"}
    unknown = _map(client, h, item_code="HIS-002", product="NO-SUCH")
    assert unknown.status_code == 422
    assert set(unknown.get_json()["error"]["fields"]) == {"product"}
    # The other hospital may use the same code for itself, and cannot see or remap ours.
    assert _map(client, other, item_code="HIS-001", product_id=product.id).status_code == 201
    assert client.get(f"/api/v1/item-codes/{first['id']}", headers=other).status_code == 404
    replace = f"/api/v1/item-codes/{first['id']}/replacement"
    assert client.post(replace, headers=other, json={"product_id": product.id}).status_code == 404
    assert [m["id"] for m in client.get("/api/v1/item-codes", headers=h).get_json()] == [first["id"]]

    maker = market.world.manufacturer("A")
    other_product = session.get_one(Product, market.world.product("B", market.world.items[0]))
    remap = client.post(replace, headers=h, json={"product_id": other_product.id})
    assert remap.status_code == 201
    second = remap.get_json()
    assert (second["supersedes_id"], second["product_id"], second["item_name"]) == (
        first["id"],
        other_product.id,
        "阿托伐他汀",
    )
    assert client.post(replace, headers=h, json={"product_id": product.id}).status_code == 409
    live = client.get("/api/v1/item-codes", headers=h).get_json()
    assert [m["id"] for m in live] == [second["id"]]
    history = client.get("/api/v1/item-codes?history=true", headers=h).get_json()
    assert {m["id"]: m["live"] for m in history} == {first["id"]: False, second["id"]: True}
    assert maker.id  # the manufacturer sees no mappings
    m = _h(session, market.world.actor(maker))
    assert client.get("/api/v1/item-codes", headers=m).status_code == 403


def test_mapping_import_is_all_or_nothing_names_row_and_column_and_round_trips(
    client: FlaskClient, session: Session, market: Market
) -> None:
    h = _h(session, market.hospital_actor)
    product = market.listing.product
    catalogue.set_national_code(session, market.world.bureau, product.id, national_code=DRUG, now=NOW)
    session.commit()
    counts = session.scalar(select(func.count()).select_from(HospitalItemCode))
    bad = (
        "院内编码,产品编码或国家医保编码,院内名称\n"
        f"H1,{product.code},片\n"
        "H2,NOPE,x\n"
        f"H1,{DRUG},dup\n"
        f",{DRUG},\n"
    )
    response = client.post(
        "/api/v1/item-codes/import", headers=h, data={"file": (io.BytesIO(bad.encode()), "m.csv")}
    )
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"row 5.item_code"}  # schema errors first
    bad = bad.rsplit("\n", 2)[0] + "\n"
    response = client.post(
        "/api/v1/item-codes/import", headers=h, data={"file": (io.BytesIO(bad.encode()), "m.csv")}
    )
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"row 3.product", "row 4.item_code"}
    assert session.scalar(select(func.count()).select_from(HospitalItemCode)) == counts

    good = f"院内编码,产品编码或国家医保编码,院内名称\nH1,{product.code},片\nH2,{DRUG},针\n"
    ok = client.post(
        "/api/v1/item-codes/import", headers=h, data={"file": (io.BytesIO(good.encode()), "m.csv")}
    )
    assert ok.status_code == 201
    assert ok.get_json() == {"created": 2, "remapped": 0, "unchanged": 0}
    exported = client.get("/api/v1/item-codes/export?format=xlsx", headers=h)
    assert exported.status_code == 200
    sheet = load_workbook(io.BytesIO(exported.data)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0][:3] == ["院内编码", "产品编码或国家医保编码", "院内名称"]
    assert [r[:4] for r in rows[1:3]] == [["H1", product.code, "片", DRUG], ["H2", product.code, "针", DRUG]]
    again = client.post(
        "/api/v1/item-codes/import",
        headers=h,
        data={"file": (io.BytesIO(exported.data), "m.xlsx")},
    )
    assert again.status_code == 201, again.get_json()
    assert again.get_json() == {"created": 0, "remapped": 0, "unchanged": 2}
    other_product = session.get_one(Product, market.world.product("B", market.world.items[0]))
    session.commit()
    remap = f"院内编码,产品编码或国家医保编码\nH2,{other_product.code}\n"
    moved = client.post(
        "/api/v1/item-codes/import", headers=h, data={"file": (io.BytesIO(remap.encode()), "m.csv")}
    )
    assert moved.get_json() == {"created": 0, "remapped": 1, "unchanged": 0}


def test_order_upload_accepts_the_hospitals_item_code_or_a_national_code(
    client: FlaskClient, session: Session, market: Market
) -> None:
    h = _h(session, market.hospital_actor)
    product = market.listing.product
    catalogue.set_national_code(session, market.world.bureau, product.id, national_code=DRUG, now=NOW)
    item_codes.create_mapping(session, market.hospital_actor, item_code="HIS-9", product=product.id, now=NOW)
    session.commit()
    orders = session.scalar(select(func.count()).select_from(Order))
    bad = (
        "院内编码,数量,配送企业ID\n"
        f"HIS-9,10,{market.distributor.id}\n"
        f"HIS-404,10,{market.distributor.id}\n"
        f",10,{market.distributor.id}\n"
    )
    response = client.post(
        "/api/v1/orders/upload", headers=h, data={"file": (io.BytesIO(bad.encode()), "o.csv")}
    )
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert set(fields) == {"row 3.item_code", "row 4.listing_id"}
    assert "未对照" in fields["row 3.item_code"][0]
    assert session.scalar(select(func.count()).select_from(Order)) == orders

    good = f"院内编码,数量,配送企业ID\nHIS-9,10,{market.distributor.id}\n{DRUG},4,{market.distributor.id}\n"
    ok = client.post("/api/v1/orders/upload", headers=h, data={"file": (io.BytesIO(good.encode()), "o.csv")})
    assert ok.status_code == 201, ok.get_json()
    order = session.get_one(Order, ok.get_json()[0]["id"])
    assert [(line.listing_id, line.quantity) for line in order.lines] == [
        (market.listing.id, 10),
        (market.listing.id, 4),
    ]
    # Another hospital's item code means nothing here.
    item_codes.create_mapping(
        session, market.other_hospital_actor, item_code="OTHER-1", product=product.id, now=NOW
    )
    session.commit()
    theirs = f"院内编码,数量,配送企业ID\nOTHER-1,1,{market.distributor.id}\n"
    refused = client.post(
        "/api/v1/orders/upload", headers=h, data={"file": (io.BytesIO(theirs.encode()), "o.csv")}
    )
    assert set(refused.get_json()["error"]["fields"]) == {"row 2.item_code"}


def test_resolve_item_codes_and_item_code_of_for_the_sync_interface(session: Session, market: Market) -> None:
    product = market.listing.product
    other_product = session.get_one(Product, market.world.product("B", market.world.items[0]))
    catalogue.set_national_code(session, market.world.bureau, other_product.id, national_code=DRUG, now=NOW)
    hospital = market.hospital_actor
    item_codes.create_mapping(session, hospital, item_code="A-1", product=product.id, now=NOW)
    old = item_codes.create_mapping(session, hospital, item_code="A-2", product=product.id, now=NOW)
    item_codes.replace_mapping(session, hospital, old.id, product=other_product.id, now=NOW)
    item_codes.create_mapping(
        session, market.other_hospital_actor, item_code="B-1", product=product.id, now=NOW
    )
    assert item_codes.resolve_item_codes(session, market.hospital.id, ["A-1", "A-2", "B-1", DRUG, "?"]) == {
        "A-1": product.id,
        "A-2": other_product.id,
        DRUG: other_product.id,
    }
    assert item_codes.item_code_of(session, market.hospital.id, [product.id, other_product.id, 999_999]) == {
        product.id: "A-1",
        other_product.id: "A-2",
    }
    assert item_codes.item_code_of(session, market.other_hospital.id, [product.id]) == {product.id: "B-1"}
    assert actor_of  # factories stay importable for the mapping writers above
