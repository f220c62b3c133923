"""Direct settlement (医保基金直接结算, vbp-rules.md §4.3): applications, hospital confirmation,
approved runs, payments, the deduction from the hospital's fund settlement, and prepayments (§4.2)."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.change_stamps import ChangeStamped
from core.db import Base, BigId, IdPK, str_enum


class ApplicationStatus(enum.StrEnum):
    FILED = "filed"
    WITHDRAWN = "withdrawn"  #: the enterprise withdrew it before confirmation; its lines are free again
    CONFIRMED = "confirmed"  #: the hospital checked every line and the confirmed net is positive
    #: Confirmed with nothing to pay (every line disputed, or credits equal to the invoices).
    CLOSED = "closed"
    #: Confirmed net negative: credits exceed the invoices, the enterprise owes a refund.
    REFUND_DUE = "refund_due"
    APPROVED = "approved"  #: in a settlement run approved by the insurance agency
    PAID = "paid"
    REFUNDED = "refunded"  #: the enterprise's refund was received (recorded by the agency)


class SettlementLineStatus(enum.StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    DISPUTED = "disputed"  #: stays open until refiled or corrected (E11, three-flows.md)
    WITHDRAWN = "withdrawn"  #: its application was withdrawn before confirmation
    REFILED = "refiled"  #: a disputed line filed again in a later application
    #: A disputed line whose invoice line was corrected (red-letter) or fully credited.
    CORRECTED = "corrected"


#: Settlement-line states that hold their invoice line (one such line per invoice line, ever).
HOLDING_SETTLEMENT_STATES = (SettlementLineStatus.PENDING, SettlementLineStatus.CONFIRMED)


class RunStatus(enum.StrEnum):
    APPROVED = "approved"
    PAID = "paid"


class PaymentStatus(enum.StrEnum):
    RECORDED = "recorded"  #: a payment (or refund) is a fact with its bank reference; never edited


class PrepaymentStatus(enum.StrEnum):
    GRANTED = "granted"
    CLEARED = "cleared"  #: year-end clearing returned the undrawn remainder


class PaymentSource(enum.StrEnum):
    FUND = "fund"  #: paid by the fund, deducted from the hospital's fund settlement
    PREPAYMENT = "prepayment"  #: drawn from the hospital's prepayment balance
    SELF_PAY = "self_pay"  #: the hospital paid the enterprise itself


class SettlementApplication(ChangeStamped, Base):
    """An enterprise's monthly application for one hospital: last month's confirmed invoice lines,
    returns and price adjustments netted (Jiangsu 苏医保函〔2025〕147号, §4.3)."""

    __tablename__ = "settlement_applications"

    id: Mapped[IdPK]
    enterprise_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    hospital_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    #: First day of the month whose transactions are settled.
    period_month: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[ApplicationStatus] = mapped_column(str_enum(ApplicationStatus, "application_status"))
    net_fen: Mapped[int] = mapped_column(BigInteger)
    confirmed_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    disputed_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    filed_at: Mapped[datetime]
    #: Filed after the filing deadline (the 5th of the next month, §4.3) — recorded, not refused.
    filed_late: Mapped[bool] = mapped_column(Boolean)
    #: The hospital confirms within 5 working days of filing (vbp-rules.md §4.3 step 3).
    confirm_by: Mapped[date] = mapped_column(Date, index=True)
    #: When the confirmation window was found passed and the bureau was alerted (escalation).
    confirmation_overdue_at: Mapped[datetime | None]
    #: Set when the confirmation was deemed by the platform after the window (a provincial option).
    deemed_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    confirmed_at: Mapped[datetime | None]
    run_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("settlement_runs.id"), index=True)

    lines: Mapped[list[SettlementLine]] = relationship(
        back_populates="application", order_by="SettlementLine.id"
    )


class SettlementLine(ChangeStamped, Base):
    __tablename__ = "settlement_lines"
    __table_args__ = (
        # An invoice line is held by at most one pending or confirmed settlement line, ever.
        Index(
            "uq_settlement_lines_open",
            "invoice_line_id",
            unique=True,
            sqlite_where=text("status IN ('pending', 'confirmed')"),
            postgresql_where=text("status IN ('pending', 'confirmed')"),
        ),
    )

    id: Mapped[IdPK]
    application_id: Mapped[int] = mapped_column(BigId, ForeignKey("settlement_applications.id"), index=True)
    invoice_line_id: Mapped[int] = mapped_column(BigId, ForeignKey("invoice_lines.id"))
    order_line_id: Mapped[int] = mapped_column(BigId, ForeignKey("order_lines.id"), index=True)
    hospital_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"))
    enterprise_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"))
    #: Signed: red-letter lines are negative and net the application.
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[SettlementLineStatus] = mapped_column(
        str_enum(SettlementLineStatus, "settlement_line_status")
    )
    dispute_reason: Mapped[str | None] = mapped_column(String(500))
    #: The disputed line this one refiles (its way out, E11).
    refiles_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("settlement_lines.id"))

    application: Mapped[SettlementApplication] = relationship(back_populates="lines")


class SettlementRun(Base):
    """A monthly settlement run approved by the insurance agency (经办机构)."""

    __tablename__ = "settlement_runs"

    id: Mapped[IdPK]
    period_month: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[RunStatus] = mapped_column(str_enum(RunStatus, "run_status"))
    total_fen: Mapped[int] = mapped_column(BigInteger)
    approved_at: Mapped[datetime]
    approved_by: Mapped[int | None] = mapped_column(BigInteger)
    paid_at: Mapped[datetime | None]


class Payment(ChangeStamped, Base):
    """The payment of one application to its enterprise, one per application, ever; a negative
    amount is the enterprise's refund of a credit application (recorded by the agency)."""

    __tablename__ = "payments"

    id: Mapped[IdPK]
    application_id: Mapped[int] = mapped_column(BigId, ForeignKey("settlement_applications.id"), unique=True)
    run_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("settlement_runs.id"), index=True)
    enterprise_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    hospital_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[PaymentSource] = mapped_column(str_enum(PaymentSource, "payment_source"))
    bank_reference: Mapped[str] = mapped_column(String(60))
    paid_on: Mapped[date] = mapped_column(Date, index=True)
    journal_entry_id: Mapped[int] = mapped_column(BigId, ForeignKey("journal_entries.id"), unique=True)
    created_at: Mapped[datetime]
    status: Mapped[PaymentStatus] = mapped_column(
        str_enum(PaymentStatus, "payment_status"), default=PaymentStatus.RECORDED
    )


