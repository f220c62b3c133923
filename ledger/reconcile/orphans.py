"""Orphans: records that point at nothing valid, reported apart from the order lines' statuses
(vbp-rules.md §5: invoice without receipt, payment ≠ confirmed amount, duplicate invoice number)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from core.actors import Actor
from core.glossary import terms_of
from core.organizations import Organization
from ledger.models import (
    Invoice,
    InvoiceLine,
    OrderLine,
    Payment,
    ReceiptLine,
    SettlementApplication,
    SettlementLine,
    SettlementLineStatus,
    Shipment,
    ShipmentLine,
)
from ledger.reconcile.facts import Slice, scoped_lines
from ledger.reconcile.two_invoice import Chain, chains
from ledger.scoping import party_scope


class OrphanKind(enum.StrEnum):
    SHIPMENT = "orphan_shipment"  #: a shipment line whose order line is another buyer's or seller's
    RECEIPT = "orphan_receipt"  #: a receipt whose shipment line belongs to another order line
    INVOICE = "orphan_invoice"  #: an invoice line whose receipt is not of its order line / parties
    PAYMENT = "orphan_payment"  #: a payment ≠ the confirmed amount of its application
    DUPLICATE_INVOICE = "duplicate_invoice"  #: one invoice code + number recorded more than once
    #: 两票制: a delivered batch invoiced more times than allowed (ledger/reconcile/two_invoice.py).
    TWO_INVOICE_EXCEEDED = "two_invoice_exceeded"
    #: 两票制: a delivered batch with no first invoice back to the manufacturer after N days.
    FIRST_INVOICE_MISSING = "first_invoice_missing"


ORPHAN_LABELS: dict[OrphanKind, str] = terms_of(OrphanKind)  #: from core/glossary.py


@dataclass(frozen=True)
class Orphan:
    kind: OrphanKind
    record_type: str
    record_id: int
    order_line_id: int | None
    diff_qty: int
    diff_fen: int
    detail: str

    @property
    def label(self) -> str:
        return ORPHAN_LABELS[self.kind]


def orphans(session: Session, actor: Actor, where: Slice) -> list[Orphan]:
    """Records that point at nothing valid. The schema's foreign keys guarantee the targets
    exist; what can still be wrong is *which* target (another buyer's line, another line's
    delivery), a payment that disagrees with what was confirmed, or a reused invoice number —
    e.g. rows that came in through an import or a migration rather than the services."""
    ol = OrderLine
    shipment_lines = (
        select(
            ShipmentLine.id,
            ShipmentLine.order_line_id,
            ShipmentLine.quantity,
            (ShipmentLine.quantity * ol.pack_price_fen).label("fen"),
        )
        .join(ol, ol.id == ShipmentLine.order_line_id)
        .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
        .where(
            or_(
                Shipment.order_id != ol.order_id,
                ShipmentLine.hospital_id != ol.hospital_id,
                ShipmentLine.distributor_id != ol.distributor_id,
            )
        )
    )
    sl = aliased(ShipmentLine)
    receipts = (
        select(
            ReceiptLine.id,
            ReceiptLine.order_line_id,
            ReceiptLine.accepted_quantity,
            (ReceiptLine.accepted_quantity * ol.pack_price_fen).label("fen"),
        )
        .join(sl, sl.id == ReceiptLine.shipment_line_id)
        .join(ol, ol.id == ReceiptLine.order_line_id)
        .where(or_(sl.order_line_id != ReceiptLine.order_line_id, ReceiptLine.hospital_id != ol.hospital_id))
    )
    receipt = aliased(ReceiptLine)
    invoice_lines = (
        select(InvoiceLine.id, InvoiceLine.order_line_id, InvoiceLine.quantity, InvoiceLine.amount_fen)
        .join(receipt, receipt.id == InvoiceLine.receipt_line_id)
        .join(ol, ol.id == InvoiceLine.order_line_id)
        .where(
            or_(
                receipt.order_line_id != InvoiceLine.order_line_id,
                InvoiceLine.hospital_id != ol.hospital_id,
                InvoiceLine.enterprise_id != ol.distributor_id,
            )
        )
    )
    results: list[Orphan] = []
    line_ids = scoped_lines(actor, where).scalar_subquery()
    everything = actor.is_bureau and not where.where()
    for kind, record_type, stmt, line_col, detail in (
        (
            OrphanKind.SHIPMENT,
            "shipment_line",
            shipment_lines,
            ShipmentLine.order_line_id,
            "发货单与订单行的买方、配送企业或订单不一致",
        ),
        (
            OrphanKind.RECEIPT,
            "receipt_line",
            receipts,
            ReceiptLine.order_line_id,
            "验收记录与其发货明细不属于同一订单行",
        ),
        (
            OrphanKind.INVOICE,
            "invoice_line",
            invoice_lines,
            InvoiceLine.order_line_id,
            "发票行与其验收记录或订单行的当事方不一致",
        ),
    ):
        limited = stmt if everything else stmt.where(line_col.in_(line_ids))
        for row in session.execute(limited.order_by(stmt.selected_columns[0])):
            results.append(Orphan(kind, record_type, row[0], row[1], int(row[2]), int(row[3]), detail))
    results += _payment_orphans(session, actor, where)
    results += _duplicate_invoices(session, actor, where)
    results += [chain_orphan(session, chain) for chain in chains(session, actor, where, exceeding_only=True)]
    return results


def chain_orphan(
    session: Session, chain: Chain, kind: OrphanKind = OrphanKind.TWO_INVOICE_EXCEEDED
) -> Orphan:
    """A delivered batch's chain as a finding, the chain of organizations as its evidence."""
    names = dict(
        session.execute(
            select(Organization.id, Organization.name).where(Organization.id.in_(chain.path()))
        ).all()
    )
    path = " → ".join(names.get(org, str(org)) for org in chain.path())
    if kind is OrphanKind.TWO_INVOICE_EXCEEDED:
        detail = f"批号 {chain.batch_no} 经 {chain.invoices} 张发票（上限 {chain.allowed}）：{path}"
    else:
        detail = f"批号 {chain.batch_no} 未登记至生产企业的第一票：{path}"
    return Orphan(
        kind, "shipment_line", chain.shipment_line_id, chain.order_line_id, chain.accepted_quantity, 0, detail
    )


