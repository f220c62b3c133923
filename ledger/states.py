"""The transition table of every kind of ledger record (three-flows.md, "Corrections and their
exits"). Services change a state only through these machines; an illegal move is a 409.

Order and order-line states are derived from quantities (shipped, accepted, rejected, cancelled),
but the derived state still moves through the table, so a derivation that would make an illegal
move (a completed line going back to open, say) fails loudly instead of corrupting the ledger.
`tests/ledger/test_states.py` walks every table: each non-terminal state has a way out. The
states' words in messages are the glossary's (core/glossary.py), as on the pages.
"""

from __future__ import annotations

from core.glossary import terms_of
from core.states import Machine
from ledger.models import (
    ApplicationStatus,
    InvoiceLineStatus,
    ListingStatus,
    OrderLineStatus,
    OrderStatus,
    PartyDecision,
    PaymentStatus,
    PrepaymentStatus,
    ReceiptStatus,
    ReturnStatus,
    RunStatus,
    SettlementLineStatus,
    ShipmentLineStatus,
)
from ledger.models.upstream import UpstreamInvoiceStatus


def _table(pairs: dict) -> dict:  # type: ignore[type-arg]
    return {state: frozenset(targets) for state, targets in pairs.items()}


OS = OrderStatus
ORDER = Machine(
    "订单",
    _table(
        {
            OS.SUBMITTED: {OS.ACCEPTED, OS.REFUSED, OS.CANCELLED},
            OS.ACCEPTED: {OS.PARTIALLY_SHIPPED, OS.SHIPPED, OS.CANCELLED},
            # Shipping the rest, cancelling the rest, or receipts of everything shipped.
            OS.PARTIALLY_SHIPPED: {OS.SHIPPED, OS.COMPLETED, OS.CANCELLED},
            # Receipts complete it; a rejection at receipt puts packs back to be re-shipped.
            OS.SHIPPED: {OS.PARTIALLY_SHIPPED, OS.COMPLETED},
            OS.COMPLETED: set(),
            OS.REFUSED: set(),
            OS.CANCELLED: set(),
        }
    ),
    terms_of(OS),
)

L = OrderLineStatus
ORDER_LINE = Machine(
    "订单行",
    _table(
        {
            L.OPEN: {L.PARTIALLY_SHIPPED, L.SHIPPED, L.CANCELLED, L.REFUSED},
            # Rejected packs go back to what remains to ship (three-flows.md): a line can fall
            # back to open or partly shipped until the distributor re-ships or the hospital
            # cancels the remainder.
            L.PARTIALLY_SHIPPED: {L.OPEN, L.SHIPPED, L.COMPLETED},
            L.SHIPPED: {L.OPEN, L.PARTIALLY_SHIPPED, L.COMPLETED},
            L.COMPLETED: set(),
            L.CANCELLED: set(),
            L.REFUSED: set(),
        }
    ),
    terms_of(L),
)

SL = ShipmentLineStatus
SHIPMENT_LINE = Machine(
    "发货明细",
    _table(
        {
            SL.IN_TRANSIT: {SL.ACCEPTED, SL.PARTLY_REJECTED, SL.REJECTED},
            SL.ACCEPTED: set(),
            SL.PARTLY_REJECTED: set(),
            SL.REJECTED: set(),
        }
    ),
    terms_of(SL),
)

R = ReceiptStatus
RECEIPT = Machine(
    "验收记录",
    _table(
        {
            R.KEPT: {R.PARTLY_RETURNED, R.RETURNED},
            R.PARTLY_RETURNED: {R.RETURNED},
            R.RETURNED: set(),
            R.REJECTED: set(),
        }
    ),
    terms_of(R),
)

RT = ReturnStatus
RETURN = Machine(
    "退货",
    _table(
        {
            # The way out is the distributor's red-letter invoice for the returned packs.
            RT.AWAITING_CREDIT: {RT.CREDITED},
            RT.CREDITED: set(),
            RT.NO_CREDIT_NEEDED: set(),
        }
    ),
    terms_of(RT),
)

IL = InvoiceLineStatus
INVOICE_LINE = Machine(
    "发票明细",
    _table(
        {
            # Confirmed by the hospital (posted); disputed with a reason; corrected in full by a
            # red-letter line (unposted lines only); a red-letter line its issuer withdraws.
            IL.PENDING: {IL.CONFIRMED, IL.DISPUTED, IL.CORRECTED, IL.VOIDED},
            # The hospital withdraws its dispute (→ confirmed, posted then), or the distributor
            # corrects the line (red-letter + new invoice), or withdraws a disputed credit.
            IL.DISPUTED: {IL.CONFIRMED, IL.CORRECTED, IL.VOIDED},
            IL.CONFIRMED: set(),
            IL.CORRECTED: set(),
            IL.VOIDED: set(),
        }
    ),
    terms_of(IL),
)

