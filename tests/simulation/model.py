"""The reference model of the simulation: plain Python, no database, no ledger code.

It keeps what each order line should show from the events that were accepted, and says, from its
own bookkeeping alone, what the platform must answer: which attempts are legal, each line's
reconciliation status and difference (the precedence of three-flows.md), and each line's money in
the journal. It shares no code with `ledger/`, so a slip in either shows as a disagreement.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

#: The market's payment terms and reconciliation setting (the defaults).
PAYMENT_DAYS = 30
INVOICE_GRACE_DAYS = 30


@dataclass
class Shipment:
    key: int
    line: Line
    db_id: int
    quantity: int
    shipped_on: date
    received: bool = False
    accepted: int = 0
    rejected: int = 0


@dataclass
class Receipt:
    key: int
    line: Line
    db_id: int
    accepted: int
    accepted_on: date
    returned: int = 0
    #: (packs, business date) of each return.
    returns: list[tuple[int, date]] = field(default_factory=list)


@dataclass
class Invoice:
    key: int
    line: Line
    receipt: Receipt
    db_id: int
    invoice_db_id: int
    quantity: int  #: negative for a red-letter credit
    amount_fen: int
    issued_on: date
    due_on: date
    status: str = "pending"
    credited: Invoice | None = None
    credits: list[Invoice] = field(default_factory=list)

    @property
    def red(self) -> bool:
        return self.quantity < 0

    @property
    def counts(self) -> bool:
        """Part of the receipt's invoiced quantity: a blue line, or a final credit."""
        return self.status != "voided" and (not self.red or self.status in ("confirmed", "corrected"))

    def creditable(self) -> int:
        """Packs of this blue line not yet taken by a (non-voided) credit."""
        return self.quantity + sum(c.quantity for c in self.credits if c.status != "voided")


@dataclass
class Line:
    key: int
    order: Order
    db_id: int
    quantity: int
    price_fen: int
    ordered_on: date
    cancelled: int = 0
    shipped: int = 0
    accepted: int = 0
    rejected: int = 0
    returned: int = 0
    refused: bool = False
    shipments: list[Shipment] = field(default_factory=list)
    receipts: list[Receipt] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)

    @property
    def remaining(self) -> int:
        """Still to deliver: rejected packs go back to it (re-ship or cancel)."""
        return self.quantity - self.cancelled - (self.shipped - self.rejected)

    @property
    def status(self) -> str:
        if self.refused:
            return "refused"
        deliverable = self.quantity - self.cancelled
        moving = self.shipped - self.rejected
        if deliverable == 0:
            return "cancelled"
        if moving == 0:
            return "open"
        if moving < deliverable:
            return "partially_shipped"
        return "completed" if self.accepted + self.rejected == self.shipped else "shipped"


@dataclass
class Order:
    key: int
    db_id: int
    hospital: int
    distributor: int
    deadline_at: datetime
    decided: bool = False
    refused: bool = False
    lines: list[Line] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.refused:
            return "refused"
        statuses = {line.status for line in self.lines} - {"cancelled"}
        if not statuses:
            return "cancelled"
        if statuses == {"completed"}:
            return "completed"
        if statuses <= {"shipped", "completed"}:
            return "shipped"
        if any(line.shipped for line in self.lines):
            return "partially_shipped"
        return "accepted" if self.decided else "submitted"


@dataclass
class SettlementLine:
    db_id: int
    invoice: Invoice
    amount_fen: int
    status: str = "pending"


@dataclass
class Application:
    key: int
    db_id: int
    hospital: int
    distributor: int
    period: date
    filed_on: date
    lines: list[SettlementLine]
    status: str = "filed"
    confirmed_fen: int = 0
    confirmed_on: date | None = None
    paid_on: date | None = None
    source: str | None = None
    run: bool = False


@dataclass
class FundMonth:
    gross_fen: int | None = None
    deducted_fen: int = 0
    collected_fen: int = 0

    @property
    def covered_fen(self) -> int:
        return min(max(self.deducted_fen, 0), self.gross_fen or 0)

    @property
    def shortfall_fen(self) -> int:
        return max(0, self.deducted_fen - (self.gross_fen or 0))


@dataclass
class Prepayment:
    db_id: int
    hospital: int
    year: int
    amount_fen: int
    drawn_fen: int = 0
    cleared: bool = False


@dataclass
class Expected:
    status: str
    diff_qty: int
    diff_fen: int


