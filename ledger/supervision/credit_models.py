"""What a credit rating suspended (信用评价联动): one row per listing or distribution authorization a
rating holds suspended, so a repair restores exactly what that rating suspended (vbp-rules.md §7).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, BigId, IdPK


class CreditSuspension(Base):
    """A rating holds one listing (or one distributor's authorization) suspended.

    A listing already suspended by another in-force rating gets a row too (joint cover, no second
    transition): a repair restores a listing only when no other row still holds it. A listing the
    bureau suspended for another reason gets no row and is never touched by a repair.
    """

    __tablename__ = "credit_suspensions"
    __table_args__ = (
        CheckConstraint("(listing_id IS NULL) <> (authorization_id IS NULL)", name="one_subject"),
        Index("ix_credit_suspensions_listing", "listing_id", "restored_at"),
        Index("ix_credit_suspensions_authorization", "authorization_id", "restored_at"),
    )

    id: Mapped[IdPK]
    rating_id: Mapped[int] = mapped_column(BigId, ForeignKey("credit_ratings.id"), index=True)
    listing_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("listings.id"))
    authorization_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("distribution_authorizations.id"))
    #: True when this rating moved the record (False: it joined a suspension another rating made).
    moved: Mapped[bool] = mapped_column(Boolean)
    suspended_at: Mapped[datetime]
    restored_at: Mapped[datetime | None]
