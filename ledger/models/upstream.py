"""The first invoice of 两票制 and the hops before it (vbp-rules.md §5, supervision-and-interop.md §6).

An upstream invoice is any invoice before the hospital's: manufacturer → distributor (第一票) or
distributor → distributor (a further hop). Its lines name the product and the batch (批号), so a
delivered batch can be walked back from the hospital's distributor to the manufacturer. The links
from the second invoice's lines to the first invoice's lines are explicit rows. Invoice images
(发票影像) are append-only records of either kind of invoice, the bytes kept in the database.
"""

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
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, BigId, IdPK, str_enum
from ledger.models.money import InvoiceKind


class UpstreamInvoiceStatus(enum.StrEnum):
    """Recorded by the buyer (it holds the paper); the seller confirms it or disputes it.
    A disputed invoice links nothing and counts as no hop (ledger/two_invoice.py)."""

    RECORDED = "recorded"  #: 待销方确认
    CONFIRMED = "confirmed"  #: 销方已确认
    DISPUTED = "disputed"  #: 销方有异议


class UpstreamInvoice(Base):
    __tablename__ = "upstream_invoices"
    __table_args__ = (
        UniqueConstraint("seller_id", "invoice_code", "invoice_number", name="uq_upstream_invoices_number"),
        CheckConstraint("seller_id <> buyer_id", name="two_parties"),
    )

    id: Mapped[IdPK]
    #: The manufacturer (第一票) or an upstream distributor.
    seller_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    #: The distributor that bought (and, in practice, records the invoice).
    buyer_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    invoice_code: Mapped[str] = mapped_column(String(20))
    invoice_number: Mapped[str] = mapped_column(String(20))
    issued_on: Mapped[date] = mapped_column(Date)
    #: VAT rate as decimal text ("0.13"); amounts are tax-inclusive.
    tax_rate: Mapped[str] = mapped_column(String(8))
    kind: Mapped[InvoiceKind] = mapped_column(str_enum(InvoiceKind, "upstream_invoice_kind"))
    #: A red-letter upstream invoice points at the invoice it corrects.
    original_invoice_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("upstream_invoices.id"))
    status: Mapped[UpstreamInvoiceStatus] = mapped_column(
        str_enum(UpstreamInvoiceStatus, "upstream_invoice_status")
    )
    total_fen: Mapped[int] = mapped_column(BigInteger)
    dispute_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime]
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_at: Mapped[datetime | None]

    lines: Mapped[list[UpstreamInvoiceLine]] = relationship(
        back_populates="invoice", order_by="UpstreamInvoiceLine.id"
    )


class UpstreamInvoiceLine(Base):
    """A product and batch sold on an upstream invoice. Red-letter lines are negative and point at
    the line they credit. Seller, buyer and status are copied from the invoice, so the walk back
    reads one index: (buyer, product, batch)."""

    __tablename__ = "upstream_invoice_lines"
    __table_args__ = (
        CheckConstraint("quantity <> 0", name="quantity_non_zero"),
        CheckConstraint(
            "(quantity > 0 AND amount_fen > 0) OR (quantity < 0 AND amount_fen < 0)", name="sign"
        ),
        Index("ix_upstream_invoice_lines_chain", "buyer_id", "product_id", "batch_no"),
    )

    id: Mapped[IdPK]
    invoice_id: Mapped[int] = mapped_column(BigId, ForeignKey("upstream_invoices.id"), index=True)
    seller_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"))
    buyer_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"))
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id"))
    #: 批号, as on the shipment lines (ShipmentLine.batch_no).
    batch_no: Mapped[str] = mapped_column(String(40))
    quantity: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    credited_line_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("upstream_invoice_lines.id"))

    invoice: Mapped[UpstreamInvoice] = relationship(back_populates="lines")


class InvoiceLineSource(Base):
    """A second-invoice line (distributor → hospital) linked to an upstream line of the same
    product and batch bought by that distributor."""

    __tablename__ = "invoice_line_sources"
    __table_args__ = (
        UniqueConstraint("invoice_line_id", "upstream_line_id", name="uq_invoice_line_sources_link"),
    )

    id: Mapped[IdPK]
    invoice_line_id: Mapped[int] = mapped_column(BigId, ForeignKey("invoice_lines.id"), index=True)
    upstream_line_id: Mapped[int] = mapped_column(BigId, ForeignKey("upstream_invoice_lines.id"), index=True)
    created_at: Mapped[datetime]


class SupplyChainRole(Base):
    """What the bureau records about an organization for the two-invoice count (vbp-rules.md §5):
    a remote township or village hospital (one more invoice allowed); a sole sales subsidiary of a
    MAH or the sole domestic general agent of an imported drug (counts as that manufacturer); the
    distribution group a distributor belongs to (transfers inside a group are no hop)."""

    __tablename__ = "supply_chain_roles"
    __table_args__ = (CheckConstraint("acts_as_manufacturer_for_id <> organization_id", name="not_itself"),)

    id: Mapped[IdPK]
    organization_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), unique=True)
    remote_township: Mapped[bool] = mapped_column(Boolean, default=False)
    acts_as_manufacturer_for_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("organizations.id"))
    distribution_group: Mapped[str | None] = mapped_column(String(60))
    updated_at: Mapped[datetime]
    updated_by: Mapped[int | None] = mapped_column(BigInteger)


class InvoiceImage(Base):
    """发票影像: a PDF, OFD, JPEG or PNG of a first or second invoice. Never updated: a replacement
    is a new record pointing at the one it replaces."""

    __tablename__ = "invoice_images"
    __table_args__ = (
        CheckConstraint("(invoice_id IS NULL) <> (upstream_invoice_id IS NULL)", name="one_invoice"),
        CheckConstraint("size_bytes > 0", name="not_empty"),
    )

    id: Mapped[IdPK]
    invoice_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("invoices.id"), index=True)
    upstream_invoice_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("upstream_invoices.id"), index=True
    )
    #: The type sniffed from the bytes (what the platform serves), never the declared one.
    content_type: Mapped[str] = mapped_column(String(40))
    #: The uploaded name, reduced to safe characters; only shown, never used as a path.
    filename: Mapped[str] = mapped_column(String(120))
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    replaces_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("invoice_images.id"), unique=True)
    uploaded_by_org_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"))
    uploaded_by: Mapped[int | None] = mapped_column(BigInteger)
    uploaded_at: Mapped[datetime]
    #: Loaded only when the image itself is served.
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
