"""Money is plain decimal notation with bounded digits, everywhere: every yuan, unit-price and ratio
field of the API (found in the schemas of the URL map, not listed by hand), the spreadsheet
uploads and the web forms refuse exponents, full-width digits, underscores, NaN and infinities,
signs and whitespace tricks and absurd lengths with a 422 naming the field, never a 500."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from marshmallow import Schema, fields
from sqlalchemy.orm import Session

from core.actors import OrgKind, Role
from core.organizations import User
from core.validation import Ratio, UnitPrice, Yuan
from tests.factories import bearer, make_org, make_user
from tests.security.test_sealed_bids import _bidding_world
from tests.tendering import DURING_BIDDING
from tests.web.test_pages import csrf, web_login

HOSTILE = [
    "1e999999999",
    "1e300000",
    "1E2",
    "１２.５",
    "١٢",
    "1_000",
    "NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "+12",
    " 12.5",
    "12.5 ",
    "12.5\n",
    "\u00a012",
    "1,000",
    "0x10",
    ".5",
    "5.",
    "9" * 13,
    "1" * 100_000,
    "0." + "0" * 50 + "1",
    "",
    "-",
    10**30,
    -(10**30),
    1.5,
    True,
]
MONEY = (Yuan, UnitPrice, Ratio)


def _money_paths(schema: Schema, prefix: str = "") -> list[str]:
    """Dotted paths of every money field of a schema, through nested schemas and lists."""
    paths = []
    for name, field in schema.load_fields.items():
        path = prefix + (field.data_key or name)
        if isinstance(field, MONEY):
            paths.append(path)
        elif isinstance(field, fields.Nested):
            paths += _money_paths(field.schema, path + ".")
        elif isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
            paths += _money_paths(field.inner.schema, path + ".0.")
    return paths


def _money_routes(app: Flask) -> list[tuple[str, str, str, str, Any]]:
    """(method, url, location, field path, the view's gate) of every money field of the API."""
    found = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        for parameter in getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", []):
            schema = parameter["schema"]
            schema = schema() if isinstance(schema, type) else schema
            for path in _money_paths(schema):
                method = next(iter(sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})))
                url = rule.rule.replace("<int:", "").replace(">", "")
                for name in rule.arguments:
                    url = url.replace(name, "1")
                found.append((method, url, parameter["in"], path, view._vbp_requires))
    return found


def _body(path: str, value: object) -> dict[str, Any]:
    """{"lines": [{"amount": value}]} from "lines.0.amount"."""
    head, _, rest = path.partition(".")
    if not rest:
        return {head: value}
    index, _, rest = rest.partition(".")
    assert index == "0", path
    return {head: [_body(rest, value)]}


def test_the_api_has_money_fields_to_attack(app: Flask) -> None:
    paths = {(method, url, path) for method, url, _, path, _ in _money_routes(app)}
    assert ("POST", "/api/v1/batches/1/bids", "pack_price") in paths
    assert ("POST", "/api/v1/invoices", "lines.0.amount") in paths
    assert len(paths) >= 15


