"""The receipt and warehousing slip (验收入库单) of one delivery note: what the hospital accepted
and rejected of each shipped line, with product, specification, manufacturer, batch number,
expiry, unit (pack) price and amount, the totals, and the lines the receiving clerk and the
storekeeper sign (验收人 / 保管人 / 日期). CJK font embedded (reports/pdf.py, VBP_PDF_FONT).

The slip is built from the caller's own records only (ordering.shipment_lines_visible_to): a
delivery the caller cannot see, or one not yet confirmed, is not found.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.actors import Actor
from core.errors import NotFound
from core.glossary import term
from core.money import fen_to_display
from core.organizations import Organization
from ledger.models import OrderLine, ReceiptLine, Shipment, ShipmentLine
from ledger.services import ordering
from reports.pdf import cjk_font, metadata, numbered_canvas, style, table_style

PAGE = landscape(A4)
MARGIN = 12 * mm
HEADER = [
    "行",
    "产品名称",
    "规格",
    "生产企业",
    "批号",
    "有效期至",
    "发货数",
    "验收数",
    "拒收数",
    "拒收原因",
    "单价(元)",
    "入库金额(元)",
]
WIDTHS = [22, 118, 92, 110, 62, 56, 36, 36, 36, 64, 52, 66]


@dataclass(frozen=True)
class SlipLine:
    product: str
    spec: str
    manufacturer: str
    batch_no: str
    expiry_on: date
    shipped: int
    accepted: int
    rejected: int
    reason: str
    pack_price_fen: int

    @property
    def amount_fen(self) -> int:
        """What goes into the store: the accepted packs at the order line's frozen price."""
        return self.accepted * self.pack_price_fen


@dataclass(frozen=True)
class ReceiptSlip:
    number: str
    hospital: str
    distributor: str
    order_id: int
    delivery_note: str
    shipped_at: datetime
    accepted_on: date
    lines: list[SlipLine]

    @property
    def accepted_total(self) -> int:
        return sum(line.accepted for line in self.lines)

    @property
    def rejected_total(self) -> int:
        return sum(line.rejected for line in self.lines)

    @property
    def amount_total_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)


def slip_for_shipment(session: Session, actor: Actor, shipment_id: int) -> ReceiptSlip:
    """The slip of a delivery note's confirmed lines, as the caller may see them."""
    rows = session.execute(
        ordering.shipment_lines_visible_to(actor)
        .add_columns(ReceiptLine, OrderLine)
        .join(ReceiptLine, ReceiptLine.shipment_line_id == ShipmentLine.id)
        .join(OrderLine, OrderLine.id == ShipmentLine.order_line_id)
        .where(ShipmentLine.shipment_id == shipment_id)
        .order_by(ShipmentLine.id)
    ).all()
    if not rows:
        raise NotFound("验收入库单不存在 (no confirmed receipt for this delivery)")
    shipment = session.get_one(Shipment, shipment_id)
    names: dict[int, str] = {
        org_id: name
        for org_id, name in session.execute(
            select(Organization.id, Organization.name).where(
                Organization.id.in_(
                    {shipment.hospital_id, shipment.distributor_id} | {o.manufacturer_id for _, _, o in rows}
                )
            )
        )
    }
    lines = [
        SlipLine(
            product=order_line.product.generic_name,
            spec=order_line.product.spec_text,
            manufacturer=names.get(order_line.manufacturer_id, ""),
            batch_no=ship_line.batch_no,
            expiry_on=ship_line.expiry_on,
            shipped=ship_line.quantity,
            accepted=receipt.accepted_quantity,
            rejected=receipt.rejected_quantity,
            reason=term(receipt.reason_code) if receipt.reason_code else "",
            pack_price_fen=order_line.pack_price_fen,
        )
        for ship_line, receipt, order_line in rows
    ]
    return ReceiptSlip(
        number=f"YSRK-{shipment.id:08d}",
        hospital=names.get(shipment.hospital_id, ""),
        distributor=names.get(shipment.distributor_id, ""),
        order_id=shipment.order_id,
        delivery_note=shipment.delivery_note or f"#{shipment.id}",
        shipped_at=shipment.shipped_at,
        accepted_on=max(receipt.accepted_on for _, receipt, _ in rows),
        lines=lines,
    )


