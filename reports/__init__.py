"""Documents and indicators: reconciliation statements (PDF), procurement-rate indicator reports
(JSON/xlsx/PDF) computed from the ledger (vbp-rules.md §6, policy-basis.md).

Computed first (dataclasses), rendered second. Depends on `core`, `bidding` and `ledger`.
"""
