"""Corrections and their exits (three-flows.md): each defect found by the auditor's test, replayed
through the service functions and the HTTP API. Every record ends in a state with a way out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bidding.models import Award, VolumeAllocation
from core.errors import InvalidState, ValidationFailed
from core.organizations import User
from ledger import journal, statements
from ledger.models import (
    AccountPurpose,
    ApplicationStatus,
    InvoiceKind,
    InvoiceLine,
    InvoiceLineStatus,
    OrderLineStatus,
    OrderStatus,
    PartyDecision,
    PaymentSource,
    ReceiptLine,
    ReturnLine,
    ReturnStatus,
    SettlementApplication,
    SettlementLineStatus,
)
from ledger.money_rules import SettlementCalendar
from ledger.services import fund, invoicing, ordering, settlement, settlement_deadlines, settlement_payments
from tests.factories import bearer
from tests.ordering import EXPIRY, NOW, Market, make_market

UTC8 = NOW.tzinfo


def at(day: date, hour: int = 2) -> datetime:
    """02:00 UTC on `day`: 10:00 in the province, the same business date."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC8)


MAY, JUNE, JULY = date(2026, 5, 1), date(2026, 6, 1), date(2026, 7, 1)


@pytest.fixture
def market(session: Session) -> Market:
    return make_market(session)


@dataclass
class Flow:
    """One order line of `quantity` packs walked through the flows on given days."""

    m: Market
    quantity: int
    day: date = date(2026, 5, 11)
    order_id: int = 0
    line_id: int = 0
    receipts: list[ReceiptLine] = field(default_factory=list)
    invoice_lines: list[InvoiceLine] = field(default_factory=list)

    @property
    def s(self) -> Session:
        return self.m.session

    @property
    def price(self) -> int:
        return self.m.listing.pack_price_fen

    def deliver(self, accepted: int, rejected: int = 0) -> Flow:
        order = self.m.order(self.quantity, now=at(self.day))
        self.order_id, self.line_id = order.id, order.lines[0].id  # type: ignore[attr-defined]
        ordering.decide_order(
            self.s, self.m.distributor_actor, order.id, accept=True, reason=None, now=at(self.day)
        )
        self.ship_and_receive(accepted, rejected)
        return self

    def ship_and_receive(self, accepted: int, rejected: int = 0) -> ReceiptLine:
        shipment = ordering.ship(
            self.s,
            self.m.distributor_actor,
            self.order_id,
            lines=[ordering.ShipRequest(self.line_id, accepted + rejected, "B1", EXPIRY)],
            now=at(self.day),
        )
        receipt = ordering.confirm_receipt(
            self.s,
            self.m.hospital_actor,
            shipment.lines[0].id,
            accepted=accepted,
            rejected=rejected,
            reason_code="damaged" if rejected else None,
            now=at(self.day),
        )
        self.receipts.append(receipt)
        return receipt

    def invoice(self, qty: int, number: str, *, on: date | None = None, confirm: bool = True) -> InvoiceLine:
        day = on or self.day
        inv = invoicing.record_invoice(
            self.s,
            self.m.distributor_actor,
            hospital_id=self.m.hospital.id,
            invoice_code="051001",
            invoice_number=number,
            issued_on=day,
            tax_rate=Decimal("0.13"),
            now=at(day),
            lines=[invoicing.InvoiceLineRequest(self.receipts[0].id, qty, qty * self.price)],
        )
        line = inv.lines[0]
        if confirm:
            invoicing.decide_invoice_line(
                self.s, self.m.hospital_actor, line.id, confirm=True, reason=None, now=at(day)
            )
        self.invoice_lines.append(line)
        return line

    def credit(
        self, original: InvoiceLine, qty: int, number: str, *, on: date, confirm: bool = True
    ) -> InvoiceLine:
        inv = invoicing.record_invoice(
            self.s,
            self.m.distributor_actor,
            hospital_id=self.m.hospital.id,
            invoice_code="051001",
            invoice_number=number,
            issued_on=on,
            tax_rate=Decimal("0.13"),
            now=at(on),
            kind=InvoiceKind.RED,
            original_invoice_id=original.invoice_id,
            lines=[invoicing.InvoiceLineRequest(self.receipts[0].id, -qty, -qty * self.price, original.id)],
        )
        line = inv.lines[0]
        if confirm:
            invoicing.decide_invoice_line(
                self.s, self.m.hospital_actor, line.id, confirm=True, reason=None, now=at(on)
            )
        return line


