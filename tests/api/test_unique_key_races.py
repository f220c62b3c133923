"""Two requests racing for one unique key, on PostgreSQL with real connections: both pass the
service's own check, the database refuses the second at the key, and the answer is one success
and one 409 in the standard error shape naming the key's fields (never a 500), with the data
written once. Each race is made certain by tests/races.py."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.db import get_db
from core.actors import OrgKind, Role
from core.organizations import Organization, User
from core.uscc import make_uscc
from ledger import journal
from ledger.models import (
    AccountPurpose,
    DistributionAuthorization,
    FundSettlement,
    Invoice,
    OffPlatformPurchase,
    Payment,
    Prepayment,
    SettlementApplication,
    Statement,
)
from ledger.services import invoicing, ordering, settlement
from tests.conftest import Databases
from tests.factories import bearer, make_org, make_user
from tests.ordering import NOW, Market, make_market
from tests.races import Answer, committed_app, in_session, race

pytestmark = pytest.mark.postgresql_only

#: Early June 2026: May is a past month that can be filed, reported and settled.
JUNE = datetime(2026, 6, 3, 2, 0, tzinfo=NOW.tzinfo)
MAY = date(2026, 5, 1)


@pytest.fixture
def app(databases: Databases, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    ticks = itertools.count()
    # A clock that moves a microsecond a call: no two writes share a timestamp (statements'
    # digests include theirs), and none depends on the wall clock.
    monkeypatch.setattr("core.clock.now", lambda: JUNE + timedelta(microseconds=next(ticks)))
    application = committed_app(databases, tmp_path)
    yield application
    get_db(application).engine.dispose()


@dataclass
class Setup:
    market: Market
    receipts: list[int]


def _market(app: Flask, *, receipts: int = 0, invoiced: bool = False) -> tuple[Setup, dict[str, Any]]:
    """The ordering market, with `receipts` received lines of 10 packs (May), invoiced and
    confirmed if asked, committed; and the callers' headers."""
    with get_db(app).sessionmaker() as s, s.begin():
        market = make_market(s)
        received = []
        for _ in range(receipts):
            order = market.order(10)
            shipped = market.accept_and_ship(order.id, 10).lines[0]  # type: ignore[attr-defined]
            received.append(
                ordering.confirm_receipt(
                    s, market.hospital_actor, shipped.id, accepted=10, rejected=0, reason_code=None, now=NOW
                )
            )
        if invoiced:
            invoice = invoicing.record_invoice(
                s,
                market.distributor_actor,
                hospital_id=market.hospital.id,
                invoice_code="",
                invoice_number="10000001",
                issued_on=NOW.date(),
                tax_rate=Decimal("0.13"),
                now=NOW,
                lines=[
                    invoicing.InvoiceLineRequest(r.id, 10, 10 * market.listing.pack_price_fen)
                    for r in received
                ],
            )
            for line in invoice.lines:
                invoicing.decide_invoice_line(
                    s, market.hospital_actor, line.id, confirm=True, reason=None, now=NOW
                )
        bureau_org = s.get_one(Organization, market.world.bureau.org_id)
        headers = {
            "hospital": bearer(s, s.get_one(User, market.hospital_actor.user_id)),
            "distributor": bearer(s, s.get_one(User, market.distributor_actor.user_id)),
            "bureau": bearer(s, s.get_one(User, market.world.bureau.user_id)),
            "bureau_admin": bearer(s, make_user(s, bureau_org, Role.ADMIN)),
            "maker": bearer(s, s.get_one(User, market.world.actor(market.world.manufacturer("A")).user_id)),
        }
        return Setup(market, [r.id for r in received]), headers


def _twice(app: Flask, path: str, headers: dict[str, str], bodies: list[Any], model: type) -> list[Answer]:
    return race(
        app,
        [lambda c, body=body: c.post(path, headers=headers, json=body) for body in bodies],
        when=lambda s: in_session(s, model),
    )


def _one_wins(answers: list[Answer], success: int, fields: set[str]) -> None:
    assert sorted(a.status for a in answers) == [success, 409], answers
    [conflict] = [a.body for a in answers if a.status == 409]
    assert set(conflict) == {"error"}, conflict
    assert set(conflict["error"]) == {"code", "message", "fields"}, conflict
    assert conflict["error"]["code"] == "duplicate", conflict
    # The generic race answer says "(duplicates an existing record)"; a service that saw the
    # existing row first says what exists in its own words (both Chinese first).
    assert (
        "(duplicates an existing record)" in conflict["error"]["message"]
        or "already" in conflict["error"]["message"]
    )
    assert set(conflict["error"]["fields"]) == fields, conflict


def _count(app: Flask, model: type, *where: Any) -> int:
    with get_db(app).sessionmaker() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_two_filings_of_one_month_file_once(app: Flask) -> None:
    setup, headers = _market(app, receipts=1, invoiced=True)
    body = {"hospital_id": setup.market.hospital.id, "period_month": MAY.isoformat()}
    answers = _twice(
        app, "/api/v1/settlement-applications", headers["distributor"], [body, body], SettlementApplication
    )
    _one_wins(answers, 201, {"invoice_line_id"})
    assert _count(app, SettlementApplication) == 1


def test_one_invoice_number_recorded_twice_at_once_is_recorded_once(app: Flask) -> None:
    setup, headers = _market(app, receipts=2)
    price = f"{setup.market.listing.pack_price_fen * 10 // 100}.00"
    bodies = [
        {
            "hospital_id": setup.market.hospital.id,
            "invoice_code": "051001",
            "invoice_number": "20000001",
            "issued_on": MAY.isoformat(),
            "tax_rate": "0.13",
            "lines": [{"receipt_line_id": receipt, "quantity": 10, "amount": price}],
        }
        for receipt in setup.receipts  # different goods, one number
    ]
    answers = _twice(app, "/api/v1/invoices", headers["distributor"], bodies, Invoice)
    _one_wins(answers, 201, {"issuer_id", "invoice_code", "invoice_number"})
    assert _count(app, Invoice, Invoice.invoice_number == "20000001") == 1


