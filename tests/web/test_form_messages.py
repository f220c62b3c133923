"""A failed form names the field by its label and the row as people count it, in the page's
language, without library messages or codes (issue 17, "Safe actions")."""

from __future__ import annotations

import html

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.web.form_messages import field_error, message_text, row_error
from core.actors import Role
from tests.factories import make_user
from tests.ordering import make_market
from tests.web.test_pages import csrf, web_login


def test_a_bilingual_schema_message_shows_the_half_in_the_page_language() -> None:
    message = "必填字段 (Missing data for required field.)"
    assert message_text(message, "zh") == "必填字段"
    assert message_text(message, "en") == "Missing data for required field."
    money = "金额须为最多两位小数的十进制字符串 (decimal string, ≤ 2 places)：最多2位小数 (at most 2 places)"
    assert message_text(money, "zh") == "金额须为最多两位小数的十进制字符串：最多2位小数"


def test_library_messages_and_quoted_codes_are_chinese() -> None:
    assert message_text("Length must be between 1 and 64.", "zh") == "长度须在 1 至 64 之间"
    assert message_text("Missing data for required field.", "zh") == "必填"
    assert message_text("Something a library said.", "zh") == "输入无效"
    choices = "取值无效，可选：normal, emergency, remote (Must be one of: normal, emergency, remote.)"
    assert message_text(choices, "zh") == "取值无效，可选：普通, 紧急, 偏远地区"


def test_fields_are_named_by_their_label_and_rows_counted_from_one(app: Flask) -> None:
    with app.test_request_context():
        assert field_error("lines.2.quantity", "必填字段 (Missing data for required field.)", "zh") == (
            "第 3 行 · 数量：必填字段"
        )
        assert field_error("listing_id", "未知字段 (Unknown field.)", "zh") == "产品：未知字段"
        assert field_error("_schema", "至少一行 (at least one line)", "zh") == "至少一行"
        assert field_error("row 4.quantity", "须为整数", "zh") == "第 4 行 · 数量：须为整数"
        assert row_error(4, "quantity", "必填字段 (Missing data for required field.)", "zh") == (
            "第 4 行 · 数量：必填字段"
        )
        assert row_error(None, None, "文件为空 (empty file)", "zh") == "文件为空"


def test_a_failed_order_form_names_the_row_and_field_in_chinese_and_keeps_the_input(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    market = make_market(session)
    user = make_user(session, market.hospital, Role.OPERATOR)
    session.commit()
    web_login(client, user.username)
    client.get("/hospital/orders/new")
    response = client.post(
        "/hospital/orders/new",
        data={
            "csrf_token": csrf(client),
            "distributor_id": str(market.distributor.id),
            "urgency": "normal",
            "listing-0": str(market.listing.id),
            "quantity-0": "12x",
        },
    )
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    assert "第 1 行 · 数量：须为整数，仅限半角数字" in page
    assert "lines.0" not in page
    assert "ASCII" not in page
    assert 'value="12x"' in page  # what was typed stays
