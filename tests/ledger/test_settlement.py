"""Direct settlement (vbp-rules.md §4.3) with the numbers of E11, and prepayment (§4.2).

E11's March/April become May/June here (the market's procurement cycle); the amounts are E11's.
"""

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from flask.testing import FlaskClient
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from app import create_app
from app.cli import alembic_config
from app.config import Config
from app.db import get_db
from core.actors import Actor, OrgKind, Role
from core.errors import Conflict, InvalidState, NotFound, RuleViolation, ValidationFailed
from ledger import journal
from ledger.models import (
    AccountPurpose,
    ApplicationStatus,
    FundSettlement,
    InvoiceKind,
    Payment,
    PaymentSource,
    SettlementLineStatus,
)
from ledger.services import authorizations, invoicing, ordering, settlement, settlement_payments
from ledger.services import fund as fund_service
from tests.conftest import Databases
from tests.factories import actor_of, make_org, make_user
from tests.ordering import EXPIRY, NOW, Market, make_market

PERIOD = date(2026, 5, 1)
FILED = datetime(2026, 6, 3, 2, 0, tzinfo=NOW.tzinfo)
PAID_ON = date(2026, 6, 20)
PAID_AT = datetime(2026, 6, 20, 2, 0, tzinfo=NOW.tzinfo)


@dataclass
class E11:
    market: Market
    s1: Actor
    s2: Actor
    s1_org: int
    s2_org: int
    s2_small_line: int


def _deliver_and_invoice(
    market: Market, distributor: Actor, distributor_id: int, packs: list[int], number: str
):
    """Order, ship, accept each quantity as its own delivery, then invoice them on one invoice."""
    order = ordering.place_orders(
        market.session,
        market.hospital_actor,
        distributor_id=distributor_id,
        now=NOW,
        urgency=ordering.Urgency.NORMAL,
        lines=[ordering.LineRequest(market.listing.id, sum(packs))],
    )
    ordering.decide_order(market.session, distributor, order.id, accept=True, reason=None, now=NOW)
    receipts = []
    for qty in packs:
        ship = ordering.ship(
            market.session,
            distributor,
            order.id,
            now=NOW,
            lines=[ordering.ShipRequest(order.lines[0].id, qty, "B1", EXPIRY)],
        )
        receipts.append(
            ordering.confirm_receipt(
                market.session,
                market.hospital_actor,
                ship.lines[0].id,
                accepted=qty,
                rejected=0,
                reason_code=None,
                now=NOW,
            )
        )
    price = order.lines[0].pack_price_fen
    return invoicing.record_invoice(
        market.session,
        distributor,
        hospital_id=market.hospital.id,
        invoice_code="",
        invoice_number=number,
        issued_on=NOW.date(),
        tax_rate=Decimal("0.13"),
        now=NOW,
        lines=[
            invoicing.InvoiceLineRequest(r.id, r.accepted_quantity, r.accepted_quantity * price)
            for r in receipts
        ],
    ), receipts


@pytest.fixture
def e11(session: Session) -> E11:
    return build_e11(session)


