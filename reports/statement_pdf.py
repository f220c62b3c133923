"""The reconciliation statement (对账单) as a PDF: Chinese first, CJK font embedded, the line
table split across pages with its header repeated, totals by status, discrepancies, both
parties' confirmations, how differences are handled, both parties' signature and seal, and the
verification code with a QR code of the public verification page.

Speed: cells are plain strings (no Paragraph per cell; long text is wrapped by character count,
which suits Chinese), one TableStyle per table, and the line table is cut into chunks so that
platypus never re-splits one huge table page after page (its split cost grows with the rows).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import datetime

from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table

from core import clock
from core.money import fen_to_display
from reports.documents import StatementDocument, StatementLineRow
from reports.pdf import cjk_font, metadata, numbered_canvas, style, table_style
from reports.statement_sections import difference_handling, signature_block

PAGE = landscape(A4)
MARGIN = 10 * mm
BOTTOM_MARGIN = 14 * mm  #: room for the page footer
#: Rows per platypus Table; each chunk still breaks across pages with its header repeated.
CHUNK = 400

LINE_HEADER = [
    "订单行",
    "产品",
    "订购",
    "发货",
    "验收",
    "拒收",
    "退货",
    "开票",
    "单价(元)",
    "订单金额(元)",
    "开票金额(元)",
    "已付金额(元)",
    "发货单",
    "发票号",
    "付款流水",
    "状态",
]
#: Column widths in points (landscape A4 minus margins ≈ 785 pt).
LINE_WIDTHS = [62, 104, 27, 27, 27, 27, 27, 27, 40, 50, 50, 50, 42, 82, 56, 52]
FONT_SIZE = 6.5
#: The text columns that wrap (the others are numbers or short codes).
WRAP = (1, 12, 13, 14, 15)


def when(moment: datetime | None) -> str:
    return "—" if moment is None else moment.astimezone(clock.zone()).strftime("%Y-%m-%d %H:%M")


def wrap(text: str, width: float) -> str:
    """Hard-wrap to `width` em (a Chinese character is 1 em, Latin about half); Chinese has no
    spaces to break at. Commas between references start new lines."""
    lines = []
    for piece in text.split(","):
        current, used = "", 0.0
        for ch in piece:
            w = 1.0 if ord(ch) > 0x2E80 else 0.56
            if used + w > width and current:
                lines.append(current)
                current, used = "", 0.0
            current += ch
            used += w
        lines.append(current)
    return "\n".join(lines)


def line_cells(row: StatementLineRow) -> list[str]:
    cells = [
        row.order_ref,
        row.product,
        str(row.ordered_qty),
        str(row.shipped_qty),
        str(row.accepted_qty),
        str(row.rejected_qty),
        str(row.returned_qty),
        str(row.invoiced_qty),
        fen_to_display(row.pack_price_fen),
        fen_to_display(row.order_amount_fen),
        fen_to_display(row.invoiced_fen),
        fen_to_display(row.paid_fen),
        row.shipment_refs or "—",
        row.invoice_refs or "—",
        row.payment_refs or "—",
        row.status_label,
    ]
    for column in WRAP:
        cells[column] = wrap(cells[column], (LINE_WIDTHS[column] - 4) / FONT_SIZE)
    return cells


def chunked_table(
    header: list[str],
    rows: Sequence[list[str]],
    widths: list[float],
    *,
    numeric_from: int | None,
    numeric_to: int = -1,
) -> list[Flowable]:
    tables: list[Flowable] = []
    chunk_style = table_style(numeric_from=numeric_from, numeric_to=numeric_to, font_size=FONT_SIZE)
    for start in range(0, max(len(rows), 1), CHUNK):
        table = Table([header, *rows[start : start + CHUNK]], colWidths=widths, repeatRows=1, hAlign="LEFT")
        table.setStyle(chunk_style)
        tables.append(table)
    return tables


def group_code(code: str) -> str:
    return " ".join(code[i : i + 4].upper() for i in range(0, len(code), 4))


def qr_drawing(value: str, size: float = 32 * mm) -> Drawing:
    widget = QrCodeWidget(value)
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(size, size, transform=[size / (x1 - x0), 0, 0, size / (y1 - y0), 0, 0])
    drawing.add(widget)
    drawing.initialFontName = cjk_font()  # the renderer's default is Helvetica, never embedded
    return drawing


def audit_root_line(doc: StatementDocument) -> str:
    """The audit trail's daily root (core/audit_roots.py) the statement was made under, as published
    on the public audit-roots page; empty before the first root."""
    if doc.audit_root is None:
        return ""
    day, root_hash = doc.audit_root
    where = "见公开页面 /public/audit-roots"
    return f"<br/><br/>审计日根 (audit root, {where}) {day.isoformat()}：<br/>{root_hash}"


def _kv_table(rows: Iterable[list[str]], widths: list[float]) -> Table:
    table = Table(list(rows), colWidths=widths, hAlign="LEFT")
    table.setStyle(table_style(font_size=8.5))
    return table


def render_statement(doc: StatementDocument) -> bytes:
    body_style, heading = style(9), style(11, leading=16, spaceBefore=6, spaceAfter=3)
    story: list[Flowable] = [
        Paragraph("医药集中采购三流合一对账单", style(16, leading=22, alignment=1)),
        Paragraph("Reconciliation statement: orders · logistics · money", style(8, alignment=1)),
        Spacer(1, 4 * mm),
        _kv_table(
            [
                ["对账单编号", doc.number, "版本", f"第 {doc.version} 版"],
                ["对账期间（订单月份）", f"{doc.period:%Y年%m月}", "对账截至", when(doc.as_of)],
                [doc.hospital.role_label, doc.hospital.name, "统一社会信用代码", doc.hospital.code],
                [doc.enterprise.role_label, doc.enterprise.name, "统一社会信用代码", doc.enterprise.code],
                ["生成时间", when(doc.generated_at), "订单行数", str(len(doc.lines))],
            ],
            [110, 300, 110, 265],
        ),
        Paragraph("一、对账明细 (lines)", heading),
    ]
    if doc.lines:
        story += chunked_table(
            LINE_HEADER, [line_cells(r) for r in doc.lines], LINE_WIDTHS, numeric_from=2, numeric_to=11
        )
    else:
        story.append(Paragraph("本期无订单 (no order lines)", body_style))

    story.append(Paragraph("二、按状态汇总 (totals by status)", heading))
    totals = [
        [t.status_label, str(t.lines), fen_to_display(t.order_amount_fen), fen_to_display(t.diff_fen)]
        for t in doc.totals
    ]
    totals.append(
        [
            "合计",
            str(sum(t.lines for t in doc.totals)),
            fen_to_display(sum(t.order_amount_fen for t in doc.totals)),
            fen_to_display(sum(t.diff_fen for t in doc.totals)),
        ]
    )
    story += chunked_table(
        ["状态", "行数", "订单金额(元)", "差异金额(元)"], totals, [160, 80, 120, 120], numeric_from=1
    )
    amounts = [
        ["订单金额合计", fen_to_display(sum(r.order_amount_fen for r in doc.lines))],
        ["开票金额合计", fen_to_display(sum(r.invoiced_fen for r in doc.lines))],
        ["已付金额合计", fen_to_display(sum(r.paid_fen for r in doc.lines))],
    ]
    story += [Spacer(1, 2 * mm), _kv_table(amounts, [160, 120])]

    story.append(Paragraph("三、差异明细 (discrepancies)", heading))
    if doc.discrepancies:
        rows = [
            [
                d.status_label,
                wrap(d.records, 60),
                str(d.diff_qty),
                fen_to_display(d.diff_fen),
                wrap(d.description, 24),
            ]
            for d in doc.discrepancies
        ]
        story += chunked_table(
            ["类别", "涉及记录", "差异数量", "差异金额(元)", "说明"],
            rows,
            [90, 330, 60, 80, 225],
            numeric_from=2,
            numeric_to=3,
        )
    else:
        story.append(Paragraph("无差异 (no discrepancies)", body_style))

    story.append(Paragraph("四、确认情况 (confirmations)", heading))
    story.append(
        _kv_table(
            [
                ["确认方", "状态", "时间"],
                *[[c.party_label, c.state_label, when(c.at)] for c in doc.confirmations],
            ],
            [160, 400, 140],
        )
    )
    verification = Table(
        [
            [
                qr_drawing(doc.verify_url),
                Paragraph(
                    f"验证码 (verification code)：<br/>{group_code(doc.verification_code)}<br/><br/>"
                    f"扫描二维码或访问以下地址核验本对账单的真实性：<br/>{doc.verify_url}"
                    + audit_root_line(doc),
                    style(8.5),
                ),
            ]
        ],
        colWidths=[36 * mm, 600],
    )
    verification.setStyle(
        [
            ("FONT", (0, 0), (-1, -1), cjk_font(), 8),  # else the table names Helvetica, unembedded
            ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ("BOX", (0, 0), (-1, -1), 0.5, colors.grey),
        ]
    )
    story += difference_handling(doc)
    # The signature block and the verification box stay together: never a last page with only the QR.
    story.append(
        KeepTogether([*signature_block(doc), Paragraph("七、真伪验证 (verification)", heading), verification])
    )

    buffer = io.BytesIO()
    template = SimpleDocTemplate(
        buffer,
        pagesize=PAGE,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=BOTTOM_MARGIN,
        title=f"对账单 {doc.number}",
        author="VBP 集中带量采购平台",
        subject=f"{doc.hospital.name} × {doc.enterprise.name} {doc.period:%Y-%m}",
    )
    on_page = metadata(f"对账单 {doc.number}", f"{doc.period:%Y-%m}")
    template.build(
        story,
        onFirstPage=on_page,
        onLaterPages=on_page,
        canvasmaker=numbered_canvas(f"对账单 {doc.number}  验证码 {doc.verification_code[:16].upper()}…"),
    )
    return buffer.getvalue()
