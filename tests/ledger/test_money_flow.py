"""Money flow so far: invoices against receipts, hospital confirmation, the double-entry journal."""

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session, sessionmaker

from app.cli import alembic_config
from core.errors import Conflict, InvalidState, NotFound, ValidationFailed
from ledger import journal
from ledger.models import AccountPurpose, InvoiceKind, InvoiceLineStatus, JournalEntry, Posting
from ledger.services import invoicing, ordering
from tests.conftest import Databases
from tests.ordering import NOW, Market, make_market


@pytest.fixture
def market(session: Session) -> Market:
    return make_market(session)


def _received(market: Market, packs: int = 10) -> int:
    order = market.order(packs)
    ship_line = market.accept_and_ship(order.id, packs).lines[0]
    receipt = ordering.confirm_receipt(
        market.session,
        market.hospital_actor,
        ship_line.id,
        accepted=packs,
        rejected=0,
        reason_code=None,
        now=NOW,
    )
    return receipt.id


def _invoice(
    market: Market, receipt_id: int, quantity: int, amount_fen: int, number: str = "00000001", **kw: object
):
    return invoicing.record_invoice(
        market.session,
        market.distributor_actor,
        hospital_id=market.hospital.id,
        invoice_code="051002600111",
        invoice_number=number,
        issued_on=NOW.date(),
        tax_rate=Decimal("0.13"),
        lines=[invoicing.InvoiceLineRequest(receipt_id, quantity, amount_fen, kw.pop("credited", None))],  # type: ignore[arg-type]
        now=NOW,
        **kw,  # type: ignore[arg-type]
    )


def test_invoice_amount_must_be_quantity_times_the_frozen_price(market: Market) -> None:
    receipt = _received(market)  # 10 packs at 20.00
    with pytest.raises(ValidationFailed) as err:
        _invoice(market, receipt, 10, 20_001)
    assert "lines.0.amount" in err.value.fields
    invoice = _invoice(market, receipt, 10, 20_000)
    line = invoice.lines[0]
    assert (invoice.total_fen, line.pack_price_fen, line.status) == (20_000, 2000, InvoiceLineStatus.PENDING)
    assert line.due_on == NOW.date() + timedelta(days=30)  # acceptance + 30 calendar days (§4.1)


def test_invoiced_quantity_stays_within_accepted_less_returned(market: Market) -> None:
    receipt = _received(market)
    ordering.record_return(market.session, market.hospital_actor, receipt, quantity=3, reason="破损", now=NOW)
    with pytest.raises(ValidationFailed) as err:
        _invoice(market, receipt, 8, 16_000)
    assert "lines.0.quantity" in err.value.fields
    _invoice(market, receipt, 7, 14_000)
    with pytest.raises(ValidationFailed):
        _invoice(market, receipt, 1, 2_000, number="00000002")


def test_duplicate_invoice_number_from_one_issuer_is_refused(market: Market) -> None:
    receipt = _received(market)
    _invoice(market, receipt, 5, 10_000)
    with pytest.raises(Conflict) as err:
        _invoice(market, receipt, 5, 10_000)
    assert err.value.code == "duplicate_invoice"


def test_red_letter_invoice_credits_the_original_line(market: Market) -> None:
    receipt = _received(market)
    original = _invoice(market, receipt, 10, 20_000)
    credit = _invoice(
        market,
        receipt,
        -3,
        -6_000,
        number="00000009",
        kind=InvoiceKind.RED,
        original_invoice_id=original.id,
        credited=original.lines[0].id,
    )
    assert (credit.total_fen, credit.lines[0].credited_line_id) == (-6_000, original.lines[0].id)
    with pytest.raises(ValidationFailed) as err:
        _invoice(
            market,
            receipt,
            -8,
            -16_000,
            number="00000010",
            kind=InvoiceKind.RED,
            original_invoice_id=original.id,
            credited=original.lines[0].id,
        )
    assert "lines.0.quantity" in err.value.fields  # only 7 left to credit


