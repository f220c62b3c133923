"""Direct settlement (医保基金直接结算, vbp-rules.md §4.3): applications, hospital confirmation,
approved runs, payments, the deduction from the hospital's fund settlement, and prepayments (§4.2)."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, BigId, IdPK, str_enum


class ApplicationStatus(enum.StrEnum):
    FILED = "filed"
    CONFIRMED = "confirmed"  #: the hospital checked every line (some may be disputed)
    APPROVED = "approved"  #: in a settlement run approved by the insurance agency
    PAID = "paid"


class SettlementLineStatus(enum.StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    DISPUTED = "disputed"  #: stays open in the ledger as an exception (E11)


class PaymentSource(enum.StrEnum):
    FUND = "fund"  #: paid by the fund, deducted from the hospital's fund settlement
    PREPAYMENT = "prepayment"  #: drawn from the hospital's prepayment balance
    SELF_PAY = "self_pay"  #: the hospital paid the enterprise itself


class SettlementApplication(Base):
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
    confirmed_at: Mapped[datetime | None]
    run_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("settlement_runs.id"), index=True)

    lines: Mapped[list[SettlementLine]] = relationship(
        back_populates="application", order_by="SettlementLine.id"
    )


class SettlementLine(Base):
    __tablename__ = "settlement_lines"
    __table_args__ = (
        # An invoice line is in at most one open (not disputed) settlement line.
        Index(
            "uq_settlement_lines_open",
            "invoice_line_id",
            unique=True,
            sqlite_where=text("status <> 'disputed'"),
            postgresql_where=text("status <> 'disputed'"),
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

    application: Mapped[SettlementApplication] = relationship(back_populates="lines")


class SettlementRun(Base):
    """A monthly settlement run approved by the insurance agency (经办机构)."""

    __tablename__ = "settlement_runs"

    id: Mapped[IdPK]
    period_month: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[str] = mapped_column(String(20))  #: approved | paid
    total_fen: Mapped[int] = mapped_column(BigInteger)
    approved_at: Mapped[datetime]
    approved_by: Mapped[int | None] = mapped_column(BigInteger)
    paid_at: Mapped[datetime | None]


class Payment(Base):
    """The payment of one application to its enterprise; one per application, ever."""

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


class FundSettlement(Base):
    """A hospital's monthly insurance settlement and what direct payments deducted from it (E11)."""

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
