"""Stored reconciliation: province-wide runs (a snapshot of every open discrepancy, with totals
by party and status) and the monthly statements (对账单) both parties confirm.

A statement is a frozen snapshot: its data and digest are never updated (database triggers refuse
it), a confirmed statement is not changed at all, and a later change of the underlying records
produces the next version (three-flows.md, "Statements").
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, BigId, IdPK, str_enum


class ReconStatus(enum.StrEnum):
    """One reconciliation status per order line; the precedence lives in ledger.reconcile.rules."""

    DISPUTED = "disputed"
    OVERPAID = "overpaid"
    INVOICE_QTY_MISMATCH = "invoice_qty_mismatch"
    INVOICE_PRICE_MISMATCH = "invoice_price_mismatch"
    INVOICE_AMOUNT_MISMATCH = "invoice_amount_mismatch"
    PAYMENT_OVERDUE = "payment_overdue"
    AWAITING_PAYMENT = "awaiting_payment"
    INVOICE_OVERDUE = "invoice_overdue"
    AWAITING_INVOICE = "awaiting_invoice"
    SHORT_OR_REJECTED = "short_or_rejected"
    AWAITING_RECEIPT = "awaiting_receipt"
    CLOSED = "closed"
    SHIPMENT_OVERDUE = "shipment_overdue"
    AWAITING_SHIPMENT = "awaiting_shipment"
    COMPLETE = "complete"


class ReconciliationRun(Base):
    """One reconciliation of a slice (or the whole province), written in one unit of work."""

    __tablename__ = "reconciliation_runs"

    id: Mapped[IdPK]
    as_of: Mapped[datetime]
    #: The slice, as given ({"region_prefix": "5101", ...}; {} for the province).
    scope: Mapped[dict[str, Any]] = mapped_column(JSON)
    invoice_grace_days: Mapped[int] = mapped_column(Integer)
    line_count: Mapped[int] = mapped_column(BigInteger)
    finding_count: Mapped[int] = mapped_column(BigInteger)
    orphan_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    created_by: Mapped[int | None] = mapped_column(BigInteger)


class ReconciliationFinding(Base):
    """An order line that is not complete at the run's `as_of`, with its difference."""

    __tablename__ = "reconciliation_findings"

    id: Mapped[IdPK]
    run_id: Mapped[int] = mapped_column(BigId, ForeignKey("reconciliation_runs.id"), index=True)
    #: The order line and its parties, copied from order_lines by the statement that writes the
    #: run: the line's own keys vouch for them, so they carry no foreign keys of their own (a
    #: check per row and key was a third of a province's stored run on PostgreSQL).
    order_line_id: Mapped[int] = mapped_column(BigId, index=True)
    hospital_id: Mapped[int] = mapped_column(BigId)
    distributor_id: Mapped[int] = mapped_column(BigId)
    manufacturer_id: Mapped[int] = mapped_column(BigId)
    region_code: Mapped[str] = mapped_column(String(6))
    ordered_on: Mapped[date] = mapped_column(Date)
    status: Mapped[ReconStatus] = mapped_column(str_enum(ReconStatus, "recon_status"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    diff_qty: Mapped[int] = mapped_column(BigInteger)
    diff_fen: Mapped[int] = mapped_column(BigInteger)


class ReconciliationTotal(Base):
    """Lines and amounts per hospital × distributor × status of a run (complete lines included)."""

    __tablename__ = "reconciliation_totals"

    id: Mapped[IdPK]
    run_id: Mapped[int] = mapped_column(BigId, ForeignKey("reconciliation_runs.id"), index=True)
    #: Copied from the order lines like a finding's parties (no foreign keys of their own).
    hospital_id: Mapped[int] = mapped_column(BigId)
    distributor_id: Mapped[int] = mapped_column(BigId)
    status: Mapped[ReconStatus] = mapped_column(str_enum(ReconStatus, "recon_total_status"))
    lines: Mapped[int] = mapped_column(BigInteger)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    diff_qty: Mapped[int] = mapped_column(BigInteger)
    diff_fen: Mapped[int] = mapped_column(BigInteger)


class PartyDecision(enum.StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    DISPUTED = "disputed"


class Statement(Base):
    """对账单: one hospital × one distributor × one month, one row per version."""

    __tablename__ = "statements"
    __table_args__ = (
        UniqueConstraint("hospital_id", "enterprise_id", "period_month", "version", name="statement_version"),
    )

    id: Mapped[IdPK]
    hospital_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    #: The distributor that sold, invoiced and is paid (the seller on the lines).
    enterprise_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    period_month: Mapped[date] = mapped_column(Date, index=True)
    version: Mapped[int] = mapped_column(Integer)
    as_of: Mapped[datetime]
    generated_at: Mapped[datetime]
    #: Digest (per `suite`) of the canonical JSON of `payload` (the printed verification code).
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    #: Digest of the lines, totals and discrepancies only: unchanged data makes no new version.
    content_digest: Mapped[str] = mapped_column(String(64))
    #: Cryptographic suite of both digests, SHA-256 or SM3 (core/crypto_suites.py).
    suite: Mapped[str] = mapped_column(String(16), server_default="standard")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    line_count: Mapped[int] = mapped_column(Integer)
    order_amount_fen: Mapped[int] = mapped_column(BigInteger)
    invoiced_fen: Mapped[int] = mapped_column(BigInteger)
    paid_fen: Mapped[int] = mapped_column(BigInteger)
    discrepancy_count: Mapped[int] = mapped_column(Integer)
    hospital_decision: Mapped[PartyDecision] = mapped_column(str_enum(PartyDecision, "hospital_decision"))
    hospital_reason: Mapped[str | None] = mapped_column(String(500))
    #: How the hospital's dispute was resolved (its note when it confirms after disputing).
    hospital_resolution: Mapped[str | None] = mapped_column(String(500))
    hospital_decided_at: Mapped[datetime | None]
    hospital_decided_by: Mapped[int | None] = mapped_column(BigInteger)
    enterprise_decision: Mapped[PartyDecision] = mapped_column(str_enum(PartyDecision, "enterprise_decision"))
    enterprise_reason: Mapped[str | None] = mapped_column(String(500))
    enterprise_resolution: Mapped[str | None] = mapped_column(String(500))
    enterprise_decided_at: Mapped[datetime | None]
    enterprise_decided_by: Mapped[int | None] = mapped_column(BigInteger)

    @property
    def state(self) -> PartyDecision:
        """Confirmed when both parties confirmed; disputed when either disputed."""
        decisions = {self.hospital_decision, self.enterprise_decision}
        if PartyDecision.DISPUTED in decisions:
            return PartyDecision.DISPUTED
        if decisions == {PartyDecision.CONFIRMED}:
            return PartyDecision.CONFIRMED
        return PartyDecision.PENDING