def file_confirm(
    m: Market, period: date, on: date, disputes: dict[int, str] | None = None
) -> SettlementApplication:
    app = settlement.file_application(
        m.session, m.distributor_actor, hospital_id=m.hospital.id, period_month=period, now=at(on)
    )
    by_invoice_line = {line.invoice_line_id: line.id for line in app.lines}
    settlement.confirm_application(
        m.session,
        m.hospital_actor,
        app.id,
        disputes={by_invoice_line[k]: v for k, v in (disputes or {}).items()},
        now=at(on),
    )
    return app


def pay_by_fund(m: Market, app: SettlementApplication, on: date) -> None:
    settlement.approve_run(m.session, m.world.bureau, period_month=app.period_month, now=at(on))
    settlement_payments.pay_application(
        m.session, m.world.bureau, app.id, bank_reference=f"ICBC-{app.id}", paid_on=on, now=at(on)
    )


def balance(m: Market, purpose: AccountPurpose, party: int | None) -> int:
    account = journal.account(m.session, purpose, party, now=NOW)
    return journal.balance_fen(m.session, account.id)


# --- defect 1: a credit confirmed in a month with no other sales nets in the next application ---


def test_a_credit_confirmed_in_a_month_without_sales_nets_in_the_next_application(market: Market) -> None:
    may = Flow(market, 10).deliver(10)
    blue = may.invoice(10, "10000001")
    pay_by_fund(market, file_confirm(market, MAY, date(2026, 6, 2)), date(2026, 6, 10))
    # June: 3 packs returned after payment and credited; no other sales in June.
    ordering.record_return(
        market.session,
        market.hospital_actor,
        may.receipts[0].id,
        quantity=3,
        reason="破损",
        now=at(date(2026, 6, 12)),
    )
    red = may.credit(blue, 3, "10000002", on=date(2026, 6, 15))
    # July: new business; its application, filed in August, nets June's credit.
    july = Flow(market, 5, day=date(2026, 7, 6)).deliver(5)
    july_blue = july.invoice(5, "10000003")
    application = file_confirm(market, JULY, date(2026, 8, 3))
    assert sorted(line.invoice_line_id for line in application.lines) == sorted([red.id, july_blue.id])
    assert application.net_fen == (5 - 3) * may.price
    pay_by_fund(market, application, date(2026, 8, 10))
    # Everything the hospital kept is paid for, to the fen, and nothing is owed either way.
    assert balance(market, AccountPurpose.HOSPITAL_PAYABLE, market.hospital.id) == 0
    assert balance(market, AccountPurpose.ENTERPRISE_RECEIVABLE, market.distributor.id) == 0
    assert market.session.scalars(select(ReturnLine)).one().status is ReturnStatus.CREDITED


def test_a_credit_with_no_later_business_is_a_refund_the_agency_records(market: Market) -> None:
    may = Flow(market, 10).deliver(10)
    blue = may.invoice(10, "10000001")
    pay_by_fund(market, file_confirm(market, MAY, date(2026, 6, 2)), date(2026, 6, 10))
    ordering.record_return(
        market.session,
        market.hospital_actor,
        may.receipts[0].id,
        quantity=3,
        reason="破损",
        now=at(date(2026, 6, 12)),
    )
    may.credit(blue, 3, "10000002", on=date(2026, 6, 15))
    refund = file_confirm(market, JUNE, date(2026, 7, 2))  # credits only: the net is negative
    assert (refund.net_fen, refund.confirmed_fen, refund.status) == (
        -3 * may.price,
        -3 * may.price,
        ApplicationStatus.REFUND_DUE,
    )
    with pytest.raises(InvalidState):  # never a negative "payment" on the hospital's word
        settlement_payments.pay_application(
            market.session,
            market.hospital_actor,
            refund.id,
            bank_reference="H-1",
            paid_on=date(2026, 7, 3),
            now=at(date(2026, 7, 3)),
            source=PaymentSource.SELF_PAY,
        )
    payment = settlement_payments.record_refund(
        market.session,
        market.world.bureau,
        refund.id,
        bank_reference="REFUND-1",
        refunded_on=date(2026, 7, 8),
        now=at(date(2026, 7, 8)),
    )
    assert (payment.amount_fen, refund.status) == (-3 * may.price, ApplicationStatus.REFUNDED)
    assert balance(market, AccountPurpose.HOSPITAL_PAYABLE, market.hospital.id) == 0
    assert balance(market, AccountPurpose.ENTERPRISE_CASH, market.distributor.id) == 7 * may.price