def test_two_prepayments_of_one_hospital_and_year_prepay_once(app: Flask) -> None:
    setup, headers = _market(app)
    body = {"hospital_id": setup.market.hospital.id, "year": 2026}
    answers = _twice(app, "/api/v1/prepayments", headers["bureau"], [body, body], Prepayment)
    _one_wins(answers, 201, {"hospital_id", "year"})
    assert _count(app, Prepayment) == 1


def test_two_off_platform_reports_of_one_month_and_category_keep_one_row(app: Flask) -> None:
    _, headers = _market(app)
    bodies = [
        {"month": MAY.isoformat(), "category": "drugs", "amount": amount} for amount in ("100.00", "200.00")
    ]
    answers = _twice(app, "/api/v1/off-platform-purchases", headers["hospital"], bodies, OffPlatformPurchase)
    _one_wins(answers, 200, {"hospital_id", "month", "category"})
    assert _count(app, OffPlatformPurchase) == 1


def test_two_organizations_with_one_uscc_register_once(app: Flask) -> None:
    _, headers = _market(app)
    uscc = make_uscc("91510100MA6CQ9999")
    bodies = [
        {"kind": "distributor", "name": name, "uscc": uscc, "region_code": "510100"}
        for name in ("甲配送公司", "乙配送公司")
    ]
    answers = _twice(app, "/api/v1/organizations", headers["bureau_admin"], bodies, Organization)
    _one_wins(answers, 201, {"uscc"})
    assert _count(app, Organization, Organization.uscc == uscc) == 1


def test_two_generations_of_one_months_statements_make_one_version(app: Flask) -> None:
    _, headers = _market(app, receipts=1, invoiced=True)
    body = {"period": "2026-05"}
    answers = _twice(app, "/api/v1/statements/generate", headers["bureau"], [body, body], Statement)
    _one_wins(answers, 201, {"hospital_id", "enterprise_id", "period_month", "version"})
    assert _count(app, Statement) == 1


def test_two_fund_settlements_of_one_hospital_and_month_record_one(app: Flask) -> None:
    setup, headers = _market(app)
    bodies = [
        {"hospital_id": setup.market.hospital.id, "period_month": MAY.isoformat(), "gross": gross}
        for gross in ("5000.00", "6000.00")
    ]
    answers = _twice(app, "/api/v1/fund-settlements", headers["bureau"], bodies, FundSettlement)
    _one_wins(answers, 201, {"hospital_id", "period_month"})
    assert _count(app, FundSettlement) == 1


def test_two_authorizations_of_one_scope_authorize_once(app: Flask) -> None:
    _, headers = _market(app)
    with get_db(app).sessionmaker() as s, s.begin():
        other = make_org(s, OrgKind.DISTRIBUTOR, region_code="510100").id
    body = {"distributor_id": other, "product_id": None, "region_code": "510100"}
    answers = _twice(
        app, "/api/v1/distribution-authorizations", headers["maker"], [body, body], DistributionAuthorization
    )
    _one_wins(answers, 201, {"manufacturer_id", "distributor_id", "product_key", "region_code"})
    assert _count(app, DistributionAuthorization, DistributionAuthorization.distributor_id == other) == 1


def test_two_payments_deducted_from_one_hospitals_month_at_once_both_succeed(app: Flask) -> None:
    """Not a duplicate: two applications of one hospital paid at once both deduct from the
    month's fund settlement, which the first of them creates; the second must not be refused."""
    from tests.ledger.test_settlement import PERIOD, build_e11

    with get_db(app).sessionmaker() as s, s.begin():
        e11 = build_e11(s)
        m = e11.market
        applications = [
            settlement.file_application(s, seller, hospital_id=m.hospital.id, period_month=PERIOD, now=JUNE)
            for seller in (e11.s1, e11.s2)
        ]
        for application in applications:
            settlement.confirm_application(s, m.hospital_actor, application.id, disputes={}, now=JUNE)
        run = settlement.approve_run(s, m.world.bureau, period_month=PERIOD, now=JUNE)
        # The accounts a payment posts to exist already, as they do after the first payment ever.
        journal.account(s, AccountPurpose.FUND_CASH, None, now=JUNE)
        for seller in (e11.s1_org, e11.s2_org):
            journal.account(s, AccountPurpose.ENTERPRISE_CASH, seller, now=JUNE)
            journal.account(s, AccountPurpose.ENTERPRISE_RECEIVABLE, seller, now=JUNE)
        headers = bearer(s, s.get_one(User, m.world.bureau.user_id))
        run_id, ids = run.id, [a.id for a in applications]
        total = sum(a.confirmed_fen for a in applications)
        hospital_id = m.hospital.id
    answers = race(
        app,
        [
            lambda c, application_id=application_id: c.post(
                f"/api/v1/settlement-runs/{run_id}/payments",
                headers=headers,
                json={
                    "paid_on": "2026-06-03",
                    "payments": [
                        {"application_id": application_id, "bank_reference": f"ICBC-{application_id}"}
                    ],
                },
            )
            for application_id in ids
        ],
        when=lambda s: in_session(s, Payment),
    )
    assert [a.status for a in answers] == [201, 201], answers
    with get_db(app).sessionmaker() as s:
        [row] = s.scalars(select(FundSettlement).where(FundSettlement.hospital_id == hospital_id)).all()
        assert (row.period_month, row.deducted_fen) == (date(2026, 6, 1), total)