def _cells(n: int, line: SlipLine) -> list[str]:
    return [
        str(n),
        line.product,
        line.spec,
        line.manufacturer,
        line.batch_no,
        line.expiry_on.isoformat(),
        str(line.shipped),
        str(line.accepted),
        str(line.rejected),
        line.reason,
        fen_to_display(line.pack_price_fen),
        fen_to_display(line.amount_fen),
    ]


def render_receipt_slip(slip: ReceiptSlip) -> bytes:
    """The slip as a PDF (landscape A4, the line table's header repeated on every page)."""
    cell = style(7.5, leading=9.5)
    body = style(9, leading=13)
    wrapped = (1, 2, 3, 9)
    rows: list[list[object]] = [list(HEADER)]
    for n, line in enumerate(slip.lines, start=1):
        cells: list[object] = list(_cells(n, line))
        for column in wrapped:
            cells[column] = Paragraph(str(cells[column]), cell)
        rows.append(cells)
    rows.append(
        [
            "",
            "合计",
            "",
            "",
            "",
            "",
            str(sum(line.shipped for line in slip.lines)),
            str(slip.accepted_total),
            str(slip.rejected_total),
            "",
            "",
            fen_to_display(slip.amount_total_fen),
        ]
    )
    table = Table(rows, colWidths=WIDTHS, repeatRows=1, hAlign="LEFT")
    table.setStyle(table_style(numeric_from=6, font_size=7.5))
    heads = Table(
        [
            ["单据编号", slip.number, "验收日期", slip.accepted_on.isoformat()],
            ["收货单位（医疗机构）", slip.hospital, "配送企业", slip.distributor],
            [
                "订单号",
                f"#{slip.order_id}",
                "随货同行单",
                f"{slip.delivery_note}（发货 {slip.shipped_at.astimezone(clock.zone()):%Y-%m-%d}）",
            ],
        ],
        colWidths=[100, 270, 90, 270],
        hAlign="LEFT",
    )
    heads.setStyle(table_style(font_size=9))
    signatures = Table(
        [["验收人：", "", "保管人：", "", "日期：", ""]],
        colWidths=[50, 150, 50, 150, 40, 150],
        hAlign="LEFT",
    )
    signatures.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), cjk_font(), 10),
                ("LINEBELOW", (1, 0), (1, 0), 0.5, colors.black),
                ("LINEBELOW", (3, 0), (3, 0), 0.5, colors.black),
                ("LINEBELOW", (5, 0), (5, 0), 0.5, colors.black),
                ("TOPPADDING", (0, 0), (-1, -1), 14),
            ]
        )
    )
    story: list[Flowable] = [
        Paragraph("药品验收入库单", style(16, leading=22, alignment=1)),
        Paragraph("Receipt and warehousing slip", style(8, alignment=1)),
        Spacer(1, 4 * mm),
        heads,
        Spacer(1, 4 * mm),
        table,
        Spacer(1, 3 * mm),
        Paragraph(
            f"验收合计 {slip.accepted_total} 件，拒收合计 {slip.rejected_total} 件，"
            f"入库金额合计 {fen_to_display(slip.amount_total_fen)} 元。",
            body,
        ),
        Spacer(1, 8 * mm),
        signatures,
    ]
    buffer = io.BytesIO()
    title = f"验收入库单 {slip.number}"
    template = SimpleDocTemplate(
        buffer,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=16 * mm,
        title=title,
        author="VBP 集中带量采购平台",
        subject=f"{slip.hospital} × {slip.distributor}",
    )
    on_page = metadata(title, slip.hospital)
    template.build(story, onFirstPage=on_page, onLaterPages=on_page, canvasmaker=numbered_canvas(title))
    return buffer.getvalue()
