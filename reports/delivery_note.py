"""The delivery note (配送单) of one shipment, printed by the distributor to travel with the goods
and be signed by the sender and the receiver.

It carries the parties, the order and shipment numbers, every line with its product,
specification, manufacturer, batch number, expiry, quantity, the order's frozen pack price and
the amount, the totals, and a QR code that identifies the shipment: its number and a check value
over what was shipped. The check value is not a secret (anyone holding the paper may read it); it
lets the receiving hospital see that the paper matches the platform's record. Only the parties to
the shipment (its distributor and hospital, and the bureau) may build the note.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import date, datetime

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from bidding.models import Product
from core import clock
from core.actors import Actor
from core.errors import NotFound
from core.money import fen_to_display
from core.organizations import Organization
from core.regions import full_name
from ledger.models import OrderLine, Shipment
from ledger.scoping import party_scope
from reports.pdf import cjk_font, metadata, numbered_canvas, style, table_style
from reports.statement_pdf import qr_drawing

MARGIN = 12 * mm


@dataclass(frozen=True)
class NoteLine:
    product: str  #: generic name
    spec: str  #: specification text
    manufacturer: str
    batch_no: str
    expiry_on: date
    quantity: int
    pack_price_fen: int
    amount_fen: int


@dataclass(frozen=True)
class DeliveryNote:
    number: str  #: the shipment's platform number, e.g. "FH0000000012"
    delivery_note: str | None  #: the distributor's own note number, when it gave one
    order_number: str  #: e.g. "DD00000034"
    distributor: str
    hospital: str
    hospital_region: str  #: administrative division code (the platform keeps no street address)
    shipped_at: datetime
    lines: list[NoteLine]
    total_quantity: int
    total_fen: int
    check: str  #: 12 hex digits of SHA-256 over what was shipped
    qr_text: str  #: what the QR code encodes


def shipment_number(shipment_id: int) -> str:
    return f"FH{shipment_id:010d}"


def check_value(shipment: Shipment) -> str:
    """A checksum of the shipment's record (numbers, parties, lines), not a secret."""
    parts = [
        str(shipment.id),
        str(shipment.order_id),
        str(shipment.distributor_id),
        str(shipment.hospital_id),
    ]
    parts += [
        f"{x.order_line_id}:{x.quantity}:{x.batch_no}:{x.expiry_on.isoformat()}" for x in shipment.lines
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:12].upper()


def delivery_note(session: Session, actor: Actor, shipment_id: int) -> DeliveryNote:
    """The delivery note of a shipment the actor is a party to (NotFound otherwise)."""
    shipment = session.scalars(
        party_scope(
            select(Shipment),
            actor,
            hospital=Shipment.hospital_id,
            distributor=Shipment.distributor_id,
        ).where(Shipment.id == shipment_id)
    ).first()
    if shipment is None:
        raise NotFound("发货记录不存在 (shipment not found)")
    order_lines = {
        line.id: line
        for line in session.scalars(
            select(OrderLine).where(OrderLine.id.in_([x.order_line_id for x in shipment.lines]))
        )
    }
    products = {
        p.id: p
        for p in session.scalars(
            select(Product).where(Product.id.in_({x.product_id for x in order_lines.values()}))
        )
    }
    org_ids = {
        shipment.distributor_id,
        shipment.hospital_id,
        *(x.manufacturer_id for x in order_lines.values()),
    }
    orgs = {o.id: o for o in session.scalars(select(Organization).where(Organization.id.in_(org_ids)))}
    lines = []
    for x in shipment.lines:
        order_line = order_lines[x.order_line_id]
        product = products[order_line.product_id]
        lines.append(
            NoteLine(
                product=product.generic_name,
                spec=product.spec_text,
                manufacturer=orgs[order_line.manufacturer_id].name,
                batch_no=x.batch_no,
                expiry_on=x.expiry_on,
                quantity=x.quantity,
                pack_price_fen=order_line.pack_price_fen,
                amount_fen=x.quantity * order_line.pack_price_fen,
            )
        )
    number = shipment_number(shipment.id)
    check = check_value(shipment)
    return DeliveryNote(
        number=number,
        delivery_note=shipment.delivery_note,
        order_number=f"DD{shipment.order_id:08d}",
        distributor=orgs[shipment.distributor_id].name,
        hospital=orgs[shipment.hospital_id].name,
        hospital_region=orgs[shipment.hospital_id].region_code,
        shipped_at=shipment.shipped_at,
        lines=lines,
        total_quantity=sum(x.quantity for x in lines),
        total_fen=sum(x.amount_fen for x in lines),
        check=check,
        qr_text=f"VBP-PSD:{number}:{check}",
    )