# --- defect 2: a disputed invoice line has exits, and nothing is posted that was not -------------


def test_a_disputed_line_corrected_by_red_letter_and_reinvoiced_is_posted_once(market: Market) -> None:
    flow = Flow(market, 10).deliver(10)
    wrong = flow.invoice(10, "10000001", confirm=False)
    invoicing.decide_invoice_line(
        market.session, market.hospital_actor, wrong.id, confirm=False, reason="数量不符", now=at(flow.day)
    )
    red = flow.credit(wrong, 10, "10000002", on=flow.day, confirm=False)
    assert (wrong.status, red.status) == (InvoiceLineStatus.CORRECTED, InvoiceLineStatus.CORRECTED)
    with pytest.raises(InvalidState):  # a corrected line is final
        invoicing.decide_invoice_line(
            market.session, market.hospital_actor, red.id, confirm=True, reason=None, now=at(flow.day)
        )
    right = flow.invoice(10, "10000003")
    assert right.status is InvoiceLineStatus.CONFIRMED
    # The purchase is posted exactly once: the hospital owes 10 packs, not 0 and not 20.
    assert balance(market, AccountPurpose.HOSPITAL_PAYABLE, market.hospital.id) == -10 * flow.price
    assert balance(market, AccountPurpose.HOSPITAL_PURCHASES, market.hospital.id) == 10 * flow.price


def test_the_hospital_withdraws_its_dispute_and_the_line_is_posted(market: Market) -> None:
    flow = Flow(market, 10).deliver(10)
    line = flow.invoice(10, "10000001", confirm=False)
    invoicing.decide_invoice_line(
        market.session, market.hospital_actor, line.id, confirm=False, reason="待核对", now=at(flow.day)
    )
    assert balance(market, AccountPurpose.HOSPITAL_PAYABLE, market.hospital.id) == 0
    invoicing.withdraw_dispute(
        market.session, market.hospital_actor, line.id, note="已核对无误", now=at(flow.day)
    )
    assert line.status is InvoiceLineStatus.CONFIRMED
    assert balance(market, AccountPurpose.HOSPITAL_PAYABLE, market.hospital.id) == -10 * flow.price
    with pytest.raises(InvalidState):
        invoicing.withdraw_dispute(
            market.session, market.hospital_actor, line.id, note=None, now=at(flow.day)
        )


def test_a_credit_of_an_unconfirmed_line_waits_for_it_and_a_disputed_credit_can_be_voided(
    market: Market,
) -> None:
    flow = Flow(market, 10).deliver(10)
    blue = flow.invoice(10, "10000001", confirm=False)
    red = flow.credit(blue, 2, "10000002", on=flow.day, confirm=False)
    with pytest.raises(InvalidState) as early:
        invoicing.decide_invoice_line(
            market.session, market.hospital_actor, red.id, confirm=True, reason=None, now=at(flow.day)
        )
    assert early.value.code == "original_not_confirmed"
    invoicing.decide_invoice_line(
        market.session, market.hospital_actor, red.id, confirm=False, reason="金额不符", now=at(flow.day)
    )
    invoicing.void_credit(market.session, market.distributor_actor, red.id, reason="开错", now=at(flow.day))
    assert red.status is InvoiceLineStatus.VOIDED
    invoicing.decide_invoice_line(
        market.session, market.hospital_actor, blue.id, confirm=True, reason=None, now=at(flow.day)
    )
    assert balance(market, AccountPurpose.HOSPITAL_PAYABLE, market.hospital.id) == -10 * flow.price


# --- defect 3: a negative application is never self-paid ---------------------------------------