def build_e11(session: Session) -> E11:
    """A hospital, two distributors and their confirmed invoices with E11's amounts."""
    market = make_market(session)  # listing at 20.00 per pack
    s2_org = make_org(session, OrgKind.DISTRIBUTOR, region_code="510100")
    authorizations.authorize_distributor(
        session,
        market.world.actor(market.world.manufacturer("A")),
        distributor_id=s2_org.id,
        product_id=None,
        region_code="510100",
        now=NOW,
    )
    s1, s2 = market.distributor_actor, actor_of(make_user(session, s2_org, Role.OPERATOR))
    # S1: 412,000.00 (20,600 packs), then 600 packs returned and credited by a red-letter invoice.
    invoice1, receipts1 = _deliver_and_invoice(market, s1, market.distributor.id, [20_600], "10000001")
    ordering.record_return(
        session, market.hospital_actor, receipts1[0].id, quantity=600, reason="退货", now=NOW
    )
    red = invoicing.record_invoice(
        session,
        s1,
        hospital_id=market.hospital.id,
        invoice_code="",
        invoice_number="10000002",
        issued_on=NOW.date(),
        tax_rate=Decimal("0.13"),
        now=NOW,
        kind=InvoiceKind.RED,
        original_invoice_id=invoice1.id,
        lines=[invoicing.InvoiceLineRequest(receipts1[0].id, -600, -1_200_000, invoice1.lines[0].id)],
    )
    # S2: 88,000.00 as 80,000.00 + 8,000.00 (the hospital expects to return the smaller delivery).
    invoice2, _ = _deliver_and_invoice(market, s2, s2_org.id, [4_000, 400], "20000001")
    for line in [*invoice1.lines, *red.lines, *invoice2.lines]:
        invoicing.decide_invoice_line(
            session, market.hospital_actor, line.id, confirm=True, reason=None, now=NOW
        )
    return E11(market, s1, s2, market.distributor.id, s2_org.id, invoice2.lines[1].id)


def test_e11_monthly_direct_settlement(e11: E11, session: Session) -> None:
    m = e11.market
    bureau = m.world.bureau
    app1 = settlement.file_application(
        session, e11.s1, hospital_id=m.hospital.id, period_month=PERIOD, now=FILED
    )
    app2 = settlement.file_application(
        session, e11.s2, hospital_id=m.hospital.id, period_month=PERIOD, now=FILED
    )
    assert (app1.net_fen, app2.net_fen, app1.filed_late) == (400_000_00, 88_000_00, False)  # returns netted

    settlement.confirm_application(session, m.hospital_actor, app1.id, disputes={}, now=FILED)
    small = next(x for x in app2.lines if x.invoice_line_id == e11.s2_small_line)
    settlement.confirm_application(
        session, m.hospital_actor, app2.id, disputes={small.id: "预计退货"}, now=FILED
    )
    assert app1.confirmed_fen + app2.confirmed_fen == 480_000_00
    assert (app2.disputed_fen, small.status) == (8_000_00, SettlementLineStatus.DISPUTED)

    run = settlement.approve_run(session, bureau, period_month=PERIOD, now=FILED + timedelta(days=10))
    assert run.total_fen == 480_000_00
    p1 = settlement_payments.pay_application(
        session, bureau, app1.id, bank_reference="ICBC-0001", paid_on=PAID_ON, now=PAID_AT
    )
    p2 = settlement_payments.pay_application(
        session, bureau, app2.id, bank_reference="ICBC-0002", paid_on=PAID_ON, now=PAID_AT
    )
    assert (p1.amount_fen, p2.amount_fen, run.status) == (400_000_00, 80_000_00, "paid")

    fund = fund_service.record_fund_settlement(
        session,
        bureau,
        hospital_id=m.hospital.id,
        period_month=date(2026, 6, 1),
        gross_fen=2_000_000_00,
        now=FILED,
    )
    assert fund_service.net_fund_settlement_fen(fund) == 1_520_000_00  # 2,000,000 − 480,000

    # The disputed 8,000.00 stays open: the hospital still owes it, the enterprise is still owed it.
    payable = journal.account(session, AccountPurpose.HOSPITAL_PAYABLE, m.hospital.id, now=FILED)
    s2_receivable = journal.account(session, AccountPurpose.ENTERPRISE_RECEIVABLE, e11.s2_org, now=FILED)
    assert journal.balance_fen(session, payable.id) == -8_000_00
    assert journal.balance_fen(session, s2_receivable.id) == 8_000_00
    report = journal.verify_journal(session)
    assert (report.ok, report.total_fen) == (True, 0)
    with pytest.raises(Conflict):
        settlement_payments.pay_application(
            session, bureau, app1.id, bank_reference="again", paid_on=PAID_ON, now=PAID_AT
        )


