"""The three-flow ledger (三流合一): listings and orders (information flow), shipments, receipts and
returns (logistics flow), invoices, direct settlement, payments and the double-entry journal
(money flow), and the reconciliation that links them (vbp-rules.md §3–§5).

Plain Python + SQLAlchemy; depends on `core` and `bidding`.
"""