def test_a_negative_application_cannot_be_self_paid(market: Market) -> None:
    may = Flow(market, 10).deliver(10)
    blue = may.invoice(10, "10000001")
    ordering.record_return(
        market.session, market.hospital_actor, may.receipts[0].id, quantity=4, reason="退货", now=at(may.day)
    )
    red = may.credit(blue, 4, "10000002", on=may.day)
    # The hospital disputes the blue line and confirms the credit: the confirmed net is negative.
    app = file_confirm(market, MAY, date(2026, 6, 2), disputes={blue.id: "数量待核"})
    assert (app.confirmed_fen, app.status) == (-4 * may.price, ApplicationStatus.REFUND_DUE)
    assert red.status is InvoiceLineStatus.CONFIRMED
    with pytest.raises(InvalidState):
        settlement_payments.pay_application(
            market.session,
            market.hospital_actor,
            app.id,
            bank_reference="H-1",
            paid_on=date(2026, 6, 3),
            now=at(date(2026, 6, 3)),
            source=PaymentSource.SELF_PAY,
        )


def test_a_negative_application_answers_409_to_self_payment_over_http(
    market: Market, client: FlaskClient
) -> None:
    may = Flow(market, 10).deliver(10)
    blue = may.invoice(10, "10000001")
    ordering.record_return(
        market.session, market.hospital_actor, may.receipts[0].id, quantity=4, reason="退货", now=at(may.day)
    )
    may.credit(blue, 4, "10000002", on=may.day)
    app = file_confirm(market, MAY, date(2026, 6, 2), disputes={blue.id: "数量待核"})
    hospital = bearer(market.session, market.session.get_one(User, market.hospital_actor.user_id))
    answer = client.post(
        f"/api/v1/settlement-applications/{app.id}/self-payment",
        headers=hospital,
        json={"paid_on": "2026-06-03", "bank_reference": "H-1"},
    )
    assert (answer.status_code, answer.get_json()["error"]["code"]) == (409, "illegal_transition")


# --- defect 4: payment dates -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("paid_on", "problem"),
    [("2026-05-10", "验收"), ("2099-01-01", "今天"), ("2026-06-01", "确认")],
    ids=["before_acceptance", "in_the_future", "before_confirmation"],
)
def test_a_payment_dated_before_acceptance_or_confirmation_or_in_the_future_is_refused(
    market: Market, client: FlaskClient, paid_on: str, problem: str
) -> None:
    flow = Flow(market, 10).deliver(10)
    flow.invoice(10, "10000001")
    app = file_confirm(market, MAY, date(2026, 6, 2))
    hospital = bearer(market.session, market.session.get_one(User, market.hospital_actor.user_id))
    answer = client.post(
        f"/api/v1/settlement-applications/{app.id}/self-payment",
        headers=hospital,
        json={"paid_on": paid_on, "bank_reference": "H-1"},
    )
    assert answer.status_code == 422, answer.get_json()
    assert any(problem in message for message in answer.get_json()["error"]["fields"]["paid_on"])
    assert app.status is ApplicationStatus.CONFIRMED  # nothing changed


# --- defect 5: a deduction beyond the gross is a shortfall, posted and collected -------------------


def test_a_deduction_beyond_the_gross_settlement_is_a_shortfall_posted_and_collected(
    market: Market, client: FlaskClient
) -> None:
    flow = Flow(market, 1000).deliver(1000)
    flow.invoice(1000, "10000001")
    pay_by_fund(market, file_confirm(market, MAY, date(2026, 6, 2)), date(2026, 6, 10))
    paid = 1000 * flow.price
    gross = paid // 4
    agency = bearer(market.session, market.session.get_one(User, market.world.bureau.user_id))
    recorded = client.post(
        "/api/v1/fund-settlements",
        headers=agency,
        json={"hospital_id": market.hospital.id, "period_month": "2026-06-01", "gross": f"{gross / 100:.2f}"},
    )
    assert recorded.status_code == 201, recorded.get_json()
    body = recorded.get_json()
    shortfall = paid - gross
    assert (body["net"], body["shortfall"], body["outstanding_shortfall"]) == (
        "0.00",
        f"{shortfall / 100:.2f}",
        f"{shortfall / 100:.2f}",
    )
    h = market.hospital.id
    assert balance(market, AccountPurpose.HOSPITAL_FUND_SHORTFALL, h) == -shortfall
    assert balance(market, AccountPurpose.FUND_SHORTFALL_RECEIVABLE, h) == shortfall
    assert balance(market, AccountPurpose.HOSPITAL_FUND_CLAIM, h) == 0  # gross fully used
    collected = client.post(
        f"/api/v1/fund-settlements/{body['id']}/collections",
        headers=agency,
        json={"amount": f"{shortfall / 100:.2f}", "bank_reference": "TS-1", "collected_on": "2026-07-01"},
    )
    assert collected.status_code == 201, collected.get_json()
    assert balance(market, AccountPurpose.HOSPITAL_FUND_SHORTFALL, h) == 0
    too_much = client.post(
        f"/api/v1/fund-settlements/{body['id']}/collections",
        headers=agency,
        json={"amount": "0.01", "bank_reference": "TS-2", "collected_on": "2026-07-01"},
    )
    assert too_much.status_code == 409


