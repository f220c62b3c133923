"""One derivation per figure (three-flows.md: "every figure is derived in one place and read by the
API, the pages, reconciliation, statements and reports alike"). Plain Python + SQLAlchemy; the SQL
pieces are subqueries and column expressions, so per-line reads and province-wide aggregates use the
same definition and stay set-based.

* cycle year and 序时进度 — `cycle.cycle_year`, `cycle.time_elapsed_pct`: agreed-volume progress
  (API, page), indicators, retained savings;
* amount and units bought (actual spend) — `purchases.purchase_flows`, `bought_fen`, `bought_units`:
  indicators (platform amount, winner share, savings), retained savings;
* completed units — `purchases.completed_units`: agreed-volume progress, indicators, retained savings;
* due / overdue / on time — `payments.invoice_line_clock`: /invoice-lines/overdue, reconciliation
  (hence statements and the receivables page), the on-time payment indicator;
* retained savings — `savings.batch_retained_savings` (through `money_rules.retained_savings`):
  GET /retained-savings, indicators;
* a rate against its target — `rates.meets`, `rates.printed_rate`, `rates.percent`: indicator JSON,
  xlsx, PDF and pages; agreed-volume progress.
"""

from ledger.figures.cycle import CycleYear, cycle_year, cycle_years, time_elapsed_pct
from ledger.figures.payments import PAYABLE_STATUSES, invoice_line_clock
from ledger.figures.purchases import (
    between,
    bought_fen,
    bought_units,
    completed_units,
    in_cycle_year,
    purchase_flows,
)
from ledger.figures.rates import meets, percent, printed_rate
from ledger.figures.savings import BatchSavings, HospitalSavings, batch_retained_savings

__all__ = [
    "PAYABLE_STATUSES",
    "BatchSavings",
    "CycleYear",
    "HospitalSavings",
    "batch_retained_savings",
    "between",
    "bought_fen",
    "bought_units",
    "completed_units",
    "cycle_year",
    "cycle_years",
    "in_cycle_year",
    "invoice_line_clock",
    "meets",
    "percent",
    "printed_rate",
    "purchase_flows",
    "time_elapsed_pct",
]