HEADER = ["序号", "产品", "规格", "生产企业", "批号", "有效期至", "数量", "单价(元)", "金额(元)"]
WIDTHS = [22, 92, 78, 92, 52, 52, 34, 48, 56]


def render_delivery_note(note: DeliveryNote) -> bytes:
    """The note as an A4 PDF with the CJK font embedded."""
    title = style(15, alignment=1)
    body = style(9)
    facts = Table(
        [
            ["配送企业", note.distributor, "发货单号", note.number],
            ["收货医院", note.hospital, "订单号", note.order_number],
            [
                "收货地区",
                f"{full_name(note.hospital_region)}（{note.hospital_region}）",
                "配送单号",
                note.delivery_note or "—",
            ],
            [
                "发货时间",
                note.shipped_at.astimezone(clock.zone()).strftime("%Y-%m-%d %H:%M"),
                "校验码",
                note.check,
            ],
        ],
        colWidths=[52, 210, 52, 212],
        hAlign="LEFT",
    )
    facts.setStyle(table_style(font_size=9))
    rows = [
        [
            str(i),
            Paragraph(x.product, style(7.5)),
            Paragraph(x.spec, style(7.5)),
            Paragraph(x.manufacturer, style(7.5)),
            x.batch_no,
            x.expiry_on.isoformat(),
            str(x.quantity),
            fen_to_display(x.pack_price_fen),
            fen_to_display(x.amount_fen),
        ]
        for i, x in enumerate(note.lines, start=1)
    ]
    rows.append(["合计", "", "", "", "", "", str(note.total_quantity), "", fen_to_display(note.total_fen)])
    lines = Table([HEADER, *rows], colWidths=WIDTHS, repeatRows=1, hAlign="LEFT")
    lines.setStyle(table_style(numeric_from=6, font_size=7.5))
    verify = Table(
        [
            [
                qr_drawing(note.qr_text, 28 * mm),
                Paragraph(f"扫描二维码核对发货记录 (scan to check the shipment)：<br/>{note.qr_text}", body),
            ]
        ],
        colWidths=[32 * mm, 420],
        hAlign="LEFT",
    )
    verify.setStyle(
        [
            ("FONT", (0, 0), (-1, -1), cjk_font(), 8),
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("BOX", (0, 0), (-1, -1), 0.5, colors.grey),
        ]
    )
    signatures = Table(
        [
            ["发货人签字：", "", "收货人签字：", ""],
            ["日期：", "", "日期：", ""],
        ],
        colWidths=[62, 200, 62, 200],
        rowHeights=[28, 22],
        hAlign="LEFT",
    )
    signatures.setStyle(
        [
            ("FONT", (0, 0), (-1, -1), cjk_font(), 10),
            ("LINEBELOW", (1, 0), (1, -1), 0.5, colors.black),
            ("LINEBELOW", (3, 0), (3, -1), 0.5, colors.black),
            ("VALIGN", (0, 0), (-1, -1), "BOTTOM"),
        ]
    )
    story = [
        Paragraph("配 送 单", title),
        Spacer(1, 4 * mm),
        facts,
        Spacer(1, 4 * mm),
        lines,
        Spacer(1, 5 * mm),
        verify,
        Spacer(1, 8 * mm),
        signatures,
    ]
    buffer = io.BytesIO()
    template = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN + 4 * mm,
        title=f"配送单 {note.number}",
        author="VBP 集中带量采购平台",
    )
    on_page = metadata(f"配送单 {note.number}", f"{note.hospital} {note.order_number}")
    template.build(
        story,
        onFirstPage=on_page,
        onLaterPages=on_page,
        canvasmaker=numbered_canvas(f"配送单 {note.number}  校验码 {note.check}"),
    )
    return buffer.getvalue()
