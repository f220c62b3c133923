"""The three-flow lists built on app/web/tables.py: invoice lines (every party its own) and the
hospital's confirmed deliveries, each over the domain's scoped query (invoicing.
invoice_lines_visible_to, ordering.shipment_lines_visible_to), searchable, sortable, dated,
totalled, exported and printed."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select
from sqlalchemy.orm import aliased

from app.web.tables import DATE, INT, MONEY, TERM, Column, Table
from bidding.models import Product
from core.actors import Actor
from core.organizations import Organization
from ledger.models import Invoice, InvoiceLine, OrderLine, ReceiptLine, Shipment, ShipmentLine
from ledger.services import invoicing, ordering


def _invoice_number(row: Any) -> str:
    code = row.invoice_code
    return f"{code}-{row.invoice_number}" if code else row.invoice_number


def _line(name: str) -> Any:
    """The export's value: the invoice line's own attribute (the row holds the entity)."""
    return lambda row: getattr(row.InvoiceLine, name)


def invoices_table(who: Actor) -> tuple[Table, Select[Any]]:
    """The invoice lines `who` may see with the invoice, the parties' and the product's names.

    A number typed is looked for in the invoice's code and number (they are digits), not as an id."""
    issuer, hospital, manufacturer = aliased(Organization), aliased(Organization), aliased(Organization)
    table = Table(
        "invoices",
        columns=(
            Column(
                "id", _l("Invoice line"), sort=InvoiceLine.id, kind=INT, export_only=True, value=_line("id")
            ),
            Column("invoice", _l("Invoice"), sort=Invoice.invoice_number, value=_invoice_number),
            Column("issued_on", _l("Issued on"), sort=Invoice.issued_on, kind="date"),
            Column("issuer", _l("Issuer"), sort=issuer.name),
            Column("hospital", _l("Hospital"), sort=hospital.name),
            Column("product", _l("Product"), sort=Product.generic_name),
            Column("spec", _l("Specification"), export_only=True),
            Column("manufacturer", _l("Manufacturer"), sort=manufacturer.name),
            Column("order_line_id", _l("Order line"), kind=INT, value=_line("order_line_id")),
            Column("invoiced_quantity", _l("Quantity"), sort=InvoiceLine.quantity, kind=INT, total=True),
            Column("pack_price_fen", _l("Unit price (yuan)"), kind=MONEY, value=_line("pack_price_fen")),
            Column("invoiced_fen", _l("Amount (yuan)"), sort=InvoiceLine.amount_fen, kind=MONEY, total=True),
            Column("status", _l("Status"), sort=InvoiceLine.status, kind=TERM, value=_line("status")),
        ),
        search=(
            Invoice.invoice_number,
            Invoice.invoice_code,
            issuer.name,
            hospital.name,
            manufacturer.name,
            Product.generic_name,
        ),
        dated=Invoice.issued_on,
        default_sort="id",
        tiebreak=InvoiceLine.id,
    )
    stmt = (
        invoicing.invoice_lines_visible_to(who)
        .join(Invoice, Invoice.id == InvoiceLine.invoice_id)
        .join(issuer, issuer.id == Invoice.issuer_id)
        .join(hospital, hospital.id == InvoiceLine.hospital_id)
        .join(OrderLine, OrderLine.id == InvoiceLine.order_line_id)
        .join(Product, Product.id == OrderLine.product_id)
        .join(manufacturer, manufacturer.id == OrderLine.manufacturer_id)
        .add_columns(
            Invoice.invoice_code.label("invoice_code"),
            Invoice.invoice_number.label("invoice_number"),
            Invoice.issued_on.label("issued_on"),
            issuer.name.label("issuer"),
            hospital.name.label("hospital"),
            Product.generic_name.label("product"),
            Product.spec_text.label("spec"),
            manufacturer.name.label("manufacturer"),
            InvoiceLine.quantity.label("invoiced_quantity"),
            InvoiceLine.amount_fen.label("invoiced_fen"),
        )
        .order_by(InvoiceLine.id.desc())
    )
    return table, stmt


def _note(row: Any) -> str:
    return row.note or f"#{row.shipment_no}"


def received_table(who: Actor) -> tuple[Table, Select[Any]]:
    """The delivered lines `who` has confirmed (验收), one row per receipt, over
    ordering.shipment_lines_visible_to; the accepted value is the accepted packs at the order
    line's pack price. Keys are labels of their own (the row also holds the shipment line)."""
    distributor = aliased(Organization)
    accepted_fen = ReceiptLine.accepted_quantity * OrderLine.pack_price_fen
    table = Table(
        "received",
        columns=(
            Column("receipt_no", _l("Receipt"), sort=ReceiptLine.id, kind=INT, export_only=True),
            Column("note", _l("Delivery note"), sort=Shipment.delivery_note, value=_note),
            Column("order_no", _l("Order"), sort=Shipment.order_id, kind=INT),
            Column("distributor", _l("Distributor"), sort=distributor.name),
            Column("product", _l("Product"), sort=Product.generic_name),
            Column("spec", _l("Specification"), export_only=True),
            Column("batch", _l("Batch number"), sort=ShipmentLine.batch_no),
            Column("accepted_on", _l("Accepted on"), sort=ReceiptLine.accepted_on, kind=DATE),
            Column(
                "accepted", _l("Accepted quantity"), sort=ReceiptLine.accepted_quantity, kind=INT, total=True
            ),
            Column(
                "rejected", _l("Rejected quantity"), sort=ReceiptLine.rejected_quantity, kind=INT, total=True
            ),
            Column("reason", _l("Reason"), kind=TERM),
            Column("accepted_fen", _l("Accepted value (yuan)"), sort=accepted_fen, kind=MONEY, total=True),
        ),
        search=(Shipment.delivery_note, ShipmentLine.batch_no, distributor.name, Product.generic_name),
        ids=(Shipment.order_id,),
        dated=ReceiptLine.accepted_on,
        default_sort="receipt_no",
        tiebreak=ReceiptLine.id,
    )
    stmt = (
        ordering.shipment_lines_visible_to(who)
        .join(ReceiptLine, ReceiptLine.shipment_line_id == ShipmentLine.id)
        .join(Shipment, Shipment.id == ShipmentLine.shipment_id)
        .join(OrderLine, OrderLine.id == ShipmentLine.order_line_id)
        .join(Product, Product.id == OrderLine.product_id)
        .join(distributor, distributor.id == ShipmentLine.distributor_id)
        .add_columns(
            ReceiptLine.id.label("receipt_no"),
            Shipment.id.label("shipment_no"),
            Shipment.delivery_note.label("note"),
            Shipment.order_id.label("order_no"),
            distributor.name.label("distributor"),
            Product.generic_name.label("product"),
            Product.spec_text.label("spec"),
            ShipmentLine.batch_no.label("batch"),
            ReceiptLine.accepted_on.label("accepted_on"),
            ReceiptLine.accepted_quantity.label("accepted"),
            ReceiptLine.rejected_quantity.label("rejected"),
            ReceiptLine.reason_code.label("reason"),
            accepted_fen.label("accepted_fen"),
        )
        .order_by(ReceiptLine.id.desc())
    )
    return table, stmt
