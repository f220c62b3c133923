"""Order flow (信息流): listings (挂网), distribution authorizations, orders and order lines."""

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
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bidding.models import Product
from core.change_stamps import ChangeStamped
from core.db import Base, BigId, IdPK, str_enum
from core.organizations import Organization
from ledger.supervision.price_models import PriceRisk


class ListingMode(enum.StrEnum):
    """The three procurement modes of a provincial platform (vbp-rules.md §3, S27)."""

    VOLUME_BASED = "volume_based"  #: 带量采购, at the winning price
    PRICE_LINKED = "price_linked"  #: 价格联动采购, enterprise-applied price checked against caps
    FILED = "filed"  #: 备案采购, a hospital's filed off-list / urgent purchase


class ListingStatus(enum.StrEnum):
    APPLIED = "applied"
    LISTED = "listed"
    SUSPENDED = "suspended"
    DELISTED = "delisted"


class Urgency(enum.StrEnum):
    NORMAL = "normal"  #: 24 h (§5, UNVERIFIED provincial term)
    EMERGENCY = "emergency"  #: 4 h
    REMOTE = "remote"  #: 72 h for remote areas


class OrderStatus(enum.StrEnum):
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class OrderLineStatus(enum.StrEnum):
    OPEN = "open"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REFUSED = "refused"


class PurchaseCategory(enum.StrEnum):
    """Categories of the online-procurement-rate indicator (vbp-rules.md §6)."""

    DRUGS = "drugs"  #: 药品（不含中药饮片）
    TCM_PIECES = "tcm_pieces"  #: 中药饮片 (excluded from the drug online rate)
    HIGH_VALUE_CONSUMABLES = "high_value_consumables"  #: 高值医用耗材
    OTHER_CONSUMABLES = "other_consumables"


class Listing(ChangeStamped, Base):
    """A product a hospital may order, at a price, in a procurement mode (挂网)."""

    __tablename__ = "listings"
    __table_args__ = (
        CheckConstraint("pack_price_fen > 0", name="price_positive"),
        Index("ix_listings_lookup", "product_id", "region_code", "status"),
    )

    id: Mapped[IdPK]
    mode: Mapped[ListingMode] = mapped_column(str_enum(ListingMode, "listing_mode"))
    status: Mapped[ListingStatus] = mapped_column(str_enum(ListingStatus, "listing_status"), index=True)
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id"))
    #: The seller of record: the manufacturer (MAH) whose product it is.
    manufacturer_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    #: Prefecture-level region (6 digits) where it applies; "510000"-style codes cover the province.
    region_code: Mapped[str] = mapped_column(String(6))
    #: Price per pack, frozen onto order lines at order time.
    pack_price_fen: Mapped[int] = mapped_column(BigInteger)
    #: Volume-based listings: the award and the supply role (primary / backup / non_assigned).
    award_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("awards.id"), index=True)
    supply_role: Mapped[str | None] = mapped_column(String(20))
    #: Filed purchases: only this hospital may order; with its reason and the reference price.
    hospital_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("organizations.id"))
    reason: Mapped[str | None] = mapped_column(String(500))
    #: Reference price used in the check (lowest provincial listing / provincial reference), fen.
    reference_price_fen: Mapped[int | None] = mapped_column(BigInteger)
    #: True when the price is above the reference: a high-price risk warning (§3, S26).
    price_flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    status_reason: Mapped[str | None] = mapped_column(String(200))
    #: Four-same comparison with other provinces (ledger/supervision/prices.py), stored so pages
    #: and the API read one figure: risk level (PriceRisk), the lowest and median of the latest
    #: price per province elsewhere (fen per pack of this product), how many provinces, and when.
    price_risk: Mapped[str | None] = mapped_column(String(8))
    peer_lowest_fen: Mapped[int | None] = mapped_column(BigInteger)
    peer_median_fen: Mapped[int | None] = mapped_column(BigInteger)
    peer_count: Mapped[int | None] = mapped_column(Integer)
    price_risk_on: Mapped[date | None] = mapped_column(Date)
    #: Red-line price per pack for a non-volume-based listing of a variety with a winner
    #: (vbp-rules.md §1.7, §8); NULL when the variety has no winner.
    red_line_fen: Mapped[int | None] = mapped_column(BigInteger)
    #: The product is on a shortage-prone list (短缺药品, vbp-rules.md §8); a listing made through
    #: the shortage path was applied at a self-set price without the price-linked caps.
    shortage: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    shortage_direct: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    product: Mapped[Product] = relationship()

    @property
    def risk(self) -> PriceRisk | None:
        """The stored price-risk level as its enum (for its words in the glossary)."""
        return PriceRisk(self.price_risk) if self.price_risk else None