def test_every_money_field_of_the_api_refuses_hostile_numbers_naming_the_field(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    users: dict[OrgKind, dict[str, str]] = {}
    checked = 0
    for method, url, location, path, (kinds, _roles) in _money_routes(app):
        kind = sorted(kinds or {OrgKind.BUREAU}, key=lambda k: k.value)[0]
        if kind not in users:
            users[kind] = bearer(session, make_user(session, make_org(session, kind), Role.ADMIN))
        for value in HOSTILE:
            if location == "query":
                if not isinstance(value, str):
                    continue
                response = client.open(url, method=method, query_string={path: value}, headers=users[kind])
            else:
                response = client.open(url, method=method, json=_body(path, value), headers=users[kind])
            assert response.status_code == 422, (method, url, path, value, response.get_json())
            fields_named = response.get_json()["error"]["fields"]
            assert path in fields_named, (method, url, path, value, fields_named)
            assert all(len(m) < 300 for m in fields_named[path]), fields_named[path]
            checked += 1
    assert checked >= 15 * 20


@pytest.mark.parametrize("value", ["1e999999999", "１２.５", "1_000", "1e2", "NaN", "+12", "9" * 13])
def test_an_upload_refuses_hostile_amounts_naming_the_row_and_column(
    client: FlaskClient, session: Session, value: str
) -> None:
    hospital = bearer(session, make_user(session, make_org(session, OrgKind.HOSPITAL), Role.OPERATOR))
    csv = f"月份,类别,金额\n2026-05-01,drugs,{value}\n".encode()
    response = client.post(
        "/api/v1/off-platform-purchases/upload",
        data={"file": (io.BytesIO(csv), "amounts.csv")},
        headers=hospital,
        content_type="multipart/form-data",
    )
    assert response.status_code == 422, response.get_json()
    assert list(response.get_json()["error"]["fields"]) == ["row 2.amount"]


@pytest.mark.parametrize("value", ["1e999999999", "1e300000", "１２.５", "1_000", "Infinity"])
def test_the_web_bid_form_refuses_hostile_prices_with_a_field_error(
    app: Flask, session: Session, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setattr("core.clock.now", lambda: DURING_BIDDING)
    world = _bidding_world(session)
    product = world.product("A", world.items[0])
    user = world.actor(world.manufacturer("A")).user_id
    username = session.get_one(User, user).username
    session.commit()
    client = app.test_client()
    assert web_login(client, username).status_code == 302
    response = client.post(
        f"/enterprise/batches/{world.batch.id}/bids",
        data={
            "item_id": str(world.items[0].id),
            "product_id": str(product),
            "pack_price": value,
            "csrf_token": csrf(client),
        },
    )
    assert response.status_code == 422
    assert "pack_price" in response.get_data(as_text=True)


@pytest.mark.parametrize("value", ["1e999999999", "１０", "1_0", "1" * 5000, "10 "])
def test_product_strengths_are_plain_bounded_decimals(
    client: FlaskClient, session: Session, value: str
) -> None:
    bureau = bearer(session, make_user(session, make_org(session, OrgKind.BUREAU), Role.ADMIN))
    body = {"strength_value": value, "fill_volume_ml": value}
    response = client.post("/api/v1/products", json=body, headers=bureau)
    assert response.status_code == 422
    assert {"strength_value", "fill_volume_ml"} <= set(response.get_json()["error"]["fields"])


@pytest.mark.parametrize(
    "overrides",
    [
        {"spread_multiplier": "1e999999999"},
        {"anchor_mean_share": "１"},
        {"low_price_exemptions": {"*": "1e300000"}},
        {"price_ratio_coefficients": {"content": "1_7"}},
        {"volume_ratio_table": {"1": "NaN"}},
    ],
)
def test_rule_parameters_are_plain_bounded_decimals(
    client: FlaskClient, session: Session, overrides: dict[str, Any]
) -> None:
    from tests.tendering import TIMELINE

    bureau = bearer(session, make_user(session, make_org(session, OrgKind.BUREAU), Role.ADMIN))
    body = {
        "name": "规则测试",
        "category": "drug",
        "rule_version": "batch_4_9",
        "rule_overrides": overrides,
        **{k: v.isoformat() for k, v in TIMELINE.items()},
    }
    response = client.post("/api/v1/batches", json=body, headers=bureau)
    assert response.status_code == 422, response.get_json()
    assert list(response.get_json()["error"]["fields"]) == ["rule_overrides"]


@pytest.mark.parametrize("value", ["１０", "١٠", "1_000", "+10", "1e3", "9" * 30])
def test_integers_in_uploads_and_query_strings_are_ascii_digits(
    client: FlaskClient, session: Session, value: str
) -> None:
    hospital = bearer(session, make_user(session, make_org(session, OrgKind.HOSPITAL), Role.OPERATOR))
    csv = f"挂网ID,数量,配送企业ID\n1,{value},1\n".encode()
    response = client.post(
        "/api/v1/orders/upload",
        data={"file": (io.BytesIO(csv), "orders.csv")},
        headers=hospital,
        content_type="multipart/form-data",
    )
    assert response.status_code == 422, response.get_json()
    assert "row 2.quantity" in response.get_json()["error"]["fields"]
    bureau = bearer(session, make_user(session, make_org(session, OrgKind.BUREAU), Role.ADMIN))
    response = client.get("/api/v1/reconciliation/lines", query_string={"hospital_id": value}, headers=bureau)
    assert response.status_code == 422, response.get_json()
    assert list(response.get_json()["error"]["fields"]) == ["hospital_id"]


def test_an_order_line_whose_amount_would_overflow_is_refused_naming_the_quantity(
    client: FlaskClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.ordering import NOW, make_market

    monkeypatch.setattr("core.clock.now", lambda: NOW)
    market = make_market(session)
    hospital = bearer(session, session.get_one(User, market.hospital_actor.user_id))
    product = market.listing.product_id
    filed = client.post(
        "/api/v1/listings/filed",
        json={"product_id": product, "pack_price": "999999999999.99", "reason": "临床急需"},
        headers=hospital,
    )
    assert filed.status_code == 201, filed.get_json()
    body = {
        "distributor_id": market.distributor.id,
        "lines": [{"listing_id": filed.get_json()["id"], "quantity": 10_000_000}],
    }
    response = client.post("/api/v1/orders", json=body, headers=hospital)
    assert response.status_code == 422, response.get_json()
    assert list(response.get_json()["error"]["fields"]) == ["lines.0.quantity"]