# --- defect 6: prepayment only for years an agreement covers ----------------------------------------


def test_prepayment_is_refused_for_a_year_no_agreement_covers_and_prorated_for_a_partial_year(
    market: Market,
) -> None:
    bureau = market.world.bureau
    with pytest.raises(ValidationFailed) as none:
        fund.grant_prepayment(market.session, bureau, hospital_id=market.hospital.id, year=2030, now=NOW)
    assert "year" in none.value.fields
    # The cycle runs 2026-05-01 … 2027-04-30: 245 of 2026's 365 days (a renewal mid-year would
    # count each agreement for its own months).
    partial = fund.grant_prepayment(
        market.session, bureau, hospital_id=market.hospital.id, year=2026, now=NOW
    )
    allocations = market.session.execute(
        select(VolumeAllocation.agreed_quantity, Award.unit_price_e4)
        .join(Award, Award.id == VolumeAllocation.award_id)
        .where(VolumeAllocation.hospital_id == market.hospital.id)
    ).all()
    annual_fen = Decimal(sum(q * p for q, p in allocations)) / 100
    assert partial.amount_fen == int(
        (annual_fen * 245 / 365 * Decimal("0.30")).quantize(Decimal(1), "ROUND_HALF_UP")
    )


# --- defect 11: rejected packs are re-shipped or cancelled --------------------------------------------


def test_rejected_packs_are_reshipped_and_the_line_completes(market: Market) -> None:
    flow = Flow(market, 10).deliver(8, rejected=2)
    line = market.session.get_one(ordering.OrderLine, flow.line_id)
    assert (line.status, ordering.remaining_to_ship(line)) == (OrderLineStatus.PARTIALLY_SHIPPED, 2)
    flow.ship_and_receive(2)
    order = ordering.get_order(market.session, market.hospital_actor, flow.order_id)
    assert (line.status, line.shipped_quantity, line.accepted_quantity, order.status) == (
        OrderLineStatus.COMPLETED,
        12,
        10,
        OrderStatus.COMPLETED,
    )


def test_rejected_packs_are_cancelled_line_by_line(market: Market) -> None:
    flow = Flow(market, 10).deliver(0, rejected=10)
    line = market.session.get_one(ordering.OrderLine, flow.line_id)
    assert line.status is OrderLineStatus.OPEN  # nothing delivered: all 10 remain
    ordering.cancel_order(
        market.session,
        market.hospital_actor,
        flow.order_id,
        reason="改购",
        now=at(flow.day),
        order_line_ids=[line.id],
    )
    order = ordering.get_order(market.session, market.hospital_actor, flow.order_id)
    assert (line.cancelled_quantity, line.status, order.status) == (
        10,
        OrderLineStatus.CANCELLED,
        OrderStatus.CANCELLED,
    )
    with pytest.raises(ValidationFailed):
        ordering.cancel_order(
            market.session,
            market.hospital_actor,
            flow.order_id,
            reason="x",
            now=at(flow.day),
            order_line_ids=[999_999],
        )


# --- defect 15: a disputed statement with unchanged data can be resolved -----------------------------


