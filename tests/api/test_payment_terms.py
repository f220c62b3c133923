"""The province's payment terms (VBP_PAYMENT_DAYS, VBP_PAYMENT_DAY_KIND, VBP_HOLIDAYS_FILE) set
the due date of every invoice line, whichever way the invoice is recorded (vbp-rules.md §4.1).

The goods are accepted on Saturday 2026-05-09 (China time). The default terms would make them due
30 calendar days later, on 2026-06-08; the province here pays in 10 working days, with Monday
2026-05-11 a public holiday: Tue 12 … Fri 15 (4), Mon 18 … Fri 22 (9), Mon 25 (10)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import Database
from core.organizations import User
from ledger.models import InvoiceLine, ReceiptLine
from ledger.services import ordering
from tests.factories import bearer, make_user
from tests.ordering import NOW, Market, make_market
from tests.web.test_pages import csrf, web_login

ACCEPTED_ON = date(2026, 5, 9)
DUE_ON = date(2026, 5, 25)


@pytest.fixture
def terms(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    holidays = tmp_path / "holidays.txt"
    holidays.write_text("2026-05-11\n")
    config = app.config["VBP"]
    monkeypatch.setattr(config, "payment_days", 10)
    monkeypatch.setattr(config, "payment_day_kind", "working")
    monkeypatch.setattr(config, "holidays_file", str(holidays))
    monkeypatch.setattr("core.clock.now", lambda: NOW)


def _received(session: Session) -> tuple[Market, int]:
    market = make_market(session)
    order: Any = market.order(6)
    shipment: Any = market.accept_and_ship(order.id, 6)
    receipt = ordering.confirm_receipt(
        session,
        market.hospital_actor,
        shipment.lines[0].id,
        accepted=6,
        rejected=0,
        reason_code=None,
        now=NOW,
    )
    assert receipt.accepted_on == ACCEPTED_ON
    return market, receipt.id


def test_an_invoice_recorded_through_the_api_is_due_on_the_provinces_terms(
    terms: None, client: FlaskClient, session: Session
) -> None:
    market, receipt = _received(session)
    headers = bearer(session, session.get_one(User, market.distributor_actor.user_id))
    amount = f"{6 * market.listing.pack_price_fen // 100}.{6 * market.listing.pack_price_fen % 100:02d}"
    response = client.post(
        "/api/v1/invoices",
        headers=headers,
        json={
            "hospital_id": market.hospital.id,
            "invoice_number": "30000001",
            "issued_on": ACCEPTED_ON.isoformat(),
            "tax_rate": "0.13",
            "lines": [{"receipt_line_id": receipt, "quantity": 6, "amount": amount}],
        },
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["lines"][0]["due_on"] == DUE_ON.isoformat()
    assert session.scalars(select(InvoiceLine.due_on)).one() == DUE_ON


def test_an_invoice_recorded_through_the_web_form_is_due_on_the_provinces_terms(
    terms: None, app: Flask, session: Session
) -> None:
    market, receipt = _received(session)
    seller = make_user(session, market.distributor)
    session.commit()
    client = app.test_client()
    web_login(client, seller.username)
    response = client.post(
        "/enterprise/invoices/new",
        data={
            "csrf_token": csrf(client),
            "receipt_line_id": str(receipt),
            "invoice_number": "30000002",
            "issued_on": ACCEPTED_ON.isoformat(),
            "tax_rate": "0.13",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert session.scalars(select(InvoiceLine.due_on)).one() == DUE_ON


def _working_days_after(day: date, n: int, holidays: set[date]) -> date:
    while n:
        day += timedelta(days=1)
        n -= day.weekday() < 5 and day not in holidays
    return day


def test_the_demo_invoices_on_the_provinces_terms(
    terms: None, app: Flask, db: Database, tmp_path: Path
) -> None:
    result = app.test_cli_runner().invoke(args=["demo", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    with db.sessionmaker() as s:
        rows = s.execute(
            select(InvoiceLine.due_on, ReceiptLine.accepted_on).join(
                ReceiptLine, ReceiptLine.id == InvoiceLine.receipt_line_id
            )
        ).all()
    assert rows
    holidays = {date(2026, 5, 11)}
    assert [due for due, _ in rows] == [_working_days_after(accepted, 10, holidays) for _, accepted in rows]