def test_an_invoice_line_is_filed_once_and_disputed_lines_can_be_filed_again(
    e11: E11, session: Session
) -> None:
    m = e11.market
    app2 = settlement.file_application(
        session, e11.s2, hospital_id=m.hospital.id, period_month=PERIOD, now=FILED
    )
    with pytest.raises(ValidationFailed) as nothing_left:
        settlement.file_application(
            session, e11.s2, hospital_id=m.hospital.id, period_month=PERIOD, now=FILED
        )
    assert "period_month" in nothing_left.value.fields  # every confirmed line is already filed
    small = next(x for x in app2.lines if x.invoice_line_id == e11.s2_small_line)
    settlement.confirm_application(
        session, m.hospital_actor, app2.id, disputes={small.id: "预计退货"}, now=FILED
    )
    again = settlement.file_application(
        session, e11.s2, hospital_id=m.hospital.id, period_month=PERIOD, now=FILED + timedelta(days=5)
    )
    assert ([x.invoice_line_id for x in again.lines], again.net_fen, again.filed_late) == (
        [e11.s2_small_line],
        8_000_00,
        True,
    )


def test_payment_needs_an_approved_run_and_self_pay_is_recorded_the_same_way(
    e11: E11, session: Session
) -> None:
    m = e11.market
    app1 = settlement.file_application(
        session, e11.s1, hospital_id=m.hospital.id, period_month=PERIOD, now=FILED
    )
    with pytest.raises(InvalidState):
        settlement_payments.pay_application(
            session, m.world.bureau, app1.id, bank_reference="x", paid_on=PAID_ON, now=PAID_AT
        )
    settlement.confirm_application(session, m.hospital_actor, app1.id, disputes={}, now=FILED)
    payment = settlement_payments.pay_application(
        session,
        m.hospital_actor,
        app1.id,
        bank_reference="HOSP-1",
        paid_on=PAID_ON,
        now=PAID_AT,
        source=PaymentSource.SELF_PAY,
    )
    assert (payment.amount_fen, app1.status) == (400_000_00, ApplicationStatus.PAID)
    cash = journal.account(session, AccountPurpose.HOSPITAL_CASH, m.hospital.id, now=FILED)
    assert journal.balance_fen(session, cash.id) == -400_000_00
    assert session.scalars(select(FundSettlement)).all() == []  # nothing deducted from the fund settlement


def test_prepayment_is_drawn_down_and_cleared_at_year_end(e11: E11, session: Session) -> None:
    m = e11.market
    bureau = m.world.bureau
    prepayment = fund_service.grant_prepayment(
        session, bureau, hospital_id=m.hospital.id, year=2026, now=FILED
    )
    expected = int(fund_service.annual_agreed_amount_fen(session, m.hospital.id, 2026) * Decimal("0.30"))
    assert abs(prepayment.amount_fen - expected) <= 1  # 30 % of the agreed amount (§4.2), rounded once
    with pytest.raises(Conflict):
        fund_service.grant_prepayment(session, bureau, hospital_id=m.hospital.id, year=2026, now=FILED)
    app2 = settlement.file_application(
        session, e11.s2, hospital_id=m.hospital.id, period_month=PERIOD, now=FILED
    )
    settlement.confirm_application(session, m.hospital_actor, app2.id, disputes={}, now=FILED)
    settlement.approve_run(session, bureau, period_month=PERIOD, now=FILED)
    if prepayment.amount_fen < app2.confirmed_fen:
        with pytest.raises(RuleViolation):
            settlement_payments.pay_application(
                session,
                bureau,
                app2.id,
                bank_reference="P",
                paid_on=PAID_ON,
                now=PAID_AT,
                source=PaymentSource.PREPAYMENT,
            )
        return
    settlement_payments.pay_application(
        session,
        bureau,
        app2.id,
        bank_reference="P",
        paid_on=PAID_ON,
        now=PAID_AT,
        source=PaymentSource.PREPAYMENT,
    )
    cleared = fund_service.clear_prepayment(session, bureau, prepayment.id, now=FILED + timedelta(days=200))
    assert cleared.cleared_fen == prepayment.amount_fen - app2.confirmed_fen
    balance = journal.account(session, AccountPurpose.HOSPITAL_PREPAYMENT, m.hospital.id, now=FILED)
    assert journal.balance_fen(session, balance.id) == 0
    assert journal.verify_journal(session).ok