def test_confirmation_posts_a_balanced_entry_and_balances_follow(market: Market) -> None:
    receipt = _received(market)
    line = _invoice(market, receipt, 10, 20_000).lines[0]
    with pytest.raises(ValidationFailed):
        invoicing.decide_invoice_line(
            market.session, market.hospital_actor, line.id, confirm=False, reason=None, now=NOW
        )
    invoicing.decide_invoice_line(
        market.session, market.hospital_actor, line.id, confirm=True, reason=None, now=NOW
    )
    with pytest.raises(InvalidState):
        invoicing.decide_invoice_line(
            market.session, market.hospital_actor, line.id, confirm=True, reason=None, now=NOW
        )
    s = market.session
    payable = journal.account(s, AccountPurpose.HOSPITAL_PAYABLE, market.hospital.id, now=NOW)
    receivable = journal.account(s, AccountPurpose.ENTERPRISE_RECEIVABLE, market.distributor.id, now=NOW)
    assert (journal.balance_fen(s, payable.id), journal.balance_fen(s, receivable.id)) == (-20_000, 20_000)
    report = journal.verify_journal(s)
    assert (report.ok, report.entries, report.postings, report.total_fen) == (True, 1, 4, 0)
    postings = s.scalars(select(Posting)).all()
    assert {p.order_line_id for p in postings} == {line.order_line_id}  # every money record links to its line


def test_other_hospitals_and_manufacturers_do_not_see_invoice_lines(market: Market) -> None:
    receipt = _received(market)
    line = _invoice(market, receipt, 10, 20_000).lines[0]
    assert market.session.scalars(invoicing.invoice_lines_visible_to(market.other_hospital_actor)).all() == []
    with pytest.raises(NotFound):
        invoicing.decide_invoice_line(
            market.session, market.other_hospital_actor, line.id, confirm=True, reason=None, now=NOW
        )


def test_overdue_lines_are_found_at_any_date(market: Market) -> None:
    receipt = _received(market)
    line = _invoice(market, receipt, 10, 20_000).lines[0]
    due = line.due_on
    assert invoicing.overdue_lines(market.session, market.hospital_actor, on=due) == []
    assert [
        x.id
        for x in invoicing.overdue_lines(market.session, market.hospital_actor, on=due + timedelta(days=1))
    ] == [line.id]


# --- the journal itself ------------------------------------------------------------------------


def _legs(session: Session, amount: int) -> list[journal.Leg]:
    fund = journal.account(session, AccountPurpose.FUND_CASH, None, now=NOW)
    hospital = journal.account(session, AccountPurpose.HOSPITAL_PREPAYMENT, None, now=NOW)
    return [journal.Leg(hospital, amount), journal.Leg(fund, -amount)]


def test_posting_is_idempotent_on_its_business_key(session: Session) -> None:
    first, created = journal.post(
        session,
        business_key="prepay:2026:1",
        kind="prepayment",
        description="预付",
        occurred_on=date(2026, 1, 5),
        legs=_legs(session, 300_000_00),
        now=NOW,
    )
    again, created_again = journal.post(
        session,
        business_key="prepay:2026:1",
        kind="prepayment",
        description="预付",
        occurred_on=date(2026, 1, 5),
        legs=_legs(session, 300_000_00),
        now=NOW,
    )
    assert (created, created_again, again.id) == (True, False, first.id)
    assert session.scalar(select(func.count()).select_from(JournalEntry)) == 1


def test_unbalanced_or_zero_postings_are_refused(session: Session) -> None:
    fund = journal.account(session, AccountPurpose.FUND_CASH, None, now=NOW)
    with pytest.raises(ValidationFailed):
        journal.post(
            session,
            business_key="x",
            kind="x",
            description="x",
            occurred_on=NOW.date(),
            now=NOW,
            legs=[journal.Leg(fund, 100), journal.Leg(fund, -99)],
        )
    with pytest.raises(ValidationFailed):
        journal.post(
            session,
            business_key="y",
            kind="x",
            description="x",
            occurred_on=NOW.date(),
            now=NOW,
            legs=[journal.Leg(fund, 0), journal.Leg(fund, 0)],
        )


