"""Numbers as people read them: amounts with thousand separators and two decimals, unit prices with
separators and four; the page frame carries the safe-action script (which also marks the current page in the
menu: tests/web/test_every_page.py) and a favicon."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.web.common import unit_yuan, yuan
from core.actors import OrgKind, Role
from tests.factories import make_org, make_user
from tests.web.test_pages import web_login


def test_amounts_have_thousand_separators_and_two_decimals() -> None:
    assert yuan(123456780) == "1,234,567.80"
    assert yuan(100) == "1.00"
    assert yuan(0) == "0.00"
    assert yuan(-123456789) == "-1,234,567.89"
    assert yuan(None) == ""


def test_unit_prices_keep_four_decimals_with_separators() -> None:
    assert unit_yuan(12345678) == "1,234.5678"
    assert unit_yuan(5200) == "0.5200"
    assert unit_yuan(None) == ""


def test_every_page_loads_the_safe_action_script_and_a_favicon(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    user = make_user(session, make_org(session, OrgKind.HOSPITAL), Role.OPERATOR)
    session.commit()
    web_login(client, user.username)
    html = client.get("/orders").get_data(as_text=True)
    assert 'src="/static/web/safe-actions.js" defer' in html
    assert 'rel="icon"' in html
    assert "/static/web/favicon.svg" in html
    for name in ("safe-actions.js", "favicon.svg"):
        response = client.get(f"/static/web/{name}")
        assert response.status_code == 200
        response.close()