class FundSettlement(Base):
    """A hospital's monthly insurance settlement and what direct payments deducted from it (E11).

    Deductions beyond the gross are a shortfall the agency collects from the hospital (托收,
    vbp-rules.md §4.3): `shortfall = max(0, deducted − gross)`, net of what was collected."""

    __tablename__ = "fund_settlements"
    __table_args__ = (
        UniqueConstraint("hospital_id", "period_month", name="uq_fund_settlements_hospital_month"),
    )

    id: Mapped[IdPK]
    hospital_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    period_month: Mapped[date] = mapped_column(Date)
    #: The fund's settlement due to the hospital before deductions (NULL until recorded).
    gross_fen: Mapped[int | None] = mapped_column(BigInteger)
    deducted_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    #: Shortfall collected from the hospital (托收) so far.
    collected_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime]


class Prepayment(Base):
    """预付: the fund advances a share of a hospital's annual agreed amount (§4.2); settlements draw
    it down; year-end clearing returns the remainder."""

    __tablename__ = "prepayments"
    __table_args__ = (UniqueConstraint("hospital_id", "year", name="uq_prepayments_hospital_year"),)

    id: Mapped[IdPK]
    hospital_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    share: Mapped[str] = mapped_column(String(8))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    drawn_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    cleared_fen: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    cleared_at: Mapped[datetime | None]
    status: Mapped[PrepaymentStatus] = mapped_column(
        str_enum(PrepaymentStatus, "prepayment_status"), default=PrepaymentStatus.GRANTED
    )


class FundCollection(Base):
    """托收: the agency collects a hospital's shortfall (deductions beyond its fund settlement)."""

    __tablename__ = "fund_collections"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),)

    id: Mapped[IdPK]
    fund_settlement_id: Mapped[int] = mapped_column(BigId, ForeignKey("fund_settlements.id"), index=True)
    hospital_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    bank_reference: Mapped[str] = mapped_column(String(60))
    collected_on: Mapped[date] = mapped_column(Date)
    journal_entry_id: Mapped[int] = mapped_column(BigId, ForeignKey("journal_entries.id"), unique=True)
    created_at: Mapped[datetime]
