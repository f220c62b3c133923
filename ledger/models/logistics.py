"""Logistics flow (物流): shipments, receipt confirmations (验收) and returns."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.change_stamps import ChangeStamped
from core.db import Base, BigId, IdPK, str_enum


class ShipmentLineStatus(enum.StrEnum):
    """A shipped line waits for the hospital's receipt; the receipt decides how it ends."""

    IN_TRANSIT = "in_transit"  #: 待验收
    ACCEPTED = "accepted"  #: 全部验收
    PARTLY_REJECTED = "partly_rejected"  #: 部分拒收 (the rejected packs go back to the order line)
    REJECTED = "rejected"  #: 全部拒收


class ReceiptStatus(enum.StrEnum):
    """What became of the accepted packs of a receipt."""

    KEPT = "kept"  #: accepted and kept
    PARTLY_RETURNED = "partly_returned"
    RETURNED = "returned"  #: every accepted pack returned
    REJECTED = "rejected"  #: nothing was accepted


class ReturnStatus(enum.StrEnum):
    """A return after invoicing owes a red-letter credit; one before invoicing owes nothing."""

    AWAITING_CREDIT = "awaiting_credit"  #: the returned packs are still invoiced: a red-letter is due
    CREDITED = "credited"  #: the invoices of the receipt no longer exceed what was kept
    NO_CREDIT_NEEDED = "no_credit_needed"  #: the returned packs had not been invoiced


class Shipment(ChangeStamped, Base):
    __tablename__ = "shipments"

    id: Mapped[IdPK]
    order_id: Mapped[int] = mapped_column(BigId, ForeignKey("orders.id"), index=True)
    distributor_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    hospital_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    shipped_at: Mapped[datetime]
    #: Delivery note / waybill number from the distributor's system.
    delivery_note: Mapped[str | None] = mapped_column(String(60))

    lines: Mapped[list[ShipmentLine]] = relationship(back_populates="shipment", order_by="ShipmentLine.id")


class ShipmentLine(ChangeStamped, Base):
    __tablename__ = "shipment_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("accepted_quantity + rejected_quantity <= quantity", name="not_over_received"),
    )

    id: Mapped[IdPK]
    shipment_id: Mapped[int] = mapped_column(BigId, ForeignKey("shipments.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(BigId, ForeignKey("order_lines.id"), index=True)
    hospital_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"))
    distributor_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    #: 批号 and 有效期 of the goods shipped.
    batch_no: Mapped[str] = mapped_column(String(40))
    expiry_on: Mapped[date] = mapped_column(Date)
    #: Filled by the receipt confirmation; accepted + rejected = quantity once confirmed.
    accepted_quantity: Mapped[int] = mapped_column(Integer, default=0)
    rejected_quantity: Mapped[int] = mapped_column(Integer, default=0)
    shipped_on: Mapped[date] = mapped_column(Date)
    status: Mapped[ShipmentLineStatus] = mapped_column(
        str_enum(ShipmentLineStatus, "shipment_line_status"), default=ShipmentLineStatus.IN_TRANSIT
    )

    shipment: Mapped[Shipment] = relationship(back_populates="lines")


class ReceiptLine(ChangeStamped, Base):
    """验收: the hospital's confirmation of one shipment line. One per shipment line, ever
    (the unique constraint is what stops two concurrent confirmations both succeeding)."""

    __tablename__ = "receipt_lines"
    __table_args__ = (
        CheckConstraint("accepted_quantity >= 0 AND rejected_quantity >= 0", name="non_negative"),
    )

    id: Mapped[IdPK]
    shipment_line_id: Mapped[int] = mapped_column(BigId, ForeignKey("shipment_lines.id"), unique=True)
    order_line_id: Mapped[int] = mapped_column(BigId, ForeignKey("order_lines.id"), index=True)
    hospital_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    manufacturer_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"))
    distributor_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"))
    accepted_quantity: Mapped[int] = mapped_column(Integer)
    rejected_quantity: Mapped[int] = mapped_column(Integer)
    #: Reason code for a rejection (damaged, expiry_too_short, wrong_product, quality, other).
    reason_code: Mapped[str | None] = mapped_column(String(40))
    #: Acceptance date: starts the payment clock (vbp-rules.md §4.1, §5).
    accepted_on: Mapped[date] = mapped_column(Date, index=True)
    confirmed_at: Mapped[datetime]
    confirmed_by: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[ReceiptStatus] = mapped_column(str_enum(ReceiptStatus, "receipt_status"))


class ReturnLine(ChangeStamped, Base):
    """A return of accepted goods (退货), linked to the receipt line it reverses."""

    __tablename__ = "return_lines"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[IdPK]
    receipt_line_id: Mapped[int] = mapped_column(BigId, ForeignKey("receipt_lines.id"), index=True)
    order_line_id: Mapped[int] = mapped_column(BigId, ForeignKey("order_lines.id"), index=True)
    hospital_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"))
    quantity: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(500))
    returned_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime]
    status: Mapped[ReturnStatus] = mapped_column(str_enum(ReturnStatus, "return_status"))
