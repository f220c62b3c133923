"""Traceability code records: one row per pack code on a shipment line, and the match of a
hospital's scan at receipt.

Scale (supervision-and-interop.md §5: tens of thousands of codes per shipment, 10¹¹ a year
nationally): rows are written set-based (core.db.bulk_insert: COPY on PostgreSQL), never one ORM
object per pack; every query goes through an index that leads with the code, the shipment line or
(party, attached_on). `attached_on` is the column a later issue partitions by month; the indexes
read by period carry it. The one global index that cannot follow a partition (a unique index on a
partitioned table must include the partition key) is `live_code`'s: when the table is partitioned,
it moves to a narrow table of live codes.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.change_stamps import ChangeStamped
from core.db import Base, BigId, IdPK, str_enum
from ledger.trace.formats import MAX_CODE_CHARS, CodeKind


class TraceCodeState(enum.StrEnum):
    """A pack code on one shipment line. Live (the code is "out there" on this line): in transit
    and kept. Released (the code may ship again, on a new row): rejected, returned, superseded."""

    IN_TRANSIT = "in_transit"  #: 待验收（在途）
    KEPT = "kept"  #: 已入库 (accepted at receipt)
    REJECTED = "rejected"  #: 已拒收 (the pack went back to the distributor)
    RETURNED = "returned"  #: 已退货 (returned after acceptance)
    SUPERSEDED = "superseded"  #: 已更正替换 (the distributor re-attached the line's codes before receipt)


LIVE_STATES = (TraceCodeState.IN_TRANSIT, TraceCodeState.KEPT)


class TraceCode(ChangeStamped, Base):
    """One pack's code on one shipment line. `live_code` equals `code` while the row is live and
    is NULL once released, so the unique (live_code) lets a code be live on one line only, on
    both databases (NULLs are distinct), while its history keeps every line it travelled on."""

    __tablename__ = "trace_codes"
    __table_args__ = (
        UniqueConstraint("live_code", name="one_live_line"),
        Index("ix_trace_codes_code", "code"),
        Index("ix_trace_codes_line_state", "shipment_line_id", "state"),
        Index("ix_trace_codes_hospital_period", "hospital_id", "attached_on"),
        Index("ix_trace_codes_distributor_period", "distributor_id", "attached_on"),
    )

    id: Mapped[IdPK]
    #: Canonical form (ledger/trace/formats.py).
    code: Mapped[str] = mapped_column(String(MAX_CODE_CHARS))
    live_code: Mapped[str | None] = mapped_column(String(MAX_CODE_CHARS))
    kind: Mapped[CodeKind] = mapped_column(str_enum(CodeKind, "trace_code_kind"))
    shipment_line_id: Mapped[int] = mapped_column(BigId, ForeignKey("shipment_lines.id"))
    shipment_id: Mapped[int] = mapped_column(BigId, ForeignKey("shipments.id"))
    hospital_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"))
    distributor_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"))
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id"))
    state: Mapped[TraceCodeState] = mapped_column(str_enum(TraceCodeState, "trace_code_state"))
    attached_on: Mapped[date] = mapped_column(Date)
    attached_at: Mapped[datetime]
    #: When the hospital's receipt decided the pack (kept or rejected).
    matched_at: Mapped[datetime | None]
    #: When the code stopped being live (rejected, returned, superseded).
    released_at: Mapped[datetime | None]


class TraceMatch(Base):
    """The match of a hospital's scanned codes against one shipment line's codes at receipt:
    counts and bounded lists (the first MAX_LISTED of each) of what did not match."""

    __tablename__ = "trace_matches"

    id: Mapped[IdPK]
    shipment_line_id: Mapped[int] = mapped_column(BigId, ForeignKey("shipment_lines.id"), unique=True)
    receipt_line_id: Mapped[int] = mapped_column(BigId, ForeignKey("receipt_lines.id"))
    hospital_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    #: Whether the hospital sent a scan at all (without one, the receipt's quantities decide).
    scanned: Mapped[bool]
    shipped_count: Mapped[int] = mapped_column(Integer)
    scanned_count: Mapped[int] = mapped_column(Integer)
    matched_count: Mapped[int] = mapped_column(Integer)
    kept_count: Mapped[int] = mapped_column(Integer)
    released_count: Mapped[int] = mapped_column(Integer)
    missing_count: Mapped[int] = mapped_column(Integer)
    extra_count: Mapped[int] = mapped_column(Integer)
    foreign_count: Mapped[int] = mapped_column(Integer)
    #: {"missing": [...], "extra": [...], "foreign": [...]}, each at most MAX_LISTED codes.
    listed: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    matched_at: Mapped[datetime]
    matched_by: Mapped[int | None] = mapped_column(BigInteger)