def test_a_disputed_statement_whose_data_did_not_change_is_resolved_with_a_note(market: Market) -> None:
    flow = Flow(market, 10).deliver(10)
    flow.invoice(10, "10000001")
    generated = statements.generate(
        market.session, market.world.bureau, period=MAY, as_of=at(JUNE), now=at(JUNE)
    )
    [statement] = generated.created
    statements.decide(
        market.session, market.hospital_actor, statement.id, confirm=False, reason="金额待核", now=at(JUNE)
    )
    again = statements.generate(market.session, market.world.bureau, period=MAY, as_of=at(JUNE), now=at(JUNE))
    assert (again.created, again.unchanged) == ([], 1)  # nothing changed: no new version
    with pytest.raises(ValidationFailed):  # resolving needs a note
        statements.decide(
            market.session, market.hospital_actor, statement.id, confirm=True, reason=None, now=at(JUNE)
        )
    statements.decide(
        market.session,
        market.hospital_actor,
        statement.id,
        confirm=True,
        reason="已核对，数据无误",
        now=at(JUNE),
    )
    statements.decide(
        market.session, market.distributor_actor, statement.id, confirm=True, reason=None, now=at(JUNE)
    )
    assert (statement.state, statement.hospital_resolution) == (PartyDecision.CONFIRMED, "已核对，数据无误")


# --- defect 18: the hospital's 5-working-day confirmation window -----------------------------------


def test_the_confirmation_window_is_stored_reminded_escalated_once_and_listed(
    market: Market, client: FlaskClient
) -> None:
    flow = Flow(market, 10).deliver(10)
    flow.invoice(10, "10000001")
    filed = date(2026, 6, 2)  # a Tuesday
    app = settlement.file_application(
        market.session,
        market.distributor_actor,
        hospital_id=market.hospital.id,
        period_month=MAY,
        now=at(filed),
    )
    assert app.confirm_by == date(2026, 6, 9)  # 5 working days (vbp-rules.md §4.3 step 3)
    bureau = market.world.bureau
    early = settlement_deadlines.check_confirmation_window(market.session, bureau, now=at(date(2026, 6, 8)))
    assert ([r[0] for r in early.reminders], early.escalated) == ([app.id], [])
    late = settlement_deadlines.check_confirmation_window(market.session, bureau, now=at(date(2026, 6, 10)))
    assert (late.escalated, late.deemed, app.status) == ([app.id], [], ApplicationStatus.FILED)
    assert (
        settlement_deadlines.check_confirmation_window(
            market.session, bureau, now=at(date(2026, 6, 11))
        ).escalated
        == []
    )
    agency = bearer(market.session, market.session.get_one(User, bureau.user_id))
    overdue = client.get("/api/v1/settlement-applications/confirmation-overdue", headers=agency)
    assert [a["id"] for a in overdue.get_json()] == [app.id]
    deemed = settlement_deadlines.check_confirmation_window(
        market.session, bureau, now=at(date(2026, 6, 12)), deem_confirmed=True
    )
    assert (deemed.deemed, app.status, app.deemed_confirmed) == ([app.id], ApplicationStatus.CONFIRMED, True)


def test_the_confirmation_window_counts_holidays_of_the_calendar(market: Market) -> None:
    flow = Flow(market, 10).deliver(10)
    flow.invoice(10, "10000001")
    calendar = SettlementCalendar(holidays=frozenset({date(2026, 6, 3), date(2026, 6, 4)}))
    app = settlement.file_application(
        market.session,
        market.distributor_actor,
        hospital_id=market.hospital.id,
        period_month=MAY,
        now=at(date(2026, 6, 2)),
        calendar=calendar,
    )
    assert app.confirm_by == date(2026, 6, 11)


# --- disputed settlement lines find their way out ---------------------------------------------------


def test_a_disputed_settlement_line_is_refiled_and_then_paid(market: Market) -> None:
    flow = Flow(market, 10).deliver(10)
    blue = flow.invoice(10, "10000001")
    first = file_confirm(market, MAY, date(2026, 6, 2), disputes={blue.id: "预计退货"})
    assert first.status is ApplicationStatus.CLOSED  # nothing confirmed: nothing to pay
    [disputed] = first.lines
    second = file_confirm(market, JUNE, date(2026, 7, 2))
    assert (disputed.status, second.lines[0].refiles_id) == (SettlementLineStatus.REFILED, disputed.id)
    pay_by_fund(market, second, date(2026, 7, 6))
    assert balance(market, AccountPurpose.HOSPITAL_PAYABLE, market.hospital.id) == 0


