"""Three-flow reconciliation (三流合一): every order line against its logistics and money flows.

How it works (three-flows.md): each flow is aggregated per `order_line_id` in one GROUP BY pass
(shipments, receipts, returns, invoices with their settlement and payment), the passes are joined
onto the order lines, and one status per line is picked by the precedence in `rules.rules` — the only
place the order is written. It is all one SQL statement (a CASE over the joined aggregates), so a
province of a million lines is reconciled by the database, not by a Python loop per row.

Each status comes with the difference it measures, in quantity (packs) and fen, so a discrepancy
says how much is missing, not only that something is. Records that point at nothing valid (a
shipment on a line of another buyer, an invoice for a delivery of another line, a payment whose
application has nothing confirmed, a reused invoice number) are reported apart as orphans.

Matching rules are vbp-rules.md §5 ("three-way match per line"; exceptions: qty received ≠ qty
invoiced, invoiced price ≠ contract price, invoice without receipt, receipt without invoice after N
days, payment ≠ confirmed amount, duplicate invoice number). N is provincial practice, not a
national number: `Options.invoice_grace_days`, 30 by default, configurable per province.

`as_of` is the moment the reconciliation judges deadlines against (overdue shipment, payment due,
invoice overdue) and payments by (a payment counts from its own date, through the one payment clock
of ledger.figures.payments); the other records counted are those in the database when it runs.

Modules: `facts` (slices and the per-line aggregates of each flow), `rules` (the precedence),
`lines` (reading lines, counts and totals), `orphans`, `runs` (stored snapshots).
"""

from ledger.reconcile.facts import DEFAULTS, Options, Slice, facts, scoped_lines
from ledger.reconcile.lines import (
    SORTABLE,
    LineResult,
    StatusSummary,
    count_lines,
    reconcile_lines,
    summarize,
)
from ledger.reconcile.orphans import ORPHAN_LABELS, Orphan, OrphanKind, orphans
from ledger.reconcile.rules import IN_PROGRESS, LABELS, SETTLED, Rule, Status, classified, judged_at, rules
from ledger.reconcile.runs import run_reconciliation

__all__ = [
    "DEFAULTS",
    "IN_PROGRESS",
    "LABELS",
    "ORPHAN_LABELS",
    "SETTLED",
    "SORTABLE",
    "LineResult",
    "Options",
    "Orphan",
    "OrphanKind",
    "Rule",
    "Slice",
    "Status",
    "StatusSummary",
    "classified",
    "count_lines",
    "facts",
    "judged_at",
    "orphans",
    "reconcile_lines",
    "rules",
    "run_reconciliation",
    "scoped_lines",
    "summarize",
]
