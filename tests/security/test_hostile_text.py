"""Hostile text: a lone surrogate or JSON nested 100,000 deep answers 4xx before it reaches the
parser's recursion or the database (before authentication when it is the body's shape); web
integer fields take ASCII digits only; NUL and other control characters in query strings and
forms are refused; and no text field keeps right-to-left overrides, zero-width or control
characters, in the API, the web forms or the uploads."""

from __future__ import annotations

import io
import json
import logging
import re
import unicodedata
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from marshmallow import Schema, fields
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.actors import OrgKind, Role
from core.organizations import Organization, User
from core.uscc import make_uscc
from ledger.models import Order, ReceiptLine
from tests.factories import PASSWORD, bearer, make_org, make_user
from tests.ordering import NOW, make_market
from tests.web.test_pages import csrf, web_login

JSON = {"Content-Type": "application/json"}


def _org_body(**kw: object) -> dict[str, object]:
    return {
        "kind": "distributor",
        "name": "某配送企业",
        "uscc": make_uscc("91510100MA6Q77771"),
        "region_code": "510100",
        **kw,
    }


def _no_errors_logged(caplog: pytest.LogCaptureFixture) -> None:
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


# --- item 6: lone surrogates and deep JSON ---------------------------------------------------------


def test_a_lone_surrogate_at_login_answers_422_naming_the_field(
    client: FlaskClient, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    user = make_user(session, make_org(session))
    session.commit()
    for field, body in (
        ("username", '{"username": "\\ud800", "password": "x"}'),
        ("password", '{"username": "' + user.username + '", "password": "a\\udfffb"}'),
    ):
        response = client.post("/api/v1/auth/login", data=body, headers=JSON)
        assert response.status_code == 422, response.get_data()
        assert list(response.get_json()["error"]["fields"]) == [field]
    _no_errors_logged(caplog)


def test_a_lone_surrogate_in_an_authenticated_write_answers_422_naming_the_field(
    client: FlaskClient, session: Session, caplog: pytest.LogCaptureFixture
) -> None:
    headers = {**bearer(session, make_user(session, make_org(session, OrgKind.BUREAU), Role.ADMIN)), **JSON}
    count = session.scalar(select(func.count()).select_from(Organization))
    body = json.dumps(_org_body(name="\udcff医院"))
    assert "\\udcff" in body
    response = client.post("/api/v1/organizations", data=body, headers=headers)
    assert response.status_code == 422
    assert list(response.get_json()["error"]["fields"]) == ["name"]
    nested = '{"distributor_id": 1, "lines": [{"listing_id": 1, "quantity": 1}], "note": ["\\ud83d"]}'
    response = client.post("/api/v1/orders", data=nested, headers=headers)
    assert response.status_code == 422
    assert list(response.get_json()["error"]["fields"]) == ["note.0"]
    as_key = client.post("/api/v1/organizations", data='{"\\ud800": 1}', headers=headers)
    assert as_key.status_code == 422
    assert list(as_key.get_json()["error"]["fields"]) == ["\\ud800"]
    assert session.scalar(select(func.count()).select_from(Organization)) == count
    _no_errors_logged(caplog)


@pytest.mark.parametrize("depth", [100_000, 1_000, 65])
@pytest.mark.parametrize("signed_in", [False, True])
def test_deeply_nested_json_answers_400_before_authentication(
    client: FlaskClient, session: Session, caplog: pytest.LogCaptureFixture, depth: int, signed_in: bool
) -> None:
    headers = dict(JSON)
    if signed_in:
        headers |= bearer(session, make_user(session, make_org(session, OrgKind.BUREAU), Role.ADMIN))
    for body in ("[" * depth + "]" * depth, '{"name": ' + '{"a": ' * depth + "1" + "}" * depth + "}"):
        for url in ("/api/v1/organizations", "/api/v1/auth/login"):
            response = client.post(url, data=body, headers=headers)
            assert response.status_code == 400, (url, response.get_data()[:200])
            assert response.get_json()["error"]["code"] == "bad_request"
    _no_errors_logged(caplog)


@pytest.mark.parametrize(
    "body",
    [b'{"name": NaN}', b'{"a": Infinity}', b'{"a": 1', b"\xff\xfe{}", b'{"a": 1' + b"0" * 5000 + b"}"],
)
def test_malformed_json_answers_400_before_authentication(
    client: FlaskClient, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    response = client.post("/api/v1/organizations", data=body, headers=JSON)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request"
    _no_errors_logged(caplog)


def test_a_body_of_too_many_values_answers_400_before_authentication(client: FlaskClient) -> None:
    body = "[" + ",".join(["0"] * 150_000) + "]"
    response = client.post("/api/v1/organizations", data=body, headers=JSON)
    assert response.status_code == 400
    assert "150" not in response.get_json()["error"]["message"]  # says the limit, echoes nothing


def test_ordinary_nesting_still_passes(client: FlaskClient, session: Session) -> None:
    headers = {**bearer(session, make_user(session, make_org(session, OrgKind.BUREAU), Role.ADMIN)), **JSON}
    response = client.post("/api/v1/organizations", data=json.dumps(_org_body()), headers=headers)
    assert response.status_code == 201


# --- item 7: web integers and control characters in query strings and forms ----------------------


@pytest.fixture
def market(session: Session, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr("core.clock.now", lambda: NOW)
    built = make_market(session)
    session.commit()
    return built


def _web(app: Flask, session: Session, actor: Any) -> FlaskClient:
    client = app.test_client()
    assert web_login(client, session.get_one(User, actor.user_id).username).status_code == 302
    return client


@pytest.mark.parametrize("number", ["²", "１２", "١٢", "1_0", "9" * 30, "+5", " 5 5"])
def test_web_integer_fields_take_ascii_digits_only(
    app: Flask, session: Session, market: Any, caplog: pytest.LogCaptureFixture, number: str
) -> None:
    hospital = _web(app, session, market.hospital_actor)
    orders = session.scalar(select(func.count()).select_from(Order))
    form = {
        "distributor_id": str(market.distributor.id),
        "listing-0": str(market.listing.id),
        "quantity-0": number,
        "csrf_token": csrf(hospital),
    }
    response = hospital.post("/hospital/orders/new", data=form)
    assert response.status_code == 422
    assert "quantity" in response.get_data(as_text=True)
    form |= {"quantity-0": "5", "distributor_id": number}
    assert hospital.post("/hospital/orders/new", data=form).status_code == 422
    assert session.scalar(select(func.count()).select_from(Order)) == orders
    distributor = _web(app, session, market.distributor_actor)
    response = distributor.post(
        "/enterprise/invoices/new",
        data={"receipt_line_id": number, "invoice_code": "1", "csrf_token": csrf(distributor)},
    )
    assert response.status_code == 422
    receipts = session.scalar(select(func.count()).select_from(ReceiptLine))
    response = hospital.post(
        "/hospital/deliveries/1",
        data={"accepted_quantity": number, "rejected_quantity": "0", "csrf_token": csrf(hospital)},
    )
    assert response.status_code in (404, 422)
    assert session.scalar(select(func.count()).select_from(ReceiptLine)) == receipts
    _no_errors_logged(caplog)


@pytest.mark.parametrize("text", ["\x00", "a\x00b", "\x1b[2J", "\x7f", "\x85"])
@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/audit", "action"),
        ("/audit", "subject_type"),
        ("/orders", "status"),
        ("/bureau/reconciliation", "region_prefix"),
        ("/hospital/demand", "batch_id"),
        ("/orders", "page"),
    ],
)
def test_control_characters_in_query_strings_are_refused_on_every_page(
    app: Flask, session: Session, caplog: pytest.LogCaptureFixture, text: str, path: str, field: str
) -> None:
    kind = {"/bureau/reconciliation": OrgKind.BUREAU, "/hospital/demand": OrgKind.HOSPITAL}.get(
        path, OrgKind.BUREAU
    )
    user = make_user(session, make_org(session, kind), Role.ADMIN)
    session.commit()
    client = app.test_client()
    assert web_login(client, user.username).status_code == 302
    response = client.get(path, query_string={field: text})
    assert 400 <= response.status_code < 500, response.status_code
    assert field in response.get_data(as_text=True)
    _no_errors_logged(caplog)


def test_control_characters_in_api_query_strings_and_web_forms_are_refused(
    app: Flask, client: FlaskClient, session: Session, market: Any, caplog: pytest.LogCaptureFixture
) -> None:
    bureau = bearer(session, make_user(session, make_org(session, OrgKind.BUREAU), Role.ADMIN))
    response = client.get("/api/v1/audit-events", query_string={"action": "a\x00"}, headers=bureau)
    assert response.status_code == 422
    assert list(response.get_json()["error"]["fields"]) == ["action"]
    response = client.get("/api/v1/orders", query_string={"page": "1\x00"}, headers=bureau)
    assert response.status_code == 422
    assert list(response.get_json()["error"]["fields"]) == ["page"]
    hospital = _web(app, session, market.hospital_actor)
    order = market.order()
    session.commit()
    response = hospital.post(
        f"/orders/{order.id}/cancel", data={"reason": "不要\x00了", "csrf_token": csrf(hospital)}
    )
    assert response.status_code in (302, 400, 422)
    session.refresh(order)
    assert order.status.value == "submitted"
    _no_errors_logged(caplog)


# --- item 15: invisible and control characters in text ---------------------------------------------

SPOOFS = {
    "right-to-left override": "\u202e",
    "left-to-right embedding": "\u202a",
    "first strong isolate": "\u2068",
    "pop directional isolate": "\u2069",
    "right-to-left mark": "\u200f",
    "zero width space": "\u200b",
    "zero width joiner": "\u200d",
    "word joiner": "\u2060",
    "byte order mark": "\ufeff",
    "C1 control": "\u0085",
    "escape": "\x1b",
    "line separator": "\u2028",
    "soft hyphen": "\u00ad",
    "tag character": "\U000e0041",
}


def _text_paths(schema: Schema, prefix: str = "") -> list[str]:
    """Every free-text field of a schema (not passwords, enums, regex-checked codes excluded later)."""
    paths = []
    for name, field in schema.load_fields.items():
        path = prefix + (field.data_key or name)
        if isinstance(field, fields.String) and "password" not in name:
            paths.append(path)
        elif isinstance(field, fields.Nested):
            paths += _text_paths(field.schema, path + ".")
        elif isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
            paths += _text_paths(field.inner.schema, path + ".0.")
    return paths


def _body(path: str, value: object) -> dict[str, Any]:
    head, _, rest = path.partition(".")
    if not rest:
        return {head: value}
    _, _, rest = rest.partition(".")
    return {head: [_body(rest, value)]}


def test_the_forbidden_characters_are_every_control_format_surrogate_and_separator() -> None:
    from core.text import FORBIDDEN_TEXT

    for code in range(0x110000):
        char = chr(code)
        hidden = unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp") and char not in "\t\n\r"
        assert bool(FORBIDDEN_TEXT.search(char)) is hidden, hex(code)


@pytest.mark.parametrize("spoof", list(SPOOFS.values()), ids=list(SPOOFS))
def test_every_text_field_of_the_api_refuses_invisible_and_control_characters(
    app: Flask, client: FlaskClient, session: Session, spoof: str
) -> None:
    users: dict[OrgKind, dict[str, str]] = {}
    checked = 0
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        for parameter in getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", []):
            if parameter["in"] not in ("json", "query"):
                continue
            schema = parameter["schema"]
            schema = schema() if isinstance(schema, type) else schema
            kinds = getattr(view, "_vbp_requires", (frozenset({OrgKind.BUREAU}), None))[0]
            kind = sorted(kinds or {OrgKind.BUREAU}, key=lambda k: k.value)[0]
            if kind not in users:
                users[kind] = bearer(session, make_user(session, make_org(session, kind), Role.ADMIN))
            method = next(iter(sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})))
            url = re.sub(r"<[^>]+>", "1", rule.rule)
            for path in _text_paths(schema):
                value = f"名称{spoof}ABC"
                if parameter["in"] == "query":
                    response = client.open(
                        url, method=method, query_string={path: value}, headers=users[kind]
                    )
                else:
                    response = client.open(url, method=method, json=_body(path, value), headers=users[kind])
                assert response.status_code == 422, (method, url, path, response.get_json())
                assert path in response.get_json()["error"]["fields"], (url, path, response.get_json())
                checked += 1
    assert checked > 60


