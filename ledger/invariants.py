"""The ledger's invariants, checked set-based over the whole database (`flask ledger verify`, the
nightly scheduler job, and the test suite after every test):

* the journal: every entry balances and has postings, all balances sum to zero (balances are
  always derived from postings, never stored, so they cannot drift from the entries);
* no payment exceeds the confirmed amount of its settlement application;
* every money record links to an order line, and to the same one as the record it answers
  (settlement line → invoice line → receipt → shipment line);
* no settlement line claims more than its invoice line;
* the journal against the flows: per order line and per party, every account's balance equals what
  the flows say (ledger/journal_check.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from ledger.journal import JournalReport, verify_journal
from ledger.journal_check import Mismatch, journal_versus_flows
from ledger.models import (
    InvoiceLine,
    Payment,
    ReceiptLine,
    SettlementLine,
    SettlementLineStatus,
    ShipmentLine,
)


@dataclass(frozen=True)
class LedgerCheck:
    journal: JournalReport
    #: Payments above the confirmed total of their application.
    overpaid_payments: list[int] = field(default_factory=list)
    #: (table, id) of money and logistics records whose order line differs from their parent's.
    broken_links: list[tuple[str, int]] = field(default_factory=list)
    #: Settlement lines whose amount exceeds their invoice line's.
    oversettled_lines: list[int] = field(default_factory=list)
    #: Account balances (per order line, per party) that differ from what the flows say.
    journal_vs_flows: list[Mismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.journal.ok and not (
            self.overpaid_payments or self.broken_links or self.oversettled_lines or self.journal_vs_flows
        )

    def problems(self) -> list[str]:
        found = []
        if not self.journal.ok:
            found.append(
                f"分录不平衡 {self.journal.unbalanced_entries}, "
                f"无过账分录 {self.journal.entries_without_postings}, 余额合计 {self.journal.total_fen} 分"
            )
        if self.overpaid_payments:
            found.append(f"付款超过确认金额 (payments above the confirmed amount): {self.overpaid_payments}")
        if self.broken_links:
            found.append(f"记录与订单行不一致 (records linked to another order line): {self.broken_links}")
        if self.oversettled_lines:
            found.append(f"结算超过发票金额 (settled above the invoice line): {self.oversettled_lines}")
        if self.journal_vs_flows:
            shown = "; ".join(str(m) for m in self.journal_vs_flows[:20])
            more = len(self.journal_vs_flows) - 20
            found.append(
                f"账簿与三流不符 (journal differs from the flows) {len(self.journal_vs_flows)} 处: {shown}"
                + (f" … 另 {more} 处" if more > 0 else "")
            )
        return found


def check_ledger(session: Session) -> LedgerCheck:
    confirmed = (
        select(SettlementLine.application_id, func.sum(SettlementLine.amount_fen).label("fen"))
        .where(SettlementLine.status == SettlementLineStatus.CONFIRMED)
        .group_by(SettlementLine.application_id)
        .subquery()
    )
    overpaid = session.scalars(
        select(Payment.id)
        .outerjoin(confirmed, confirmed.c.application_id == Payment.application_id)
        .where(Payment.amount_fen > func.coalesce(confirmed.c.fen, 0))
        .order_by(Payment.id)
    ).all()
    il, rl, sl = aliased(InvoiceLine), aliased(ReceiptLine), aliased(ShipmentLine)
    broken: list[tuple[str, int]] = []
    broken += [
        ("settlement_lines", i)
        for i in session.scalars(
            select(SettlementLine.id)
            .join(il, il.id == SettlementLine.invoice_line_id)
            .where(
                or_(
                    il.order_line_id != SettlementLine.order_line_id,
                    il.hospital_id != SettlementLine.hospital_id,
                    il.enterprise_id != SettlementLine.enterprise_id,
                )
            )
        )
    ]
    broken += [
        ("invoice_lines", i)
        for i in session.scalars(
            select(InvoiceLine.id)
            .join(rl, rl.id == InvoiceLine.receipt_line_id)
            .where(rl.order_line_id != InvoiceLine.order_line_id)
        )
    ]
    broken += [
        ("receipt_lines", i)
        for i in session.scalars(
            select(ReceiptLine.id)
            .join(sl, sl.id == ReceiptLine.shipment_line_id)
            .where(sl.order_line_id != ReceiptLine.order_line_id)
        )
    ]
    oversettled = session.scalars(
        select(SettlementLine.id)
        .join(il, il.id == SettlementLine.invoice_line_id)
        .where(func.abs(SettlementLine.amount_fen) > func.abs(il.amount_fen))
        .order_by(SettlementLine.id)
    ).all()
    return LedgerCheck(
        verify_journal(session), list(overpaid), broken, list(oversettled), journal_versus_flows(session)
    )