A = ApplicationStatus
APPLICATION = Machine(
    "结算申请",
    _table(
        {
            A.FILED: {A.CONFIRMED, A.CLOSED, A.REFUND_DUE, A.WITHDRAWN},
            A.CONFIRMED: {A.APPROVED, A.PAID},  # a run of the agency, or the hospital's self-pay
            A.APPROVED: {A.PAID},
            A.REFUND_DUE: {A.REFUNDED},
            A.WITHDRAWN: set(),
            A.CLOSED: set(),
            A.PAID: set(),
            A.REFUNDED: set(),
        }
    ),
    terms_of(A),
)

SLS = SettlementLineStatus
SETTLEMENT_LINE = Machine(
    "结算明细",
    _table(
        {
            SLS.PENDING: {SLS.CONFIRMED, SLS.DISPUTED, SLS.WITHDRAWN},
            # Refiled in a later application, or its invoice line corrected / fully credited.
            SLS.DISPUTED: {SLS.REFILED, SLS.CORRECTED},
            SLS.CONFIRMED: set(),
            SLS.WITHDRAWN: set(),
            SLS.REFILED: set(),
            SLS.CORRECTED: set(),
        }
    ),
    terms_of(SLS),
)

RUN = Machine(
    "结算批次",
    _table({RunStatus.APPROVED: {RunStatus.PAID}, RunStatus.PAID: set()}),
    terms_of(RunStatus),
)

PAYMENT = Machine("付款", _table({PaymentStatus.RECORDED: set()}), terms_of(PaymentStatus))

PREPAYMENT = Machine(
    "预付",
    _table({PrepaymentStatus.GRANTED: {PrepaymentStatus.CLEARED}, PrepaymentStatus.CLEARED: set()}),
    terms_of(PrepaymentStatus),
)

D = PartyDecision
_DECISIONS = _table(
    {
        D.PENDING: {D.CONFIRMED, D.DISPUTED},
        # A dispute ends with a new version (the records were corrected) or with the party's
        # confirmation and a note of how it was resolved.
        D.DISPUTED: {D.CONFIRMED},
        D.CONFIRMED: set(),
    }
)
_DECISION_LABELS = terms_of(D)
STATEMENT_HOSPITAL = Machine("对账单（医院）", _DECISIONS, _DECISION_LABELS, attribute="hospital_decision")
STATEMENT_ENTERPRISE = Machine(
    "对账单（企业）", _DECISIONS, _DECISION_LABELS, attribute="enterprise_decision"
)

LS = ListingStatus
#: 挂网 (vbp-rules.md §3: applied → under review → listed → suspended → delisted). An application
#: waiting for the bureau is `applied`: approved it is listed, refused it is delisted (for good).
LISTING = Machine(
    "挂网",
    _table(
        {
            LS.APPLIED: {LS.LISTED, LS.DELISTED},
            LS.LISTED: {LS.SUSPENDED, LS.DELISTED},
            LS.SUSPENDED: {LS.LISTED, LS.DELISTED},
            LS.DELISTED: set(),
        }
    ),
    terms_of(LS),
)

UI = UpstreamInvoiceStatus
UPSTREAM_INVOICE = Machine(
    "上游发票",
    _table(
        {
            # Recorded by the buyer; the seller confirms or disputes; a dispute the seller
            # withdraws ends confirmed (the buyer corrects a wrong invoice by a red-letter one).
            UI.RECORDED: {UI.CONFIRMED, UI.DISPUTED},
            UI.DISPUTED: {UI.CONFIRMED},
            UI.CONFIRMED: set(),
        }
    ),
    terms_of(UI),
)

#: Every machine, for the walk test and the documentation.
ALL: dict[str, Machine] = {  # type: ignore[type-arg]
    "order": ORDER,
    "order_line": ORDER_LINE,
    "shipment_line": SHIPMENT_LINE,
    "receipt": RECEIPT,
    "return": RETURN,
    "invoice_line": INVOICE_LINE,
    "settlement_application": APPLICATION,
    "settlement_line": SETTLEMENT_LINE,
    "settlement_run": RUN,
    "payment": PAYMENT,
    "prepayment": PREPAYMENT,
    "statement_hospital": STATEMENT_HOSPITAL,
    "statement_enterprise": STATEMENT_ENTERPRISE,
    "listing": LISTING,
    "upstream_invoice": UPSTREAM_INVOICE,
}
