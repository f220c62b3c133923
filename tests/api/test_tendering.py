"""Tendering through the HTTP API: E3 and E4 end to end, sealed-bid secrecy, uploads, 409s."""

import io
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from openpyxl import Workbook, load_workbook
from sqlalchemy.orm import Session

from core.actors import OrgKind, Role
from core.organizations import Organization, User
from tests.factories import bearer, make_org, make_user
from tests.tendering import AT_OPENING, DURING_BIDDING, DURING_DEMAND, T0, TIMELINE

Clock = Callable[[datetime], None]


@pytest.fixture
def clock_at(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Freeze the platform clock (core.clock.now) at a settable instant."""
    state = {"now": T0}
    monkeypatch.setattr("core.clock.now", lambda: state["now"])

    def set_now(value: datetime) -> None:
        state["now"] = value

    return set_now


class Api:
    def __init__(self, client: FlaskClient, session: Session) -> None:
        self.client, self.session, self.headers = client, session, {}

    def as_(self, user: User) -> "Api":
        if user.id not in self.headers:
            self.headers[user.id] = bearer(self.session, user)
        self._user = user
        return self

    def call(self, method: str, url: str, expect: int | None = None, **kw: Any) -> Any:
        response = self.client.open(url, method=method, headers=self.headers[self._user.id], **kw)
        if expect is not None:
            assert response.status_code == expect, (
                url,
                response.status_code,
                response.get_data(as_text=True),
            )
        return response


def _iso(value: Any) -> str:
    return value.isoformat()


def _setup_batch(
    api: Api, bureau: User, clock_at: Clock, *, rule_version: str, group: str, ceiling: str
) -> tuple[int, int]:
    clock_at(T0 - timedelta(days=1))
    body = {
        "name": "HTTP 测试批次",
        "category": "drug",
        "rule_version": rule_version,
        **{k: _iso(v) for k, v in TIMELINE.items()},
    }
    batch = api.as_(bureau).call("POST", "/api/v1/batches", 201, json=body).get_json()
    item = api.call(
        "POST",
        f"/api/v1/batches/{batch['id']}/items",
        201,
        json={
            "generic_name": "注射用测试药",
            "dosage_form_group": group,
            "rep_strength_value": "10",
            "rep_strength_unit": "mg",
            "ceiling_price": ceiling,
        },
    ).get_json()
    return batch["id"], item["id"]


def _product(api: Api, bureau: User, maker: Organization, group: str) -> int:
    body = {
        "category": "drug",
        "code": f"HT{maker.id:08d}",
        "generic_name": "注射用测试药",
        "dosage_form": "注射剂",
        "dosage_form_group": group,
        "strength_value": "10",
        "strength_unit": "mg",
        "spec_text": "10mg×100",
        "min_unit": "支",
        "units_per_pack": 100,
        "mah_uscc": maker.uscc,
        "consistency_evaluated": True,
    }
    return api.as_(bureau).call("POST", "/api/v1/products", 201, json=body).get_json()["id"]


def _run_to_bidding(
    api: Api, bureau: User, hospital_user: User, clock_at: Clock, batch_id: int, item_id: int
) -> None:
    clock_at(DURING_DEMAND)
    api.as_(bureau).call(
        "POST", f"/api/v1/batches/{batch_id}/transitions", 200, json={"to": "demand_collection"}
    )
    api.as_(hospital_user).call(
        "POST",
        f"/api/v1/batches/{batch_id}/demand",
        200,
        json={"lines": [{"item_id": item_id, "quantity": 10_000}]},
    )
    clock_at(TIMELINE["demand_closes_at"])
    api.as_(bureau).call("POST", f"/api/v1/batches/{batch_id}/transitions", 200, json={"to": "bidding"})


def _text_of(data: bytes) -> str:
    """A response as text: JSON/CSV as is, xlsx as its cell values."""
    if not data.startswith(b"PK"):
        return data.decode("utf-8-sig")
    workbook = load_workbook(io.BytesIO(data), read_only=True)
    return " ".join(
        str(cell) for sheet in workbook for row in sheet.iter_rows(values_only=True) for cell in row
    )


def _all_get_bodies(api: Api, users: list[User], ids: dict[str, int]) -> list[str]:
    """Every GET endpoint of the API as every user (path ids filled in)."""
    spec = api.as_(users[0]).call("GET", "/api/v1/openapi.json", 200).get_json()
    bodies = []
    for path, ops in spec["paths"].items():
        if "get" not in ops:
            continue
        url = re.sub(r"\{(\w+)\}", lambda m: str(ids.get(m.group(1), 1)), path)
        for user in users:
            response = api.as_(user).call("GET", url)
            assert response.status_code < 500
            bodies.append(f"{user.username} {url} {_text_of(response.get_data())}")
    return bodies


@pytest.fixture
def people(session: Session) -> dict[str, Any]:
    bureau_org = make_org(session, OrgKind.BUREAU)
    hospital = make_org(session, OrgKind.HOSPITAL, region_code="510104")
    return {
        "bureau": make_user(session, bureau_org, Role.OPERATOR),
        "bureau_auditor": make_user(session, bureau_org, Role.AUDITOR),
        "hospital": make_user(session, hospital, Role.OPERATOR),
    }


def test_e3_through_the_api_with_sealed_bids_until_opening(
    client: FlaskClient, session: Session, clock_at: Clock, people: dict[str, Any]
) -> None:
    api, bureau = Api(client, session), people["bureau"]
    batch_id, item_id = _setup_batch(
        api, bureau, clock_at, rule_version="batch_4_9", group="oral_solid", ceiling="1.0000"
    )
    _run_to_bidding(api, bureau, people["hospital"], clock_at, batch_id, item_id)
    clock_at(DURING_BIDDING)
    prices = {
        "A": "20.00",
        "B": "36.00",
        "C": "48.00",
        "D": "50.00",
        "E": "50.01",
        "F": "90.00",
    }  # per 100 units
    makers, receipts = {}, {}
    for name, price in prices.items():
        org = make_org(session, OrgKind.MANUFACTURER, name=f"企业{name}")
        makers[name] = make_user(session, org, Role.OPERATOR)
        product = _product(api, bureau, org, "oral_solid")
        receipts[name] = (
            api.as_(makers[name])
            .call(
                "POST",
                f"/api/v1/batches/{batch_id}/bids",
                201,
                json={"item_id": item_id, "product_id": product, "pack_price": price},
            )
            .get_json()
        )
        assert set(receipts[name]) == {"bid", "digest", "salt", "suite", "digest_algorithm"}
    g = make_org(session, OrgKind.MANUFACTURER, name="企业G")
    g_user = make_user(session, g, Role.OPERATOR)
    g_product = _product(api, bureau, g, "oral_solid")
    above = api.as_(g_user).call(
        "POST",
        f"/api/v1/batches/{batch_id}/bids",
        422,
        json={
            "item_id": item_id,
            "product_id": g_product,
            "pack_price": "100.01",
        },
    )
    assert above.get_json()["error"]["code"] == "above_ceiling"

    # Sealed: no endpoint, no role shows a price before the opening.
    users = [bureau, people["bureau_auditor"], people["hospital"], *makers.values()]
    ids = {"batch_id": batch_id, "item_id": item_id, "bid_id": receipts["A"]["bid"]["id"]}
    unit_prices = [f"{Decimal(p) / 100:.4f}" for p in prices.values()]
    bodies = _all_get_bodies(api, users, ids)
    assert len(bodies) >= 15 * len(users)
    for body in bodies:
        if "/openapi.json" in body:
            continue  # the schema document names the fields, it holds no values
        for value in [*prices.values(), *unit_prices]:
            assert value not in body, body[:300]

    clock_at(AT_OPENING)
    summary = api.as_(bureau).call("POST", f"/api/v1/batches/{batch_id}/open", 200).get_json()
    assert (summary["bids"], summary["winners"]) == (6, 4)
    api.call("POST", f"/api/v1/batches/{batch_id}/publish", 200)
    c_view = api.as_(makers["C"]).call("GET", f"/api/v1/batches/{batch_id}/results", 200).get_json()
    assert [(a["rank"], a["route"], a["comparable_price"]) for a in c_view["awards"]] == [
        (1, "spread", "0.2000"),
        (2, "spread", "0.3600"),
        (3, "half_ceiling", "0.4800"),
        (4, "half_ceiling", "0.5000"),
    ]
    assert [(b["won"], b["route"], b["digest"]) for b in c_view["bids"]] == [
        (True, "half_ceiling", receipts["C"]["digest"])
    ]
    e_view = api.as_(makers["E"]).call("GET", f"/api/v1/batches/{batch_id}/results", 200).get_json()
    assert [(b["won"], b["shortlisted"]) for b in e_view["bids"]] == [(False, False)]
    record = api.as_(bureau).call("GET", f"/api/v1/batches/{batch_id}/results", 200).get_json()
    assert len(record["bids"]) == 6
    assert record["items"][0]["eligible_bidders"] == 6
    assert record["items"][0]["max_shortlisted"] == 4


def test_e4_through_the_api_batch_11_anchor_and_revival(
    client: FlaskClient, session: Session, clock_at: Clock, people: dict[str, Any]
) -> None:
    api, bureau = Api(client, session), people["bureau"]
    batch_id, item_id = _setup_batch(
        api, bureau, clock_at, rule_version="batch_11", group="injection_small", ceiling="0.9000"
    )
    _run_to_bidding(api, bureau, people["hospital"], clock_at, batch_id, item_id)
    clock_at(DURING_BIDDING)
    prices = {
        "A": "10.00",
        "B": "40.00",
        "C": "45.00",
        "D": "50.00",
        "E": "55.00",
        "F": "80.00",
        "G": "85.00",
        "H": "88.00",
    }
    makers = {}
    for name, price in prices.items():
        org = make_org(session, OrgKind.MANUFACTURER, name=f"企业{name}")
        makers[name] = org
        product = _product(api, bureau, org, "injection_small")
        api.as_(make_user(session, org, Role.OPERATOR)).call(
            "POST",
            f"/api/v1/batches/{batch_id}/bids",
            201,
            json={
                "item_id": item_id,
                "product_id": product,
                "pack_price": price,
            },
        )
    clock_at(AT_OPENING)
    api.as_(bureau).call("POST", f"/api/v1/batches/{batch_id}/open", 200)
    record = api.call("GET", f"/api/v1/batches/{batch_id}/results", 200).get_json()
    item = record["items"][0]
    assert (item["anchor_price"], item["fuse_line"], item["revival_price"]) == ("0.2000", "0.3600", "0.3600")
    by_maker = {
        a["manufacturer_id"]: (a["route"], a["comparable_price"], a["pack_price"]) for a in record["awards"]
    }
    assert by_maker == {
        makers["A"].id: ("spread", "0.1000", "10.00"),
        **{makers[n].id: ("shortlist_revival", "0.3600", "36.00") for n in "BCDE"},
    }


def test_illegal_transition_is_409(
    client: FlaskClient, session: Session, clock_at: Clock, people: dict[str, Any]
) -> None:
    api, bureau = Api(client, session), people["bureau"]
    batch_id, _ = _setup_batch(
        api, bureau, clock_at, rule_version="batch_10", group="oral_solid", ceiling="1.0000"
    )
    response = api.as_(bureau).call(
        "POST", f"/api/v1/batches/{batch_id}/transitions", 409, json={"to": "sealed"}
    )
    assert response.get_json()["error"]["code"] == "illegal_transition"
    assert (
        api.call("POST", f"/api/v1/batches/{batch_id}/open", 409).get_json()["error"]["code"]
        == "illegal_transition"
    )


def test_hospital_cannot_create_batches_and_drafts_are_hidden(
    client: FlaskClient, session: Session, clock_at: Clock, people: dict[str, Any]
) -> None:
    api, bureau = Api(client, session), people["bureau"]
    batch_id, _ = _setup_batch(
        api, bureau, clock_at, rule_version="batch_10", group="oral_solid", ceiling="1.0000"
    )
    api.as_(people["hospital"]).call("GET", f"/api/v1/batches/{batch_id}", 404)
    api.call("POST", "/api/v1/batches", 403, json={})


def test_demand_xlsx_upload_reports_row_errors_and_writes_nothing(
    client: FlaskClient, session: Session, clock_at: Clock, people: dict[str, Any]
) -> None:
    api, bureau = Api(client, session), people["bureau"]
    batch_id, item_id = _setup_batch(
        api, bureau, clock_at, rule_version="batch_10", group="oral_solid", ceiling="1.0000"
    )
    clock_at(DURING_DEMAND)
    api.as_(bureau).call(
        "POST", f"/api/v1/batches/{batch_id}/transitions", 200, json={"to": "demand_collection"}
    )

    def xlsx(rows: list[list[Any]]) -> io.BytesIO:
        wb = Workbook()
        ws = wb.active
        ws.append(["品种ID", "年需求量", "地区代码"])
        for row in rows:
            ws.append(row)
        buf = io.BytesIO()
        wb.save(buf)
        buf.seek(0)
        return buf

    bad = xlsx(
        [[item_id, 100, "510100"], [item_id, "-5", "510300"], ["abc", 3, "510100"], [item_id, 1, "5101"]]
    )
    response = api.as_(people["hospital"]).call(
        "POST", f"/api/v1/batches/{batch_id}/demand/upload", 422, data={"file": (bad, "demand.xlsx")}
    )
    fields = response.get_json()["error"]["fields"]
    assert set(fields) == {"row 3.quantity", "row 4.item_id", "row 5.region_code"}
    injected = xlsx([[item_id, '=HYPERLINK("http://x")', None]])
    response = api.call(
        "POST", f"/api/v1/batches/{batch_id}/demand/upload", 422, data={"file": (injected, "d.xlsx")}
    )
    assert list(response.get_json()["error"]["fields"]) == ["row 2.quantity"]
    listed = api.call("GET", f"/api/v1/batches/{batch_id}/demand", 200).get_json()
    assert listed == []

    good = xlsx([[item_id, 100, "510100"], [item_id, 40, "510300"]])
    api.call("POST", f"/api/v1/batches/{batch_id}/demand/upload", 200, data={"file": (good, "demand.xlsx")})
    totals = api.as_(bureau).call("GET", f"/api/v1/batches/{batch_id}/demand/totals", 200).get_json()
    assert [(t["region_code"], t["quantity"]) for t in totals] == [("510100", 100), ("510300", 40)]


def test_catalogue_import_is_all_or_nothing_and_exports_round_trip(
    client: FlaskClient, session: Session, people: dict[str, Any]
) -> None:
    api, bureau = Api(client, session), people["bureau"]
    maker = make_org(session, OrgKind.MANUFACTURER)
    header = (
        "类别,医保编码,通用名,剂型,剂型组,含量,含量单位,规格,最小单位,包装数量,"
        "上市许可持有人信用代码,通过一致性评价\n"
    )
    row = "drug,{code},阿托伐他汀钙片,片剂,oral_solid,{strength},mg,10mg×28片,片,{units},{uscc},是\n"
    bad_csv = (
        header
        + row.format(code="C1", strength="10", units="28", uscc=maker.uscc)
        + row.format(code="C2", strength="ten", units="28", uscc=maker.uscc)
        + row.format(code="C3", strength="20", units="0", uscc="x" * 18)
    )
    response = api.as_(bureau).call(
        "POST", "/api/v1/products/import", 422, data={"file": (io.BytesIO(bad_csv.encode()), "products.csv")}
    )
    fields = response.get_json()["error"]["fields"]
    assert "row 3.strength_value" in fields
    assert "row 4.units_per_pack" in fields
    assert api.call("GET", "/api/v1/products", 200).get_json() == []

    good_csv = header + row.format(code="C1", strength="10", units="28", uscc=maker.uscc)
    api.call("POST", "/api/v1/products/import", 201, data={"file": (io.BytesIO(good_csv.encode()), "p.csv")})
    exported = api.call("GET", "/api/v1/products/export?format=csv", 200).get_data(as_text=True)
    assert "阿托伐他汀钙片" in exported
    assert maker.uscc in exported
