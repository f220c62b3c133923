"""Money flow (资金流): invoices, and the double-entry journal every money event posts to."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.change_stamps import ChangeStamped
from core.db import Base, BigId, IdPK, str_enum


class InvoiceKind(enum.StrEnum):
    NORMAL = "normal"  #: 蓝字发票
    RED = "red"  #: 红字发票 (credit note for returns and price adjustments, §5)


class InvoiceLineStatus(enum.StrEnum):
    """Posted to the journal only when confirmed; corrected and voided lines never were."""

    PENDING = "pending"  #: 待确认
    CONFIRMED = "confirmed"  #: 已确认 (posted)
    DISPUTED = "disputed"  #: 有异议 (not posted)
    #: 已冲红更正: an unposted line (pending or disputed) cancelled in full by a red-letter line,
    #: and that red-letter line itself; neither is ever posted.
    CORRECTED = "corrected"
    #: 已作废: a red-letter line its issuer withdrew before the hospital confirmed it.
    VOIDED = "voided"


class Invoice(ChangeStamped, Base):
    """An invoice from a distributor to a hospital (the second invoice of 两票制, §5)."""

    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("issuer_id", "invoice_code", "invoice_number", name="one_per_number"),)

    id: Mapped[IdPK]
    issuer_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    hospital_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    #: 发票代码 and 发票号码 (a full digital invoice has an empty code and a 20-digit number).
    invoice_code: Mapped[str] = mapped_column(String(20))
    invoice_number: Mapped[str] = mapped_column(String(20))
    issued_on: Mapped[date] = mapped_column(Date)
    #: VAT rate as decimal text ("0.13"); amounts are tax-inclusive (§6).
    tax_rate: Mapped[str] = mapped_column(String(8))
    kind: Mapped[InvoiceKind] = mapped_column(str_enum(InvoiceKind, "invoice_kind"))
    #: Red-letter invoices point at the invoice they correct.
    original_invoice_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("invoices.id"))
    total_fen: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]

    lines: Mapped[list[InvoiceLine]] = relationship(back_populates="invoice", order_by="InvoiceLine.id")


class InvoiceLine(ChangeStamped, Base):
    """One invoiced quantity of an accepted receipt line, at the order line's frozen price.

    Red-letter lines carry negative quantity and amount and point at the line they correct."""

    __tablename__ = "invoice_lines"
    __table_args__ = (
        CheckConstraint("quantity <> 0", name="quantity_non_zero"),
        CheckConstraint(
            "(quantity > 0 AND amount_fen > 0) OR (quantity < 0 AND amount_fen < 0)", name="sign"
        ),
    )

    id: Mapped[IdPK]
    invoice_id: Mapped[int] = mapped_column(BigId, ForeignKey("invoices.id"), index=True)
    receipt_line_id: Mapped[int] = mapped_column(BigId, ForeignKey("receipt_lines.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(BigId, ForeignKey("order_lines.id"), index=True)
    hospital_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    #: The seller on this line: the distributor that issued the invoice (the enterprise paid).
    enterprise_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    credited_line_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("invoice_lines.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    pack_price_fen: Mapped[int] = mapped_column(BigInteger)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[InvoiceLineStatus] = mapped_column(str_enum(InvoiceLineStatus, "invoice_line_status"))
    dispute_reason: Mapped[str | None] = mapped_column(String(500))
    decided_at: Mapped[datetime | None]
    #: Payment due date: acceptance date + the payment terms (vbp-rules.md §4.1).
    due_on: Mapped[date] = mapped_column(Date, index=True)

    invoice: Mapped[Invoice] = relationship(back_populates="lines")


class AccountPurpose(enum.StrEnum):
    """Chart of accounts: one account per party and purpose (three-flows.md).

    Each party's side of a relationship is its own account (a hospital's payable and the
    enterprise's receivable; the fund's settlement owed and the hospital's claim), so every
    party's balances can be checked against the flows on their own (`ledger.journal_check`)."""

    FUND_CASH = "fund_cash"  #: the insurance fund's money (asset)
    #: The fund's settlements owed to a hospital (the fund's liability, per hospital).
    FUND_SETTLEMENTS = "fund_settlements"
    #: A shortfall the fund is owed by a hospital (托收 receivable, per hospital).
    FUND_SHORTFALL_RECEIVABLE = "fund_shortfall_receivable"
    HOSPITAL_FUND_CLAIM = "hospital_fund_claim"  #: what the fund owes a hospital (its insurance settlement)
    #: Direct payments beyond the hospital's fund settlement: what it owes the fund (托收, §4.3).
    HOSPITAL_FUND_SHORTFALL = "hospital_fund_shortfall"
    HOSPITAL_PREPAYMENT = "hospital_prepayment"  #: advance the fund paid a hospital (预付)
    HOSPITAL_PAYABLE = "hospital_payable"  #: what a hospital owes its suppliers
    HOSPITAL_PURCHASES = "hospital_purchases"  #: a hospital's confirmed purchases (expense)
    HOSPITAL_CASH = "hospital_cash"  #: a hospital paying directly (self-pay mode)
    ENTERPRISE_RECEIVABLE = "enterprise_receivable"  #: what an enterprise is owed
    ENTERPRISE_SALES = "enterprise_sales"  #: an enterprise's confirmed sales (revenue)
    ENTERPRISE_CASH = "enterprise_cash"  #: money an enterprise received


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("purpose", "party_key", name="one_per_party_purpose"),)

    id: Mapped[IdPK]
    purpose: Mapped[AccountPurpose] = mapped_column(str_enum(AccountPurpose, "account_purpose"))
    #: The organization the account belongs to; NULL for the fund's own accounts.
    party_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    #: party_id or 0 (uniqueness on both databases).
    party_key: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]


class JournalEntry(Base):
    """A balanced, immutable journal entry. `business_key` makes every posting idempotent: the same
    payment (or confirmation, or reversal) can never post twice."""

    __tablename__ = "journal_entries"

    id: Mapped[IdPK]
    business_key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    description: Mapped[str] = mapped_column(String(300))
    occurred_on: Mapped[date] = mapped_column(Date, index=True)
    #: A correction is a reversal entry pointing at the entry it reverses, never an edit.
    reversal_of_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("journal_entries.id"), unique=True)
    created_at: Mapped[datetime]

    postings: Mapped[list[Posting]] = relationship(back_populates="entry", order_by="Posting.id")


class Posting(Base):
    """One side of an entry: positive = debit, negative = credit, in fen. An entry's postings sum to 0."""

    __tablename__ = "postings"
    __table_args__ = (CheckConstraint("amount_fen <> 0", name="amount_non_zero"),)

    id: Mapped[IdPK]
    entry_id: Mapped[int] = mapped_column(BigId, ForeignKey("journal_entries.id"), index=True)
    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    #: The order line this money belongs to (three-flow link), when there is one.
    order_line_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("order_lines.id"), index=True)
    #: The entry's business date, repeated: the month partition key on PostgreSQL (core/partitions.py).
    occurred_on: Mapped[date] = mapped_column(Date)

    entry: Mapped[JournalEntry] = relationship(back_populates="postings")
