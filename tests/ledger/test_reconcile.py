"""Three-flow reconciliation: each status built through the services, checked with its difference
in packs and fen. The market's listing sells at 20.00 yuan a pack (2,000 fen).

Mismatched invoices cannot be recorded through `invoicing.record_invoice` (it refuses them), so
those tests write the invoice rows directly: reconciliation is the detective control that must
still find them when they arrive some other way (an e-invoice feed, a data migration).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import inspect, select, update
from sqlalchemy.orm import Session

from core.actors import Actor
from core.errors import PermissionDenied
from ledger import reconcile
from ledger.models import (
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceLineStatus,
    OrderLine,
    ReceiptLine,
    ReconciliationFinding,
    ReconciliationTotal,
    ShipmentLine,
)
from ledger.reconcile import Options, Slice, Status
from ledger.services import invoicing, ordering, settlement, settlement_payments
from tests.ordering import EXPIRY, NOW, Market, make_market

PRICE = 2_000  # fen per pack
PERIOD = date(2026, 5, 1)
FILED = datetime(2026, 6, 3, 2, 0, tzinfo=NOW.tzinfo)
AFTER = NOW + timedelta(hours=2)  # before the 24 h delivery deadline


@dataclass
class Line:
    """One order line walked through the flows, step by step, by the test."""

    market: Market
    quantity: int
    order_id: int = 0
    line_id: int = 0
    receipts: list[ReceiptLine] = field(default_factory=list)
    invoice: Invoice | None = None

    @property
    def session(self) -> Session:
        return self.market.session

    def place(self) -> Line:
        order = self.market.order(self.quantity)
        self.order_id, self.line_id = order.id, order.lines[0].id  # type: ignore[attr-defined]
        return self

    def accept(self) -> Line:
        ordering.decide_order(
            self.session, self.market.distributor_actor, self.order_id, accept=True, reason=None, now=NOW
        )
        return self

    def ship(self, qty: int) -> ShipmentLine:
        shipment = ordering.ship(
            self.session,
            self.market.distributor_actor,
            self.order_id,
            lines=[ordering.ShipRequest(self.line_id, qty, "B20260501", EXPIRY)],
            now=NOW,
        )
        return shipment.lines[0]

    def receive(self, qty: int, rejected: int = 0) -> Line:
        shipped = self.ship(qty + rejected)
        self.receipts.append(
            ordering.confirm_receipt(
                self.session,
                self.market.hospital_actor,
                shipped.id,
                accepted=qty,
                rejected=rejected,
                reason_code="damaged" if rejected else None,
                now=NOW,
            )
        )
        return self

    def invoice_all(self, number: str = "10000001", *, confirm: bool = True) -> Line:
        self.invoice = invoicing.record_invoice(
            self.session,
            self.market.distributor_actor,
            hospital_id=self.market.hospital.id,
            invoice_code="051001",
            invoice_number=number,
            issued_on=NOW.date(),
            tax_rate=Decimal("0.13"),
            now=NOW,
            lines=[
                invoicing.InvoiceLineRequest(r.id, r.accepted_quantity, r.accepted_quantity * PRICE)
                for r in self.receipts
                if r.accepted_quantity
            ],
        )
        if confirm:
            for line in self.invoice.lines:
                invoicing.decide_invoice_line(
                    self.session, self.market.hospital_actor, line.id, confirm=True, reason=None, now=NOW
                )
        return self

    def settle_and_pay(self, *, pay: bool = True) -> None:
        m = self.market
        app = settlement.file_application(
            self.session, m.distributor_actor, hospital_id=m.hospital.id, period_month=PERIOD, now=FILED
        )
        settlement.confirm_application(self.session, m.hospital_actor, app.id, disputes={}, now=FILED)
        if pay:
            settlement.approve_run(self.session, m.world.bureau, period_month=PERIOD, now=FILED)
            settlement_payments.pay_application(
                self.session,
                m.world.bureau,
                app.id,
                bank_reference="ICBC-20260610-1",
                paid_on=FILED.date(),  # a payment counts from its own date: judged on or after it
                now=FILED,
            )


@pytest.fixture
def market(session: Session) -> Market:
    return make_market(session)


def status_of(market: Market, line_id: int, *, as_of: datetime = AFTER, actor: Actor | None = None):
    results = reconcile.reconcile_lines(
        market.session,
        actor or market.world.bureau,
        Slice(order_line_ids=[line_id]),
        as_of=as_of,
    )
    assert len(results) == 1
    r = results[0]
    return r.status, r.diff_qty, r.diff_fen


def test_complete_line_has_no_difference(market: Market) -> None:
    line = Line(market, 10).place().accept().receive(10).invoice_all()
    line.settle_and_pay()
    assert status_of(market, line.line_id, as_of=FILED) == (Status.COMPLETE, 0, 0)


def test_awaiting_and_overdue_shipment(market: Market) -> None:
    line = Line(market, 10).place().accept()
    assert status_of(market, line.line_id) == (Status.AWAITING_SHIPMENT, 10, 10 * PRICE)
    # The normal deadline is 24 h after ordering (vbp-rules.md §5).
    late = NOW + timedelta(hours=25)
    assert status_of(market, line.line_id, as_of=late) == (Status.SHIPMENT_OVERDUE, 10, 10 * PRICE)
    line.receive(4).invoice_all()
    line.settle_and_pay()
    # Four delivered, invoiced and paid (on FILED's day); six still owed past the deadline.
    assert status_of(market, line.line_id, as_of=FILED) == (Status.SHIPMENT_OVERDUE, 6, 6 * PRICE)


def test_awaiting_receipt(market: Market) -> None:
    line = Line(market, 10).place().accept()
    line.ship(7)
    assert status_of(market, line.line_id) == (Status.AWAITING_RECEIPT, 7, 7 * PRICE)


def test_short_or_rejected_after_everything_else_is_settled(market: Market) -> None:
    line = Line(market, 10).place().accept().receive(7, rejected=3)
    assert status_of(market, line.line_id) == (Status.AWAITING_INVOICE, 7, 7 * PRICE)
    line.invoice_all()
    line.settle_and_pay()
    assert status_of(market, line.line_id, as_of=FILED) == (Status.SHORT_OR_REJECTED, 3, 3 * PRICE)


def test_awaiting_invoice_becomes_overdue_after_the_grace_days(market: Market) -> None:
    line = Line(market, 10).place().accept().receive(10)
    assert status_of(market, line.line_id) == (Status.AWAITING_INVOICE, 10, 10 * PRICE)
    later = NOW + timedelta(days=31)
    assert status_of(market, line.line_id, as_of=later) == (Status.INVOICE_OVERDUE, 10, 10 * PRICE)
    # The grace period is a provincial setting.
    lenient = reconcile.reconcile_lines(
        market.session,
        market.world.bureau,
        Slice(order_line_ids=[line.line_id]),
        as_of=later,
        options=Options(invoice_grace_days=60),
    )
    assert lenient[0].status is Status.AWAITING_INVOICE


def test_awaiting_payment_then_overdue_then_paid(market: Market) -> None:
    line = Line(market, 10).place().accept().receive(10).invoice_all()
    assert status_of(market, line.line_id) == (Status.AWAITING_PAYMENT, 0, 10 * PRICE)
    # Due 30 days after acceptance (vbp-rules.md §4.1); the day after, it is overdue.
    due = line.invoice.lines[0].due_on  # type: ignore[union-attr]
    overdue_at = datetime.combine(due + timedelta(days=1), NOW.timetz())
    assert status_of(market, line.line_id, as_of=overdue_at) == (Status.PAYMENT_OVERDUE, 0, 10 * PRICE)
    line.settle_and_pay()
    assert status_of(market, line.line_id, as_of=overdue_at) == (Status.COMPLETE, 0, 0)


def test_disputed_invoice_line(market: Market) -> None:
    line = Line(market, 10).place().accept().receive(10).invoice_all(confirm=False)
    invoicing.decide_invoice_line(
        market.session,
        market.hospital_actor,
        line.invoice.lines[0].id,  # type: ignore[union-attr]
        confirm=False,
        reason="数量与随货单不符",
        now=NOW,
    )
    assert status_of(market, line.line_id) == (Status.DISPUTED, 10, 10 * PRICE)


def test_disputed_settlement_line_stays_disputed_until_refiled(market: Market) -> None:
    line = Line(market, 10).place().accept().receive(10).invoice_all()
    app = settlement.file_application(
        market.session,
        market.distributor_actor,
        hospital_id=market.hospital.id,
        period_month=PERIOD,
        now=FILED,
    )
    settlement.confirm_application(
        market.session, market.hospital_actor, app.id, disputes={app.lines[0].id: "预计退货"}, now=FILED
    )
    assert status_of(market, line.line_id, as_of=FILED) == (Status.DISPUTED, 0, 10 * PRICE)
    refiled = settlement.file_application(
        market.session,
        market.distributor_actor,
        hospital_id=market.hospital.id,
        period_month=PERIOD,
        now=FILED + timedelta(days=5),
    )
    assert refiled.net_fen == 10 * PRICE
    assert status_of(market, line.line_id, as_of=FILED)[0] is Status.AWAITING_PAYMENT


def test_overpaid_when_a_return_is_credited_after_payment(market: Market) -> None:
    line = Line(market, 10).place().accept().receive(10).invoice_all()
    line.settle_and_pay()
    ordering.record_return(
        market.session, market.hospital_actor, line.receipts[0].id, quantity=2, reason="近效期", now=NOW
    )
    red = invoicing.record_invoice(
        market.session,
        market.distributor_actor,
        hospital_id=market.hospital.id,
        invoice_code="051001",
        invoice_number="10000002",
        issued_on=NOW.date(),
        tax_rate=Decimal("0.13"),
        now=NOW,
        kind=InvoiceKind.RED,
        original_invoice_id=line.invoice.id,  # type: ignore[union-attr]
        lines=[
            invoicing.InvoiceLineRequest(
                line.receipts[0].id,
                -2,
                -2 * PRICE,
                line.invoice.lines[0].id,  # type: ignore[union-attr]
            )
        ],
    )
    assert red.total_fen == -2 * PRICE
    # Paid 20,000 fen for goods now invoiced at 16,000 net: 4,000 to net in the next settlement.
    assert status_of(market, line.line_id, as_of=FILED) == (Status.OVERPAID, 0, 2 * PRICE)


def _forge_invoice(market: Market, line: Line, *, quantity: int, price: int, amount: int) -> None:
    """An invoice row that did not come through record_invoice (which would refuse it)."""
    s = market.session
    receipt = line.receipts[0]
    invoice = Invoice(
        issuer_id=market.distributor.id,
        hospital_id=market.hospital.id,
        invoice_code="051001",
        invoice_number="99000001",
        issued_on=NOW.date(),
        tax_rate="0.13",
        kind=InvoiceKind.NORMAL,
        total_fen=amount,
        created_at=NOW,
    )
    s.add(invoice)
    s.flush()
    s.add(
        InvoiceLine(
            invoice_id=invoice.id,
            receipt_line_id=receipt.id,
            order_line_id=line.line_id,
            hospital_id=market.hospital.id,
            enterprise_id=market.distributor.id,
            quantity=quantity,
            pack_price_fen=price,
            amount_fen=amount,
            status=InvoiceLineStatus.PENDING,
            due_on=receipt.accepted_on + timedelta(days=30),
        )
    )
    s.flush()


def test_invoice_quantity_mismatch(market: Market) -> None:
    line = Line(market, 10).place().accept().receive(8)
    _forge_invoice(market, line, quantity=10, price=PRICE, amount=10 * PRICE)
    assert status_of(market, line.line_id) == (Status.INVOICE_QTY_MISMATCH, 2, 2 * PRICE)


def test_invoice_quantity_mismatch_counts_returns(market: Market) -> None:
    line = Line(market, 10).place().accept().receive(10)
    ordering.record_return(
        market.session, market.hospital_actor, line.receipts[0].id, quantity=3, reason="破损", now=NOW
    )
    _forge_invoice(market, line, quantity=10, price=PRICE, amount=10 * PRICE)
    assert status_of(market, line.line_id) == (Status.INVOICE_QTY_MISMATCH, 3, 3 * PRICE)


def test_invoice_price_mismatch(market: Market) -> None:
    line = Line(market, 10).place().accept().receive(10)
    _forge_invoice(market, line, quantity=10, price=2_150, amount=10 * 2_150)
    assert status_of(market, line.line_id) == (Status.INVOICE_PRICE_MISMATCH, 10, 10 * 150)


def test_invoice_amount_mismatch(market: Market) -> None:
    line = Line(market, 10).place().accept().receive(10)
    _forge_invoice(market, line, quantity=10, price=PRICE, amount=10 * PRICE + 37)
    assert status_of(market, line.line_id) == (Status.INVOICE_AMOUNT_MISMATCH, 0, 37)


def test_refused_order_is_closed(market: Market) -> None:
    line = Line(market, 10).place()
    ordering.decide_order(
        market.session, market.distributor_actor, line.order_id, accept=False, reason="缺货", now=NOW
    )
    assert status_of(market, line.line_id, as_of=NOW + timedelta(days=3)) == (Status.CLOSED, 0, 0)


def test_precedence_keeps_every_broken_rule_as_a_flag(market: Market) -> None:
    line = Line(market, 10).place().accept().receive(6)
    _forge_invoice(market, line, quantity=6, price=2_100, amount=6 * 2_100)
    [result] = reconcile.reconcile_lines(
        market.session,
        market.world.bureau,
        Slice(order_line_ids=[line.line_id]),
        as_of=NOW + timedelta(days=2),
    )
    assert result.status is Status.INVOICE_PRICE_MISMATCH
    assert result.flags == (
        Status.INVOICE_PRICE_MISMATCH,
        Status.AWAITING_PAYMENT,
        Status.SHIPMENT_OVERDUE,
        Status.AWAITING_SHIPMENT,
    )


@pytest.mark.corrupts_ledger
def test_orphans_name_the_record_and_the_difference(market: Market) -> None:
    s = market.session
    line = Line(market, 10).place().accept().receive(10).invoice_all()
    other = Line(market, 5).place().accept().receive(5)
    # An invoice line that claims `other`'s order line but cites `line`'s delivery.
    invoice_line = line.invoice.lines[0]  # type: ignore[union-attr]
    s.execute(
        update(InvoiceLine).where(InvoiceLine.id == invoice_line.id).values(order_line_id=other.line_id)
    )
    # A shipment line re-pointed at the other hospital's order line.
    foreign = Line(market, 3)
    order = ordering.place_orders(
        s,
        market.other_hospital_actor,
        distributor_id=market.distributor.id,
        lines=[ordering.LineRequest(market.listing.id, 3)],
        urgency=ordering.Urgency.NORMAL,
        now=NOW,
    )
    foreign.order_id, foreign.line_id = order.id, order.lines[0].id
    ship_line = other.receipts[0].shipment_line_id
    s.execute(update(ShipmentLine).where(ShipmentLine.id == ship_line).values(order_line_id=foreign.line_id))
    # The same tax invoice entered again, under another issuer (one issuer cannot repeat a number).
    _forge_invoice(market, other, quantity=5, price=PRICE, amount=5 * PRICE)
    s.execute(
        update(Invoice)
        .where(Invoice.invoice_number == "99000001")
        .values(invoice_number="10000001", issuer_id=market.stranger_distributor.id)
    )
    s.expire_all()

    found = reconcile.orphans(s, market.world.bureau, Slice())
    kinds = {(o.kind, o.record_type, o.record_id) for o in found}
    assert (reconcile.OrphanKind.INVOICE, "invoice_line", invoice_line.id) in kinds
    assert (reconcile.OrphanKind.SHIPMENT, "shipment_line", ship_line) in kinds
    dupes = [o for o in found if o.kind is reconcile.OrphanKind.DUPLICATE_INVOICE]
    assert len(dupes) == 2
    assert {o.diff_fen for o in dupes} == {10 * PRICE, 5 * PRICE}
    orphan_invoice = next(o for o in found if o.kind is reconcile.OrphanKind.INVOICE)
    assert (orphan_invoice.diff_qty, orphan_invoice.diff_fen) == (10, 10 * PRICE)
    # The hospital sees only what is about its own lines; the other hospital not this one's.
    mine = reconcile.orphans(s, market.other_hospital_actor, Slice())
    assert {o.kind for o in mine} == {reconcile.OrphanKind.SHIPMENT}


@pytest.mark.corrupts_ledger
def test_payment_that_differs_from_the_confirmed_amount_is_an_orphan(market: Market) -> None:
    line = Line(market, 10).place().accept().receive(10).invoice_all()
    line.settle_and_pay()
    from ledger.models import Payment

    s = market.session
    s.execute(update(Payment).values(amount_fen=10 * PRICE + 500))
    found = reconcile.orphans(s, market.world.bureau, Slice())
    assert [(o.kind, o.diff_fen) for o in found] == [(reconcile.OrphanKind.PAYMENT, 500)]


def test_slices_and_scopes(market: Market) -> None:
    mine = Line(market, 10).place().accept().receive(10)
    theirs = ordering.place_orders(
        market.session,
        market.other_hospital_actor,
        distributor_id=market.distributor.id,
        lines=[ordering.LineRequest(market.listing.id, 4)],
        urgency=ordering.Urgency.NORMAL,
        now=NOW,
    )
    s, bureau = market.session, market.world.bureau
    everything = reconcile.reconcile_lines(s, bureau, Slice(), as_of=AFTER)
    assert {r.order_line_id for r in everything} == {mine.line_id, theirs.lines[0].id}
    own = reconcile.reconcile_lines(s, market.hospital_actor, Slice(), as_of=AFTER)
    assert [r.order_line_id for r in own] == [mine.line_id]
    # A hospital asking for another hospital's slice gets nothing, not an error that leaks.
    assert (
        reconcile.reconcile_lines(
            s, market.hospital_actor, Slice(hospital_id=market.other_hospital.id), as_of=AFTER
        )
        == []
    )
    by_region = reconcile.reconcile_lines(s, bureau, Slice(region_prefix="5101"), as_of=AFTER)
    assert len(by_region) == 2
    assert reconcile.reconcile_lines(s, bureau, Slice(region_prefix="4401"), as_of=AFTER) == []
    assert reconcile.reconcile_lines(s, bureau, Slice(region_prefix="51%"), as_of=AFTER) == []
    may = Slice(ordered_from=date(2026, 5, 1), ordered_before=date(2026, 6, 1))
    assert len(reconcile.reconcile_lines(s, bureau, may, as_of=AFTER)) == 2 == len(everything)

    summary = reconcile.summarize(s, bureau, Slice(), as_of=AFTER)
    assert [(x.status, x.lines, x.diff_qty, x.diff_fen) for x in summary] == [
        (Status.AWAITING_INVOICE, 1, 10, 10 * PRICE),
        (Status.AWAITING_SHIPMENT, 1, 4, 4 * PRICE),
    ]
    assert sum(x.order_amount_fen for x in summary) == 14 * PRICE
    line = s.get(OrderLine, mine.line_id)
    assert line is not None
    assert line.amount_fen == 10 * PRICE


def test_province_run_stores_findings_and_totals_that_add_up(market: Market) -> None:
    done = Line(market, 10).place().accept().receive(10).invoice_all()
    done.settle_and_pay()
    waiting = Line(market, 6).place().accept()
    s, bureau = market.session, market.world.bureau
    run = reconcile.run_reconciliation(s, bureau, Slice(), as_of=FILED, now=FILED)
    findings = s.scalars(select(ReconciliationFinding).where(ReconciliationFinding.run_id == run.id)).all()
    assert [(f.order_line_id, f.status, f.diff_qty, f.diff_fen) for f in findings] == [
        (waiting.line_id, Status.SHIPMENT_OVERDUE, 6, 6 * PRICE)
    ]
    totals = s.scalars(select(ReconciliationTotal).where(ReconciliationTotal.run_id == run.id)).all()
    assert sorted((t.status, t.lines, t.amount_fen) for t in totals) == [
        (Status.COMPLETE, 1, 10 * PRICE),
        (Status.SHIPMENT_OVERDUE, 1, 6 * PRICE),
    ]
    assert (run.line_count, run.finding_count, run.orphan_count) == (2, 1, 0)
    with pytest.raises(PermissionDenied):
        reconcile.run_reconciliation(s, market.hospital_actor, Slice(), as_of=FILED, now=FILED)


def test_a_runs_parties_are_copied_from_its_order_lines_and_checked_once_there(market: Market) -> None:
    """A finding's order line and parties (a total's parties) are copied from order_lines by the
    statement that writes them; the order line's own keys vouch for them, so the run's rows carry
    no per-row foreign-key checks of their own (130,000 findings × 4 checks were a third of a
    province's stored run on PostgreSQL). The key to the run stays."""
    waiting = Line(market, 6).place().accept()
    s = market.session
    run = reconcile.run_reconciliation(s, market.world.bureau, Slice(), as_of=FILED, now=FILED)
    (finding,) = s.scalars(select(ReconciliationFinding).where(ReconciliationFinding.run_id == run.id))
    line = s.get(OrderLine, waiting.line_id)
    assert line is not None
    assert (finding.hospital_id, finding.distributor_id, finding.manufacturer_id) == (
        line.hospital_id,
        line.distributor_id,
        line.manufacturer_id,
    )
    checked = {
        table: {tuple(fk["constrained_columns"]) for fk in inspect(s.connection()).get_foreign_keys(table)}
        for table in ("reconciliation_findings", "reconciliation_totals")
    }
    assert checked == {
        "reconciliation_findings": {("run_id",)},
        "reconciliation_totals": {("run_id",)},
    }


@pytest.mark.postgresql_only
def test_reconciliation_runs_without_jit_in_its_own_transaction_only(session: Session) -> None:
    from sqlalchemy import text

    def jit() -> str:
        return str(session.execute(text("SHOW jit")).scalar_one())

    session.commit()
    before = jit()
    reconcile.summarize(session, Actor.system(), Slice(), as_of=NOW)
    assert jit() == "off"  # LLVM would compile the precedence plan for every query (facts.py)
    session.rollback()
    assert jit() == before  # SET LOCAL: the connection's next transaction has the server's setting