def _payment_orphans(session: Session, actor: Actor, where: Slice) -> list[Orphan]:
    """Payments that differ from the confirmed amount of their application (§5: payment ≠
    confirmed amount), including payments of applications with nothing confirmed."""
    confirmed = (
        select(
            SettlementLine.application_id.label("app_id"),
            func.sum(SettlementLine.amount_fen).label("confirmed_fen"),
        )
        .where(SettlementLine.status == SettlementLineStatus.CONFIRMED)
        .group_by(SettlementLine.application_id)
        .subquery("conf")
    )
    stmt = (
        select(
            Payment.id,
            Payment.amount_fen,
            func.coalesce(confirmed.c.confirmed_fen, 0),
            Payment.bank_reference,
        )
        .join(SettlementApplication, SettlementApplication.id == Payment.application_id)
        .outerjoin(confirmed, confirmed.c.app_id == Payment.application_id)
        .where(Payment.amount_fen != func.coalesce(confirmed.c.confirmed_fen, 0))
    )
    stmt = _slice_parties(stmt, actor, where, Payment.hospital_id, Payment.enterprise_id)
    return [
        Orphan(
            OrphanKind.PAYMENT,
            "payment",
            row[0],
            None,
            0,
            int(row[1]) - int(row[2]),
            f"付款 {row[3]} 金额与结算申请确认金额不符",
        )
        for row in session.execute(stmt.order_by(Payment.id))
    ]


def _duplicate_invoices(session: Session, actor: Actor, where: Slice) -> list[Orphan]:
    """An invoice code + number is unique nationwide (one tax invoice); more than one record
    of it means the same invoice was entered twice, by one issuer or by two."""
    dupes = (
        select(Invoice.invoice_code, Invoice.invoice_number)
        .group_by(Invoice.invoice_code, Invoice.invoice_number)
        .having(func.count() > 1)
        .subquery("dupes")
    )
    stmt = select(Invoice.id, Invoice.total_fen, Invoice.invoice_code, Invoice.invoice_number).join(
        dupes,
        and_(dupes.c.invoice_code == Invoice.invoice_code, dupes.c.invoice_number == Invoice.invoice_number),
    )
    stmt = _slice_parties(stmt, actor, where, Invoice.hospital_id, Invoice.issuer_id)
    return [
        Orphan(
            OrphanKind.DUPLICATE_INVOICE,
            "invoice",
            row[0],
            None,
            0,
            int(row[1]),
            f"发票 {row[2]}{row[3]} 重复登记",
        )
        for row in session.execute(stmt.order_by(Invoice.id))
    ]


def _slice_parties(
    stmt: Select[Any], actor: Actor, where: Slice, hospital: Any, enterprise: Any
) -> Select[Any]:
    """Records without an order line of their own (payments, invoices) by their parties."""
    if where.hospital_id is not None:
        stmt = stmt.where(hospital == where.hospital_id)
    if where.enterprise_id is not None:
        stmt = stmt.where(enterprise == where.enterprise_id)
    return party_scope(stmt, actor, hospital=hospital, distributor=enterprise)
