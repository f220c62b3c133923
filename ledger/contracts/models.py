"""Procurement agreements (带量采购购销协议) as records: one per hospital × winner (manufacturer) ×
cycle year of a batch, with its lines (one per allocation), its PDF versions and the signing
certificates of the parties.

An agreement is never edited: a renewal for the next cycle year is a new agreement pointing at
the one it renews (`renews_id`), and every signature makes a new PDF version (an incremental
update of the previous one), so earlier versions stay verifiable.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, BigId, IdPK, str_enum


class AgreementStatus(enum.StrEnum):
    GENERATED = "generated"
    SIGNED_BY_HOSPITAL = "signed_by_hospital"
    SIGNED_BY_ENTERPRISE = "signed_by_enterprise"
    SIGNED = "signed"
    SUPERSEDED = "superseded"
    TERMINATED = "terminated"


class Party(enum.StrEnum):
    """Who signs: the hospital (甲方) or the winning enterprise (乙方)."""

    HOSPITAL = "hospital"
    ENTERPRISE = "enterprise"


class ProcurementAgreement(Base):
    """购销协议 between a hospital and a winner for one cycle year of a batch (vbp-rules.md §1.8)."""

    __tablename__ = "procurement_agreements"
    __table_args__ = (
        UniqueConstraint("batch_id", "hospital_id", "manufacturer_id", "cycle_year", name="one_per_year"),
        CheckConstraint("cycle_year >= 1", name="cycle_year_positive"),
        CheckConstraint("starts_on <= ends_on", name="period_order"),
        CheckConstraint("amount_fen >= 0", name="amount_non_negative"),
    )

    id: Mapped[IdPK]
    #: Printed on the PDF and looked up by the public verification page.
    number: Mapped[str] = mapped_column(String(40), unique=True)
    batch_id: Mapped[int] = mapped_column(BigId, ForeignKey("procurement_batches.id"), index=True)
    hospital_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    manufacturer_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    #: 1 for the cycle's first year; renewed each year (§1.8).
    cycle_year: Mapped[int] = mapped_column(Integer)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    status: Mapped[AgreementStatus] = mapped_column(str_enum(AgreementStatus, "agreement_status"), index=True)
    #: The agreement of the previous cycle year this one renews; at most one renewal each.
    renews_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("procurement_agreements.id"), unique=True)
    #: Authorized distributors for the hospital's region when generated: [{"id", "name"}].
    distributors: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    #: Sum of the lines' amounts (each rounded to fen once).
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    #: SHA-256 of the agreement's canonical content, printed on the PDF as its version.
    content_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    hospital_signed_at: Mapped[datetime | None]
    enterprise_signed_at: Mapped[datetime | None]
    #: When it left force: superseded by its renewal or terminated by the bureau.
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(500))

    lines: Mapped[list[AgreementLine]] = relationship(order_by="AgreementLine.id")


class AgreementLine(Base):
    """One product of the agreement: the allocation's agreed yearly volume at the winning price."""

    __tablename__ = "procurement_agreement_lines"
    __table_args__ = (
        UniqueConstraint("agreement_id", "allocation_id", name="one_per_allocation"),
        CheckConstraint("agreed_quantity >= 0", name="agreed_non_negative"),
    )

    id: Mapped[IdPK]
    agreement_id: Mapped[int] = mapped_column(BigId, ForeignKey("procurement_agreements.id"), index=True)
    allocation_id: Mapped[int] = mapped_column(BigId, ForeignKey("volume_allocations.id"), index=True)
    item_id: Mapped[int] = mapped_column(BigId, ForeignKey("batch_items.id"))
    award_id: Mapped[int] = mapped_column(BigId, ForeignKey("awards.id"))
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id"))
    #: Agreed quantity for the cycle year, in minimum units (片/支), from the allocation (§1.6).
    agreed_quantity: Mapped[int] = mapped_column(BigInteger)
    #: Winning price per minimum unit (yuan × 10⁴) and per pack (fen), from the award.
    unit_price_e4: Mapped[int] = mapped_column(BigInteger)
    pack_price_fen: Mapped[int] = mapped_column(BigInteger)
    #: agreed_quantity × unit price, rounded to fen once (core.money).
    amount_fen: Mapped[int] = mapped_column(BigInteger)


class AgreementDocument(Base):
    """One version of the agreement's PDF: 1 as generated, then one per signature."""

    __tablename__ = "agreement_documents"
    __table_args__ = (UniqueConstraint("agreement_id", "version", name="one_per_version"),)

    id: Mapped[IdPK]
    agreement_id: Mapped[int] = mapped_column(BigId, ForeignKey("procurement_agreements.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    #: SHA-256 of the file: how an uploaded PDF is recognized.
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    #: The party whose signature this version added (NULL: the unsigned version 1).
    signed_by: Mapped[Party | None] = mapped_column(str_enum(Party, "agreement_party"))
    certificate_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("signing_certificates.id"))
    #: What `core.pades.extra_signature` added (the domestic suite's SM2 signature), if anything.
    extra_signature: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]


class SigningCertificate(Base):
    """An organization's signing certificate: issued by the platform CA, or imported (PKCS#12)."""

    __tablename__ = "signing_certificates"

    id: Mapped[IdPK]
    org_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    #: SHA-256 of the DER certificate.
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    subject: Mapped[str] = mapped_column(String(500))
    serial_hex: Mapped[str] = mapped_column(String(64))
    #: "platform" (issued here) or "imported".
    source: Mapped[str] = mapped_column(String(20))
    cert_pem: Mapped[str] = mapped_column(Text)
    #: The issuers above it, up to the trust root.
    chain_pem: Mapped[str] = mapped_column(Text)
    #: PKCS#8 PEM encrypted under VBP_PKI_KEY_PASSWORD (never stored in the clear).
    key_pkcs8: Mapped[bytes] = mapped_column(LargeBinary)
    #: The domestic suite's SM2 key of this certificate's holder (ledger/contracts/sm2.py), made on
    #: its first signature under VBP_CRYPTO_SUITE=sm; the private key sealed with SM4-GCM under a
    #: key derived from VBP_PKI_KEY_PASSWORD.
    sm2_public_pem: Mapped[str | None] = mapped_column(Text)
    sm2_key_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    not_before: Mapped[datetime]
    not_after: Mapped[datetime]
    #: The one the organization signs with; importing another retires the previous one.
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]
