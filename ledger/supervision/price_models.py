"""Price governance records: imported files, other provinces' listed prices, the shortage-prone
list, and each listing's price history (supervision-and-interop.md §2, vbp-rules.md §8)."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, BigId, IdPK, str_enum


class ImportKind(enum.StrEnum):
    OTHER_PROVINCE_PRICES = "other_province_prices"  #: 外省挂网价
    SHORTAGE_LIST = "shortage_list"  #: 短缺药品清单


class ShortageListKind(enum.StrEnum):
    NATIONAL = "national"  #: 国家短缺药品清单
    PROVINCIAL = "provincial"  #: 省级短缺药品清单


class PriceRisk(enum.StrEnum):
    """A listing's price-risk level against its four-same group elsewhere (§2)."""

    RED = "red"  #: above the lowest elsewhere by more than price_risk_red_pct %
    YELLOW = "yellow"  #: above the median elsewhere by more than price_risk_yellow_pct %
    GREEN = "green"
    NONE = "none"  #: nothing to compare with


class PriceImport(Base):
    """One imported file; its SHA-256 is unique, so the same file twice is refused (409)."""

    __tablename__ = "price_imports"

    id: Mapped[IdPK]
    kind: Mapped[ImportKind] = mapped_column(str_enum(ImportKind, "price_import_kind"))
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(200))
    rows: Mapped[int] = mapped_column(Integer)
    imported_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))
    imported_at: Mapped[datetime]


class OtherProvincePrice(Base):
    """Another province's listed price of a product, as imported (source, province, date)."""

    __tablename__ = "other_province_prices"
    __table_args__ = (
        CheckConstraint("pack_price_fen > 0 OR unit_price_e4 > 0", name="a_price"),
        Index("ix_other_province_prices_group", "generic_key", "form_key", "spec_key"),
    )

    id: Mapped[IdPK]
    import_id: Mapped[int] = mapped_column(BigId, ForeignKey("price_imports.id"), index=True)
    generic_name: Mapped[str] = mapped_column(String(200))
    manufacturer_name: Mapped[str | None] = mapped_column(String(200))
    manufacturer_uscc: Mapped[str | None] = mapped_column(String(18))
    dosage_form: Mapped[str] = mapped_column(String(50))
    spec: Mapped[str] = mapped_column(String(100))
    product_code: Mapped[str | None] = mapped_column(String(40))
    #: The four-same identity, normalized once (prices.normalize).
    generic_key: Mapped[str] = mapped_column(String(200))
    manufacturer_key: Mapped[str | None] = mapped_column(String(200))
    form_key: Mapped[str] = mapped_column(String(50))
    spec_key: Mapped[str] = mapped_column(String(100))
    province_code: Mapped[str] = mapped_column(String(6))
    #: Per pack in fen, or per minimum unit in yuan×10⁴ (one of them).
    pack_price_fen: Mapped[int | None] = mapped_column(BigInteger)
    unit_price_e4: Mapped[int | None] = mapped_column(BigInteger)
    price_on: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class ShortageEntry(Base):
    """A product on a national or provincial shortage-prone list (短缺药品清单, vbp-rules.md §8)."""

    __tablename__ = "shortage_entries"
    __table_args__ = (Index("ix_shortage_entries_name", "generic_key", "form_key"),)

    id: Mapped[IdPK]
    import_id: Mapped[int] = mapped_column(BigId, ForeignKey("price_imports.id"), index=True)
    list_kind: Mapped[ShortageListKind] = mapped_column(str_enum(ShortageListKind, "shortage_list_kind"))
    generic_name: Mapped[str] = mapped_column(String(200))
    dosage_form: Mapped[str] = mapped_column(String(50))
    spec: Mapped[str | None] = mapped_column(String(100))
    product_code: Mapped[str | None] = mapped_column(String(40), index=True)
    generic_key: Mapped[str] = mapped_column(String(200))
    form_key: Mapped[str] = mapped_column(String(50))
    #: NULL: every specification of the generic name and form.
    spec_key: Mapped[str | None] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(200))
    listed_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime]


class ListingPrice(Base):
    """A listing's price from a moment on: written wherever a listing's price is set."""

    __tablename__ = "listing_prices"
    __table_args__ = (Index("ix_listing_prices_listing", "listing_id", "effective_at"),)

    id: Mapped[IdPK]
    listing_id: Mapped[int] = mapped_column(BigId, ForeignKey("listings.id"))
    pack_price_fen: Mapped[int] = mapped_column(BigInteger)
    effective_at: Mapped[datetime]
    #: "create" or "change".
    reason: Mapped[str] = mapped_column(String(20))
