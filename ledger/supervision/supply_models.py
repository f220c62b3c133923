"""Supply guarantee records (供应保障, supervision-and-interop.md §1): out-of-stock markings, voided
lines, supply failures and backup activations with the volume they moved.

Every record is history: a correction or a reversal is a new row pointing at what it corrects, so
what the bureau saw at the time stays readable.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, BigId, IdPK


class StockOut(Base):
    """缺货: the distributor says a line cannot ship now, why, and when it expects to.

    A marking is live while `cleared_at` is NULL and the line has shipped nothing since
    (`shipped_at_mark`) and still has packs to ship; shipping, voiding or cancelling the line ends it
    without touching the row. Re-marking a live line is a new row pointing at the one it corrects
    (the old one gets `cleared_at`), so the history of promises stays.
    """

    __tablename__ = "stock_outs"
    __table_args__ = (Index("ix_stock_outs_live", "order_line_id", "cleared_at"),)

    id: Mapped[IdPK]
    order_line_id: Mapped[int] = mapped_column(BigId, ForeignKey("order_lines.id"))
    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id"), index=True)
    distributor_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    hospital_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    reason: Mapped[str] = mapped_column(String(500))
    expected_on: Mapped[date] = mapped_column(Date)
    #: The line's shipped quantity when marked: shipping more ends the marking.
    shipped_at_mark: Mapped[int] = mapped_column(Integer)
    marked_at: Mapped[datetime]
    marked_by: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    cleared_at: Mapped[datetime | None]
    corrects_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("stock_outs.id"))


class LineVoid(Base):
    """作废: what remained to ship on a line N days after ordering, cancelled by the platform."""

    __tablename__ = "line_voids"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[IdPK]
    order_line_id: Mapped[int] = mapped_column(BigId, ForeignKey("order_lines.id"), index=True)
    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id"), index=True)
    #: Packs voided.
    quantity: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200))
    voided_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime]


class SupplyFailure(Base):
    """断供: the bureau's record of a winner failing to supply a region, with the platform's evidence
    for a period (counts of lines and the delivery rate's packs, as computed when recorded)."""

    __tablename__ = "supply_failures"
    __table_args__ = (Index("ix_supply_failures_award_region", "award_id", "region_code"),)

    id: Mapped[IdPK]
    award_id: Mapped[int] = mapped_column(BigId, ForeignKey("awards.id"))
    manufacturer_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(6))
    first_day: Mapped[date] = mapped_column(Date)
    last_day: Mapped[date] = mapped_column(Date)
    ordered_lines: Mapped[int] = mapped_column(Integer)
    voided_lines: Mapped[int] = mapped_column(Integer)
    refused_lines: Mapped[int] = mapped_column(Integer)
    late_lines: Mapped[int] = mapped_column(Integer)
    ordered_packs: Mapped[int] = mapped_column(BigInteger)
    delivered_packs: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(String(1000))
    recorded_by: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    recorded_at: Mapped[datetime]


class BackupActivation(Base):
    """备供启用: the bureau switched an item × region from one award to another (the backup), or
    back (`reverses_id`)."""

    __tablename__ = "backup_activations"

    id: Mapped[IdPK]
    item_id: Mapped[int] = mapped_column(BigId, ForeignKey("batch_items.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(6))
    from_award_id: Mapped[int] = mapped_column(BigId, ForeignKey("awards.id"))
    to_award_id: Mapped[int] = mapped_column(BigId, ForeignKey("awards.id"))
    reason: Mapped[str] = mapped_column(String(500))
    supply_failure_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("supply_failures.id"))
    reverses_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("backup_activations.id"), unique=True)
    #: Minimum units moved in all (the sum of its volume moves).
    moved_units: Mapped[int] = mapped_column(BigInteger)
    activated_by: Mapped[int] = mapped_column(BigId, ForeignKey("users.id"))
    activated_at: Mapped[datetime]


class VolumeMove(Base):
    """One hospital's remaining agreed volume moved by an activation (minimum units)."""

    __tablename__ = "volume_moves"
    __table_args__ = (CheckConstraint("quantity >= 0", name="quantity_non_negative"),)

    id: Mapped[IdPK]
    activation_id: Mapped[int] = mapped_column(BigId, ForeignKey("backup_activations.id"), index=True)
    hospital_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"))
    from_allocation_id: Mapped[int] = mapped_column(BigId, ForeignKey("volume_allocations.id"))
    to_allocation_id: Mapped[int] = mapped_column(BigId, ForeignKey("volume_allocations.id"))
    quantity: Mapped[int] = mapped_column(BigInteger)