def test_names_references_and_reasons_refuse_line_breaks_but_notes_keep_them(
    client: FlaskClient, session: Session, market: Any
) -> None:
    bureau = bearer(session, make_user(session, make_org(session, OrgKind.BUREAU), Role.ADMIN))
    response = client.post("/api/v1/organizations", json=_org_body(name="第一行\n第二行"), headers=bureau)
    assert list(response.get_json()["error"]["fields"]) == ["name"]
    hospital = bearer(session, session.get_one(User, market.hospital_actor.user_id))
    body = {
        "distributor_id": market.distributor.id,
        "lines": [{"listing_id": market.listing.id, "quantity": 2}],
        "note": "上午送达\n请联系药剂科",
    }
    assert client.post("/api/v1/orders", json=body, headers=hospital).status_code == 201
    body["note"] = "上午送达\u202e请联系药剂科"
    response = client.post("/api/v1/orders", json=body, headers=hospital)
    assert list(response.get_json()["error"]["fields"]) == ["note"]


def test_passwords_keep_any_printable_character(client: FlaskClient, session: Session) -> None:
    user = make_user(session, make_org(session))
    session.commit()
    response = client.post(
        "/api/v1/auth/login", json={"username": user.username, "password": PASSWORD + "\u200b"}
    )
    assert response.status_code == 401  # a wrong password, not a refused one


