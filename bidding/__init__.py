"""Tendering: catalogue, procurement batches and rule sets, demand reports, sealed bids, opening,
winner selection and agreed-volume allocation (vbp-rules.md §0–§2, §7).

Plain Python + SQLAlchemy; depends on `core` only.
"""
