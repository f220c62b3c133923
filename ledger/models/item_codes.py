"""Hospital item-code mappings (院内编码对照): a hospital's own item codes for platform products
(shared/domain/supervision-and-interop.md §4: hospitals map them by hand today)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bidding.models import Product
from core.change_stamps import ChangeStamped
from core.db import Base, BigId, IdPK


class HospitalItemCode(ChangeStamped, Base):
    """One mapping from a hospital's item code to a product. A remap is a new row that points at
    the row it supersedes (which stops being live); rows are never edited otherwise."""

    __tablename__ = "hospital_item_codes"
    __table_args__ = (
        # One live mapping per hospital and item code; superseded rows stay as history.
        Index(
            "uq_hospital_item_codes_live",
            "hospital_id",
            "item_code",
            unique=True,
            sqlite_where=text("live"),
            postgresql_where=text("live"),
        ),
        Index("ix_hospital_item_codes_product", "hospital_id", "product_id"),
    )

    id: Mapped[IdPK]
    hospital_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"))
    #: The hospital's own code for the item (院内编码), as its HIS writes it.
    item_code: Mapped[str] = mapped_column(String(60))
    #: The hospital's own name for the item, when it gave one.
    item_name: Mapped[str | None] = mapped_column(String(200))
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id"))
    #: False once a later row supersedes it.
    live: Mapped[bool] = mapped_column(Boolean, default=True)
    #: The row this one replaces (a remap), NULL for a first mapping.
    supersedes_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("hospital_item_codes.id"), unique=True
    )
    created_at: Mapped[datetime]
    created_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("users.id"))

    product: Mapped[Product] = relationship()