class DistributionAuthorization(Base):
    """A manufacturer authorizes a distributor (配送企业) for a product (or all) in a region (§5)."""

    __tablename__ = "distribution_authorizations"
    __table_args__ = (
        UniqueConstraint(
            "manufacturer_id", "distributor_id", "product_key", "region_code", name="one_per_scope"
        ),
    )

    id: Mapped[IdPK]
    manufacturer_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    distributor_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    #: NULL = every product of the manufacturer.
    product_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("products.id"))
    #: product_id or 0 (uniqueness on both databases; NULLs are distinct).
    product_key: Mapped[int] = mapped_column(BigInteger)
    region_code: Mapped[str] = mapped_column(String(6))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]

    distributor: Mapped[Organization] = relationship(foreign_keys=[distributor_id])


class Order(ChangeStamped, Base):
    __tablename__ = "orders"

    id: Mapped[IdPK]
    hospital_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    distributor_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(6))
    status: Mapped[OrderStatus] = mapped_column(str_enum(OrderStatus, "order_status"), index=True)
    urgency: Mapped[Urgency] = mapped_column(str_enum(Urgency, "urgency"))
    #: Delivery deadline (submitted_at + the urgency's time limit).
    deadline_at: Mapped[datetime]
    submitted_at: Mapped[datetime] = mapped_column(index=True)
    decided_at: Mapped[datetime | None]
    #: When a user of the distributor first opened the order, and who (supervision §1); later
    #: reads and the hospital's reads change nothing.
    first_read_at: Mapped[datetime | None]
    first_read_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    refusal_reason: Mapped[str | None] = mapped_column(String(500))
    note: Mapped[str | None] = mapped_column(String(500))

    lines: Mapped[list[OrderLine]] = relationship(back_populates="order", order_by="OrderLine.id")
    hospital: Mapped[Organization] = relationship(foreign_keys=[hospital_id])
    distributor: Mapped[Organization] = relationship(foreign_keys=[distributor_id])


class OrderLine(ChangeStamped, Base):
    """The unit of the three-flow ledger: everything downstream points at an order line.

    Carries hospital, seller, region and date itself (three-flows.md) so every flow can be summed
    per order line, hospital or enterprise without a chain of joins.
    """

    __tablename__ = "order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        # Rejected packs were never delivered: they can be re-shipped or cancelled (three-flows.md).
        CheckConstraint(
            "shipped_quantity - rejected_quantity + cancelled_quantity <= quantity", name="not_over_shipped"
        ),
        CheckConstraint(
            "accepted_quantity + rejected_quantity <= shipped_quantity", name="not_over_received"
        ),
        CheckConstraint("returned_quantity <= accepted_quantity", name="not_over_returned"),
        Index("ix_order_lines_hospital_date", "hospital_id", "ordered_on"),
        Index("ix_order_lines_manufacturer_date", "manufacturer_id", "ordered_on"),
    )

    id: Mapped[IdPK]
    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id"), index=True)
    hospital_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"))
    manufacturer_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"))
    distributor_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(6))
    listing_id: Mapped[int] = mapped_column(BigId, ForeignKey("listings.id"), index=True)
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id"))
    mode: Mapped[ListingMode] = mapped_column(str_enum(ListingMode, "line_mode"))
    #: Award this purchase counts toward (volume-based listings), for agreed-volume progress.
    award_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("awards.id"), index=True)
    #: Quantity in packs; the pack price is frozen from the listing at order time.
    quantity: Mapped[int] = mapped_column(Integer)
    pack_price_fen: Mapped[int] = mapped_column(BigInteger)
    #: quantity × pack price (exact integer fen; no rounding needed).
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    shipped_quantity: Mapped[int] = mapped_column(Integer, default=0)
    accepted_quantity: Mapped[int] = mapped_column(Integer, default=0)
    rejected_quantity: Mapped[int] = mapped_column(Integer, default=0)
    returned_quantity: Mapped[int] = mapped_column(Integer, default=0)
    cancelled_quantity: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[OrderLineStatus] = mapped_column(str_enum(OrderLineStatus, "order_line_status"))
    ordered_on: Mapped[date] = mapped_column(Date)

    order: Mapped[Order] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()


class OffPlatformPurchase(Base):
    """A hospital's monthly off-platform (线下) purchase amount by category, for the online rate."""

    __tablename__ = "off_platform_purchases"
    __table_args__ = (
        UniqueConstraint("hospital_id", "month", "category", name="one_per_month"),
        CheckConstraint("amount_fen >= 0", name="amount_non_negative"),
    )

    id: Mapped[IdPK]
    hospital_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    #: First day of the month.
    month: Mapped[date] = mapped_column(Date)
    category: Mapped[PurchaseCategory] = mapped_column(str_enum(PurchaseCategory, "purchase_category"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    reported_at: Mapped[datetime]


class ReferencePrice(Base):
    """A reference price the platform holds for a product: the lowest listing price on another
    provincial platform, a provincial monitoring price, a red-line price (vbp-rules.md §3, §8)."""

    __tablename__ = "reference_prices"

    id: Mapped[IdPK]
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id"), index=True)
    pack_price_fen: Mapped[int] = mapped_column(BigInteger)
    #: e.g. "other_province_lowest", "provincial_reference", "red_line".
    source: Mapped[str] = mapped_column(String(40))
    valid_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime]