def test_a_filed_application_is_withdrawn_and_its_lines_filed_again(market: Market) -> None:
    flow = Flow(market, 10).deliver(10)
    flow.invoice(10, "10000001")
    app = settlement.file_application(
        market.session,
        market.distributor_actor,
        hospital_id=market.hospital.id,
        period_month=MAY,
        now=at(JUNE),
    )
    settlement.withdraw_application(
        market.session, market.distributor_actor, app.id, reason="金额有误", now=at(JUNE)
    )
    assert (app.status, app.lines[0].status) == (ApplicationStatus.WITHDRAWN, SettlementLineStatus.WITHDRAWN)
    again = settlement.file_application(
        market.session,
        market.distributor_actor,
        hospital_id=market.hospital.id,
        period_month=MAY,
        now=at(JUNE),
    )
    assert again.net_fen == app.net_fen
    with pytest.raises(InvalidState):
        settlement.withdraw_application(
            market.session, market.distributor_actor, app.id, reason="x", now=at(JUNE)
        )


def test_returns_wait_for_their_credit(market: Market) -> None:
    flow = Flow(market, 10).deliver(10)
    blue = flow.invoice(10, "10000001")
    early = ordering.record_return(
        market.session, market.hospital_actor, flow.receipts[0].id, quantity=2, reason="退", now=at(flow.day)
    )
    assert early.status is ReturnStatus.AWAITING_CREDIT
    flow.credit(blue, 2, "10000002", on=flow.day + timedelta(days=1))
    assert early.status is ReturnStatus.CREDITED


def test_a_line_with_rejected_packs_is_short_until_reshipped_or_cancelled_then_complete(
    market: Market,
) -> None:
    from core.actors import Actor
    from ledger import reconcile

    flow = Flow(market, 10).deliver(8, rejected=2)
    flow.invoice(8, "10000001")
    pay_by_fund(market, file_confirm(market, MAY, date(2026, 6, 2)), date(2026, 6, 10))

    def status() -> tuple[str, int, int]:
        [r] = reconcile.reconcile_lines(
            market.session,
            Actor.system(),
            reconcile.Slice(order_line_ids=[flow.line_id]),
            as_of=at(date(2026, 6, 11)),
        )
        return r.status.value, r.diff_qty, r.diff_fen

    # Everything accepted is paid, and the 2 rejected packs are still owed to the hospital.
    assert status() == ("short_or_rejected", 2, 2 * flow.price)
    ordering.cancel_order(
        market.session, market.hospital_actor, flow.order_id, reason="不再补发", now=at(date(2026, 6, 11))
    )
    assert status() == ("complete", 0, 0)


def test_a_month_left_unfiled_is_filed_for_itself_late_not_swept_into_the_next(market: Market) -> None:
    may = Flow(market, 10).deliver(10)
    may.invoice(10, "10000001")  # a May invoice, never filed in June
    june = Flow(market, 5, day=date(2026, 6, 8)).deliver(5)
    june_line = june.invoice(5, "10000002")
    june_app = settlement.file_application(
        market.session,
        market.distributor_actor,
        hospital_id=market.hospital.id,
        period_month=JUNE,
        now=at(date(2026, 7, 2)),
    )
    assert [line.invoice_line_id for line in june_app.lines] == [june_line.id]
    late = settlement.file_application(
        market.session,
        market.distributor_actor,
        hospital_id=market.hospital.id,
        period_month=MAY,
        now=at(date(2026, 7, 2)),
    )
    assert (late.net_fen, late.filed_late) == (10 * may.price, True)


def test_refusing_an_order_leaves_a_line_the_hospital_already_cancelled_cancelled(market: Market) -> None:
    """Found by the simulation (seed 191 of the 5,000-seed run): a refusal moved a cancelled line
    to refused, an illegal move, so the distributor could not refuse the rest of the order."""
    order = ordering.place_orders(
        market.session,
        market.hospital_actor,
        distributor_id=market.distributor.id,
        lines=[ordering.LineRequest(market.listing.id, 5), ordering.LineRequest(market.listing.id, 7)],
        urgency=ordering.Urgency.NORMAL,
        now=NOW,
    )
    first, second = order.lines
    ordering.cancel_order(
        market.session, market.hospital_actor, order.id, reason="不要了", now=NOW, order_line_ids=[first.id]
    )
    ordering.decide_order(
        market.session, market.distributor_actor, order.id, accept=False, reason="缺货", now=NOW
    )
    assert (order.status, first.status, second.status) == (
        OrderStatus.REFUSED,
        OrderLineStatus.CANCELLED,
        OrderLineStatus.REFUSED,
    )
