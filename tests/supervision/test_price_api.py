"""Price governance and the shortage list over HTTP: bureau-only imports (422 naming the cell, 409
for the same file), public prices, a comparison only of a listing the caller may see, the
shortage direct listing."""

from __future__ import annotations

import io

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.actors import Role
from core.organizations import Organization
from tests.api.test_tendering import Api
from tests.factories import make_user
from tests.supervision.test_price_governance import priced
from tests.supervision.test_price_shortage import shortage_csv


def _file(data: bytes, name: str = "f.csv") -> dict[str, object]:
    return {"file": (io.BytesIO(data), name)}


def test_price_governance_over_http(client: FlaskClient, session: Session) -> None:
    p = priced(session)
    world = p.market.world
    bureau = make_user(session, session.get_one(Organization, world.bureau.org_id), Role.OPERATOR)
    maker_c = make_user(session, world.manufacturer("C"), Role.OPERATOR)
    maker_a = make_user(session, world.manufacturer("A"), Role.OPERATOR)
    hospital = make_user(session, p.market.hospital, Role.OPERATOR)
    api = Api(client, session)

    good = p.rows(("440000", "24.00", "2026-04-01"), ("330000", "25.00", "2026-04-15"))
    bad = p.rows(("440000", "24.00", "2026-04-01"), ("123456", "25.00", "2026-04-15"))
    api.as_(maker_c).call("POST", "/api/v1/prices/other-provinces", 403, data=_file(good))
    body = api.as_(bureau).call("POST", "/api/v1/prices/other-provinces", 422, data=_file(bad)).get_json()
    assert "row 3.province_code" in str(body)
    assert api.call("POST", "/api/v1/prices/other-provinces", 201, data=_file(good)).get_json() == {"rows": 2}
    api.call("POST", "/api/v1/prices/other-provinces", 409, data=_file(good, "again.csv"))
    template = api.call("GET", "/api/v1/prices/other-provinces/template", 200)
    assert template.data[:2] == b"PK"

    listed = (
        api.as_(hospital).call("GET", "/api/v1/prices/other-provinces?province_code=440000", 200).get_json()
    )
    assert [(r["province_code"], r["pack_price"]) for r in listed] == [("440000", "24.00")]
    api.call("GET", "/api/v1/prices/other-provinces?province_code=<script>", 422)

    url = f"/api/v1/listings/{p.listing.id}/price-comparison"
    comparison = api.as_(maker_c).call("GET", url, 200).get_json()
    assert comparison["listing"]["price_risk"] == "red"
    assert comparison["listing"]["red_line_price"] == "30.00"
    assert comparison["listing"]["peer_median_price"] == "24.50"
    assert [x["province_code"] for x in comparison["peers"]] == ["330000", "440000"]
    api.as_(maker_a).call("GET", url, 404)  # a competitor's listing
    api.call("GET", "/api/v1/listings/999999/price-comparison", 404)

    # Price change: own listing only, a bad price names the field.
    api.as_(maker_a).call("POST", f"/api/v1/listings/{p.listing.id}/price", 404, json={"pack_price": "1.00"})
    api.as_(maker_c).call("POST", f"/api/v1/listings/{p.listing.id}/price", 422, json={"pack_price": "-1"})
    changed = api.call("POST", f"/api/v1/listings/{p.listing.id}/price", 200, json={"pack_price": "28.80"})
    assert changed.get_json()["pack_price"] == "28.80"
    # Compared again at once: 28.80 = the lowest 24.00 × 1.20, not above it, so yellow.
    assert changed.get_json()["price_risk"] == "yellow"


def test_shortage_list_and_direct_listing_over_http(client: FlaskClient, session: Session) -> None:
    p = priced(session)
    world = p.market.world
    bureau = make_user(session, session.get_one(Organization, world.bureau.org_id), Role.OPERATOR)
    maker_c = make_user(session, world.manufacturer("C"), Role.OPERATOR)
    api = Api(client, session)
    product = p.listing.product
    body = {"product_id": p.product_id, "region_code": "510100", "pack_price": "99.00"}
    refused = api.as_(maker_c).call("POST", "/api/v1/listings/shortage", 422, json=body).get_json()
    assert "product_id" in str(refused)

    data = shortage_csv(
        [product.generic_name, product.dosage_form, product.spec_text, "national", "国家清单", "2026-04-01"]
    )
    api.as_(maker_c).call("POST", "/api/v1/shortage-list", 403, data=_file(data))
    assert api.as_(bureau).call("POST", "/api/v1/shortage-list", 201, data=_file(data)).get_json() == {
        "rows": 1
    }
    api.call("POST", "/api/v1/shortage-list", 409, data=_file(data))
    assert api.call("GET", "/api/v1/shortage-list/template", 200).data[:2] == b"PK"
    entries = api.as_(maker_c).call("GET", "/api/v1/shortage-list?list_kind=national", 200).get_json()
    assert [e["generic_name"] for e in entries] == [product.generic_name]

    listing = api.call("POST", "/api/v1/listings/shortage", 201, json=body).get_json()
    assert (listing["shortage"], listing["shortage_direct"], listing["status"]) == (True, True, "listed")
    mine = api.call("GET", f"/api/v1/listings?product_id={p.product_id}", 200).get_json()
    assert all(x["shortage"] for x in mine)


def test_price_governance_page_imports_and_sorts_by_level(client: FlaskClient, session: Session) -> None:
    from tests.web.test_pages import csrf, web_login

    p = priced(session)
    world = p.market.world
    bureau = make_user(session, session.get_one(Organization, world.bureau.org_id), Role.OPERATOR)
    maker = make_user(session, world.manufacturer("C"), Role.OPERATOR)
    web_login(client, maker.username)
    assert client.get("/bureau/price-governance").status_code == 403
    client.post("/logout", data={"csrf_token": csrf(client)})
    web_login(client, bureau.username)
    data = p.rows(("440000", "24.00", "2026-04-01"))
    response = client.post(
        "/bureau/price-governance/prices",
        data={"csrf_token": csrf(client), **_file(data)},
        follow_redirects=True,
    )
    assert "已导入 1 行" in response.get_data(as_text=True)
    again = client.post(
        "/bureau/price-governance/prices",
        data={"csrf_token": csrf(client), **_file(data)},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "已导入" in again  # the same file: the import refused, said so on the page
    page = client.get("/bureau/price-governance?sort=level").get_data(as_text=True)
    assert "红色风险" in page  # C's listing, first (red sorts first)
    assert page.index("红色风险") < page.index("无可比价格")
    assert "30.00" in page  # the red line
    assert "红色风险" in client.get("/bureau/listings").get_data(as_text=True)
    assert client.get("/bureau/price-governance?sort=<x>&level=<y>").status_code == 200