def test_an_upload_refuses_invisible_characters_naming_row_and_column(
    client: FlaskClient, session: Session
) -> None:
    bureau = bearer(session, make_user(session, make_org(session, OrgKind.BUREAU), Role.ADMIN))
    header = (
        "category,code,generic_name,dosage_form,dosage_form_group,strength_value,strength_unit,"
        "spec_text,min_unit,units_per_pack,mah_uscc"
    )
    row = "drug,X1,阿莫\u202e西林,片剂,oral_solid,10,mg,10mg×100,片,100," + make_uscc("91510100MA6Q77771")
    response = client.post(
        "/api/v1/products/import",
        data={"file": (io.BytesIO(f"{header}\n{row}\n".encode()), "products.csv")},
        headers=bureau,
        content_type="multipart/form-data",
    )
    assert response.status_code == 422, response.get_json()
    assert "row 2.generic_name" in response.get_json()["error"]["fields"]


def test_a_web_form_refuses_invisible_characters_and_saves_nothing(
    app: Flask, session: Session, market: Any
) -> None:
    order = market.order()
    session.commit()
    hospital = _web(app, session, market.hospital_actor)
    response = hospital.post(
        f"/orders/{order.id}/cancel",
        data={"reason": "多余\u202e订单", "csrf_token": csrf(hospital)},
        follow_redirects=True,
    )
    assert "reason" in response.get_data(as_text=True)
    session.refresh(order)
    assert order.status.value == "submitted"