@dataclass
class Model:
    orders: list[Order] = field(default_factory=list)
    shipments: list[Shipment] = field(default_factory=list)
    receipts: list[Receipt] = field(default_factory=list)
    invoices: list[Invoice] = field(default_factory=list)
    applications: list[Application] = field(default_factory=list)
    fund: dict[tuple[int, date], FundMonth] = field(default_factory=dict)
    prepayments: dict[tuple[int, int], Prepayment] = field(default_factory=dict)

    # --- derived views -----------------------------------------------------------------------

    @property
    def lines(self) -> list[Line]:
        return [line for order in self.orders for line in order.lines]

    def invoiced_qty(self, receipt: Receipt) -> int:
        return sum(i.quantity for i in receipt.line.invoices if i.receipt is receipt and i.counts)

    def holding(self, invoice: Invoice) -> SettlementLine | None:
        """The pending or confirmed settlement line holding an invoice line, if any."""
        for app in self.applications:
            for s in app.lines:
                if s.invoice is invoice and s.status in ("pending", "confirmed"):
                    return s
        return None

    def open_dispute(self, invoice: Invoice) -> bool:
        return any(
            s.invoice is invoice and s.status == "disputed" for a in self.applications for s in a.lines
        )

    def paid_line(self, invoice: Invoice) -> tuple[int, date | None]:
        """Amount and date of the payment that paid this invoice line's confirmed settlement."""
        for app in self.applications:
            if app.paid_on is None:
                continue
            for s in app.lines:
                if s.invoice is invoice and s.status == "confirmed":
                    return s.amount_fen, app.paid_on
        return 0, None

    def payable_lines(self, hospital: int, distributor: int, period: date) -> list[Invoice]:
        """What a filing for `period` takes: confirmed lines not held — blue ones issued in the
        period, previously disputed ones issued before its end, and every credit."""
        end = (period.replace(day=28) + timedelta(days=4)).replace(day=1)
        return [
            i
            for i in self.invoices
            if i.line.order.hospital == hospital
            and i.line.order.distributor == distributor
            and i.status == "confirmed"
            and (i.red or period <= i.issued_on < end or (self.open_dispute(i) and i.issued_on < end))
            and self.holding(i) is None
        ]

    def confirmed_fen(self, line: Line) -> int:
        return sum(i.amount_fen for i in line.invoices if i.status == "confirmed")

    def paid_fen(self, line: Line, source: str | None = None) -> int:
        total = 0
        for app in self.applications:
            if app.paid_on is None or (source is not None and app.source != source):
                continue
            total += sum(
                s.amount_fen for s in app.lines if s.status == "confirmed" and s.invoice.line is line
            )
        return total

    def completed_units(self, hospital: int, first: date, on: date) -> int:
        """Packs accepted from `first` up to `on`, net of returns in the same window."""
        total = 0
        for line in self.lines:
            if line.order.hospital != hospital:
                continue
            for r in line.receipts:
                if first <= r.accepted_on <= on:
                    total += r.accepted
                total -= sum(q for q, day in r.returns if first <= day <= on)
        return total

    # --- the payment clock (ledger.figures.payments' rule, written again) ---------------------

    def overdue(self, invoice: Invoice, today: date) -> bool:
        if invoice.red or invoice.status not in ("pending", "confirmed") or self.open_dispute(invoice):
            return False
        net = invoice.amount_fen + sum(
            c.amount_fen for c in invoice.credits if c.status in ("pending", "confirmed")
        )
        if net <= 0:
            return False
        _, paid_on = self.paid_line(invoice)
        return paid_on is None and invoice.due_on < today

    # --- reconciliation: the precedence of three-flows.md -------------------------------------

    def issued_qty(self, receipt: Receipt) -> int:
        return sum(i.quantity for i in receipt.line.invoices if i.receipt is receipt and i.status != "voided")

    def expected(self, line: Line, now: datetime, today: date) -> Expected:
        counted = [i for i in line.invoices if i.status != "voided"]
        inv_qty = sum(i.quantity for i in counted)
        inv_fen = sum(i.amount_fen for i in counted)
        disputed = [i for i in line.invoices if i.status == "disputed"]
        settle_disputed = sum(
            s.amount_fen
            for app in self.applications
            for s in app.lines
            if s.invoice.line is line and s.status == "disputed"
        )
        paid = self.paid_fen(line)
        price = line.price_fen
        net_accepted = line.accepted - line.returned
        uninvoiced = net_accepted - inv_qty
        outstanding = inv_fen - paid
        pending_receipt = line.shipped - line.accepted - line.rejected
        remaining = line.remaining
        cutoff = today - timedelta(days=INVOICE_GRACE_DAYS)
        old_uninvoiced = any(
            r.accepted_on < cutoff and r.accepted - r.returned - self.issued_qty(r) > 0 for r in line.receipts
        )
        disputed_fen = sum(i.amount_fen for i in disputed) + settle_disputed
        if sum(i.amount_fen for i in disputed) != 0 or settle_disputed != 0:
            return Expected("disputed", sum(i.quantity for i in disputed), disputed_fen)
        if paid > inv_fen:
            return Expected("overpaid", 0, paid - inv_fen)
        if inv_qty - net_accepted > 0:
            return Expected("invoice_qty_mismatch", inv_qty - net_accepted, (inv_qty - net_accepted) * price)
        if outstanding > 0 and any(self.overdue(i, today) for i in line.invoices):
            return Expected("payment_overdue", 0, outstanding)
        if outstanding > 0:
            return Expected("awaiting_payment", 0, outstanding)
        if uninvoiced > 0 and old_uninvoiced:
            return Expected("invoice_overdue", uninvoiced, uninvoiced * price)
        if uninvoiced > 0:
            return Expected("awaiting_invoice", uninvoiced, uninvoiced * price)
        if line.rejected > 0 and remaining > 0:
            short = min(line.rejected, remaining)
            return Expected("short_or_rejected", short, short * price)
        if pending_receipt > 0:
            return Expected("awaiting_receipt", pending_receipt, pending_receipt * price)
        if line.status in ("refused", "cancelled"):
            return Expected("closed", 0, 0)
        if remaining > 0 and line.order.deadline_at < now:
            return Expected("shipment_overdue", remaining, remaining * price)
        if remaining > 0:
            return Expected("awaiting_shipment", remaining, remaining * price)
        return Expected("complete", 0, 0)
