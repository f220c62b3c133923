"""The ledger invariant checker finds each kind of breakage (and `flask ledger verify` exits 1)."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import update
from sqlalchemy.orm import Session

from ledger.invariants import check_ledger
from ledger.models import InvoiceLine, Payment, ReceiptLine, SettlementLine
from tests.ledger.test_reconcile import PRICE, Line
from tests.ordering import NOW, make_market

pytestmark = pytest.mark.corrupts_ledger


@pytest.fixture
def paid(session: Session) -> Line:
    line = Line(make_market(session), 10).place().accept().receive(10).invoice_all()
    line.settle_and_pay()
    assert check_ledger(session).ok
    return line


def test_a_payment_above_the_confirmed_amount_is_found(paid: Line, session: Session) -> None:
    session.execute(update(Payment).values(amount_fen=10 * PRICE + 1))
    report = check_ledger(session)
    assert len(report.overpaid_payments) == 1
    assert not report.ok


@pytest.mark.parametrize("model", [SettlementLine, InvoiceLine, ReceiptLine])
def test_a_record_pointing_at_another_order_line_is_found(paid: Line, session: Session, model: type) -> None:
    other = Line(paid.market, 3).place()
    session.execute(update(model).values(order_line_id=other.line_id))
    assert model.__tablename__ in {table for table, _ in check_ledger(session).broken_links}


def test_a_settlement_line_above_its_invoice_line_is_found(paid: Line, session: Session) -> None:
    session.execute(update(SettlementLine).values(amount_fen=10 * PRICE + 100))
    report = check_ledger(session)
    assert report.oversettled_lines
    assert report.overpaid_payments == []  # the payment still equals the (inflated) confirmed total


def test_ledger_verify_command_fails_on_a_broken_ledger(paid: Line, session: Session, app: Flask) -> None:
    session.execute(update(Payment).values(amount_fen=10 * PRICE + 1))
    session.commit()
    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 1
    assert "付款超过确认金额" in result.output


def test_ledger_verify_command_passes_after_a_full_money_flow(
    paid: Line, session: Session, app: Flask
) -> None:
    session.commit()
    result = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output


def test_money_posted_to_the_wrong_order_line_is_found_though_every_total_agrees(
    paid: Line, session: Session
) -> None:
    from ledger import journal
    from ledger.models import AccountPurpose

    other = Line(paid.market, 3).place()
    purchases = journal.account(session, AccountPurpose.HOSPITAL_PURCHASES, paid.market.hospital.id, now=NOW)
    journal.post(
        session,
        business_key="misposted",
        kind="adjustment",
        description="挪到另一订单行",
        occurred_on=NOW.date(),
        now=NOW,
        legs=[journal.Leg(purchases, -PRICE, paid.line_id), journal.Leg(purchases, PRICE, other.line_id)],
    )
    report = check_ledger(session)
    assert {(m.order_line_id, m.expected_fen - m.actual_fen) for m in report.journal_vs_flows} == {
        (paid.line_id, PRICE),
        (other.line_id, -PRICE),
    }
    assert report.journal.ok  # balanced, and the hospital's total purchases are unchanged


def test_a_payment_posting_without_its_order_line_is_found(paid: Line, session: Session) -> None:
    from ledger import journal
    from ledger.models import AccountPurpose

    cash = journal.account(session, AccountPurpose.ENTERPRISE_CASH, paid.market.distributor.id, now=NOW)
    receivable = journal.account(
        session, AccountPurpose.ENTERPRISE_RECEIVABLE, paid.market.distributor.id, now=NOW
    )
    journal.post(
        session,
        business_key="unattributed",
        kind="payment",
        description="未指明订单行的付款",
        occurred_on=NOW.date(),
        now=NOW,
        legs=[journal.Leg(cash, 100), journal.Leg(receivable, -100)],
    )
    found = {(m.purpose, m.order_line_id) for m in check_ledger(session).journal_vs_flows}
    assert found == {(AccountPurpose.ENTERPRISE_CASH, None), (AccountPurpose.ENTERPRISE_RECEIVABLE, None)}