# --- through the HTTP API ------------------------------------------------------------------------


def _bearer(session: Session, actor: Actor) -> dict[str, str]:
    from core.organizations import User
    from tests.factories import bearer

    return bearer(session, session.get_one(User, actor.user_id))


def test_e11_through_the_http_api(
    e11: E11, session: Session, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    today = [FILED]
    monkeypatch.setattr("core.clock.now", lambda: today[0])
    m = e11.market
    s1, s2, h, agency = (_bearer(session, a) for a in (e11.s1, e11.s2, m.hospital_actor, m.world.bureau))
    body = {"hospital_id": m.hospital.id, "period_month": PERIOD.isoformat()}
    app1 = client.post("/api/v1/settlement-applications", json=body, headers=s1).get_json()
    app2 = client.post("/api/v1/settlement-applications", json=body, headers=s2).get_json()
    assert (app1["net"], app2["net"]) == ("400000.00", "88000.00")
    small = next(x["id"] for x in app2["lines"] if x["invoice_line_id"] == e11.s2_small_line)
    assert (
        client.post(
            f"/api/v1/settlement-applications/{app1['id']}/confirmation", json={}, headers=h
        ).status_code
        == 200
    )
    confirmed2 = client.post(
        f"/api/v1/settlement-applications/{app2['id']}/confirmation",
        headers=h,
        json={"disputes": [{"line_id": small, "reason": "预计退货"}]},
    ).get_json()
    assert (confirmed2["confirmed"], confirmed2["disputed"]) == ("80000.00", "8000.00")
    assert (
        client.get(
            f"/api/v1/settlement-applications/{app1['id']}", headers=_bearer(session, m.other_hospital_actor)
        ).status_code
        == 404
    )

    run = client.post(
        "/api/v1/settlement-runs", json={"period_month": PERIOD.isoformat()}, headers=agency
    ).get_json()
    assert run["total"] == "480000.00"
    today[0] = PAID_AT
    paid = client.post(
        f"/api/v1/settlement-runs/{run['id']}/payments",
        headers=agency,
        json={
            "paid_on": PAID_ON.isoformat(),
            "payments": [
                {"application_id": app1["id"], "bank_reference": "ICBC-1"},
                {"application_id": app2["id"], "bank_reference": "ICBC-2"},
            ],
        },
    )
    assert paid.status_code == 201, paid.get_json()
    assert sorted(p["amount"] for p in paid.get_json()) == ["400000.00", "80000.00"]
    fund = client.post(
        "/api/v1/fund-settlements",
        headers=agency,
        json={"hospital_id": m.hospital.id, "period_month": "2026-06-01", "gross": "2000000.00"},
    ).get_json()
    assert (fund["deducted"], fund["net"]) == ("480000.00", "1520000.00")
    again = client.post(
        f"/api/v1/settlement-runs/{run['id']}/payments",
        headers=agency,
        json={
            "paid_on": PAID_ON.isoformat(),
            "payments": [{"application_id": app1["id"], "bank_reference": "ICBC-1"}],
        },
    )
    assert (again.status_code, again.get_json()["error"]["code"]) == (409, "already_paid")


@pytest.mark.postgresql_only
def test_a_hundred_parallel_payments_of_one_application_pay_once(
    databases: Databases, tmp_path: Path
) -> None:
    url = databases.new()
    command.upgrade(alembic_config(url), "head")
    app = create_app(
        Config(env="testing", database_url=url, secret_key="k" * 40, instance_path=str(tmp_path))
    )
    db = get_db(app)
    db.engine.dispose()
    db.engine = create_engine(url, pool_size=40, max_overflow=0, pool_timeout=120)
    db.sessionmaker.configure(bind=db.engine)
    with db.sessionmaker() as s, s.begin():
        world = build_e11(s)  # the E11 market, committed
        application = settlement.file_application(
            s, world.s1, hospital_id=world.market.hospital.id, period_month=PERIOD, now=FILED
        )
        settlement.confirm_application(s, world.market.hospital_actor, application.id, disputes={}, now=FILED)
        run = settlement.approve_run(s, world.market.world.bureau, period_month=PERIOD, now=FILED)
        headers = _bearer(s, world.market.world.bureau)
        target = (run.id, application.id)
    barrier = threading.Barrier(100)

    def attempt(_: int) -> int:
        client = app.test_client()
        barrier.wait()
        return client.post(
            f"/api/v1/settlement-runs/{target[0]}/payments",
            headers=headers,
            json={
                "paid_on": PAID_ON.isoformat(),
                "payments": [{"application_id": target[1], "bank_reference": "ICBC-9"}],
            },
        ).status_code

    with ThreadPoolExecutor(100) as pool:
        statuses = list(pool.map(attempt, range(100)))
    with db.sessionmaker() as s:
        payments = s.scalars(select(Payment)).all()
        report = journal.verify_journal(s)
    db.engine.dispose()
    print(
        f"100 parallel payments of one application: {statuses.count(201)} × 201, {statuses.count(409)} × 409"
    )
    assert (statuses.count(201), len(payments), report.ok) == (1, 1, True)
    assert set(statuses) == {201, 409}


def test_retained_savings_per_hospital_from_stored_data(session: Session) -> None:
    """E9's formula on the ledger: agreed 60,000 units (60 % of 100,000 in a 2-winner region split),
    pre-VBP 2.00, bought 60,000 units at the winning 0.20; fund ratio 70 %, insured share 90 %."""
    from ledger.money_rules import SavingsFormula
    from ledger.services.savings import hospital_retained_savings

    m = make_market(session)
    m.world.items[0].pre_vbp_unit_price_e4 = 20_000
    order = m.order(600)
    ship_line = m.accept_and_ship(order.id, 600).lines[0]
    ordering.confirm_receipt(
        session, m.hospital_actor, ship_line.id, accepted=600, rejected=0, reason_code=None, now=NOW
    )
    formula = SavingsFormula(fund_payment_ratio=Decimal("0.70"), insured_share=Decimal("0.90"))
    savings = hospital_retained_savings(
        session,
        m.world.bureau,
        hospital_id=m.hospital.id,
        batch_id=m.world.batch.id,
        year_start=date(2026, 5, 1),
        year_end=date(2027, 4, 30),
        formula=formula,
        today=NOW.date(),
    )
    r = savings.result
    assert (r.budget_fen, r.actual_fund_spend_fen, r.savings_fen, r.retained_fen, r.completed) == (
        75_600_00,
        7_560_00,
        68_040_00,
        34_020_00,
        True,
    )
    with pytest.raises(NotFound):
        hospital_retained_savings(
            session,
            m.other_hospital_actor,
            hospital_id=m.hospital.id,
            batch_id=m.world.batch.id,
            year_start=date(2026, 5, 1),
            year_end=date(2027, 4, 30),
            formula=formula,
            today=NOW.date(),
        )


def test_a_filing_after_a_holiday_extended_deadline_is_not_late(e11: E11, session: Session) -> None:
    """June 5 inside a listed holiday run (June 4–6): the deadline moves to the 2nd working day after it."""
    from ledger.money_rules import SettlementCalendar

    cal = SettlementCalendar(holidays=frozenset({date(2026, 6, 4), date(2026, 6, 5), date(2026, 6, 6)}))
    on_time = datetime(2026, 6, 9, 2, 0, tzinfo=NOW.tzinfo)  # Mon 8 June is the 1st, Tue 9 June the 2nd
    app1 = settlement.file_application(
        session, e11.s1, hospital_id=e11.market.hospital.id, period_month=PERIOD, now=on_time, calendar=cal
    )
    app2 = settlement.file_application(
        session, e11.s2, hospital_id=e11.market.hospital.id, period_month=PERIOD, now=on_time
    )
    assert (app1.filed_late, app2.filed_late) == (False, True)  # without the holiday the 5th applies