def test_corrections_are_reversals_and_entries_cannot_be_edited(session: Session) -> None:
    entry, _ = journal.post(
        session,
        business_key="prepay:2026:2",
        kind="prepayment",
        description="预付",
        occurred_on=date(2026, 1, 5),
        legs=_legs(session, 5_000),
        now=NOW,
    )
    reversal = journal.reverse(session, entry.id, reason="金额有误", occurred_on=date(2026, 1, 6), now=NOW)
    assert reversal.reversal_of_id == entry.id
    account = journal.account(session, AccountPurpose.HOSPITAL_PREPAYMENT, None, now=NOW)
    assert journal.balance_fen(session, account.id) == 0
    with pytest.raises(Conflict):
        journal.reverse(session, entry.id, reason="again", occurred_on=date(2026, 1, 6), now=NOW)
    with pytest.raises(DatabaseError, match="append-only"):
        session.execute(text("UPDATE postings SET amount_fen = 1"))


@pytest.mark.corrupts_ledger
def test_ledger_verify_cli_refuses_balanced_money_that_no_flow_explains(app: Flask, session: Session) -> None:
    journal.post(
        session,
        business_key="prepay:cli",
        kind="prepayment",
        description="预付",
        occurred_on=NOW.date(),
        legs=_legs(session, 1_00),
        now=NOW,
    )
    session.commit()
    assert journal.verify_journal(session).ok  # balanced …
    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 1, result.output  # … but no prepayment record explains it
    assert "journal differs from the flows" in result.output
    assert "hospital_prepayment[0]" in result.output


@pytest.mark.postgresql_only
def test_a_hundred_parallel_postings_of_one_business_key_post_once(
    databases: Databases, tmp_path: Path
) -> None:
    url = databases.new()
    command.upgrade(alembic_config(url), "head")
    engine = create_engine(url, pool_size=40, max_overflow=0, pool_timeout=120)
    maker = sessionmaker(engine)
    with maker() as s, s.begin():
        _legs(s, 1)  # accounts exist before the race
    barrier = threading.Barrier(100)

    def attempt(_: int) -> bool:
        barrier.wait()  # all start together; 40 real connections contend for the key at a time
        with maker() as s, s.begin():
            _, created = journal.post(
                s,
                business_key="payment:settlement-line:42",
                kind="payment",
                description="付款",
                occurred_on=NOW.date(),
                legs=_legs(s, 123_45),
                now=NOW,
            )
            return created

    with ThreadPoolExecutor(100) as pool:
        created = list(pool.map(attempt, range(100)))
    with maker() as s:
        entries = s.scalar(select(func.count()).select_from(JournalEntry))
        report = journal.verify_journal(s)
    engine.dispose()
    print(f"100 parallel postings of one key: {created.count(True)} created, {created.count(False)} replayed")
    assert (created.count(True), entries, report.ok) == (1, 1, True)


def test_invoices_over_http_name_bad_lines_and_hospitals_confirm(client: FlaskClient, market: Market) -> None:
    from core.organizations import User
    from tests.factories import bearer

    s = market.session
    receipt = _received(market)
    dist = bearer(s, s.get_one(User, market.distributor_actor.user_id))
    hosp = bearer(s, s.get_one(User, market.hospital_actor.user_id))
    body = {
        "hospital_id": market.hospital.id,
        "invoice_number": "12345678",
        "issued_on": NOW.date().isoformat(),
        "tax_rate": "0.13",
        "lines": [{"receipt_line_id": receipt, "quantity": 10, "amount": "200.01"}],
    }
    bad = client.post("/api/v1/invoices", json=body, headers=dist)
    assert (bad.status_code, list(bad.get_json()["error"]["fields"])) == (422, ["lines.0.amount"])
    body["lines"][0]["amount"] = "200.00"
    created = client.post("/api/v1/invoices", json=body, headers=dist)
    assert created.status_code == 201, created.get_json()
    assert client.post("/api/v1/invoices", json=body, headers=dist).status_code == 409  # same number again
    line_id = created.get_json()["lines"][0]["id"]
    decided = client.post(f"/api/v1/invoice-lines/{line_id}/decision", json={"confirm": True}, headers=hosp)
    assert decided.get_json()["status"] == "confirmed"
    listed = client.get(
        "/api/v1/invoice-lines", headers=bearer(s, s.get_one(User, market.other_hospital_actor.user_id))
    )
    assert listed.get_json() == []
