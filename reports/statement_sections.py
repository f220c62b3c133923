"""The statement's closing sections: how differences are handled (three-flows.md "Corrections and
their exits", vbp-rules.md §5: the hospital checks within 5 working days) with the parties' dispute
records, and the signature and seal block for both parties. The PDF keeps the signature block and
the verification box together, so the statement never ends on a page holding only the QR code."""

from __future__ import annotations

from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Table, TableStyle

from core.money import fen_to_display
from reports.documents import StatementDocument
from reports.pdf import cjk_font, style

#: The procedure printed on every statement (the platform's rules, not this statement's data).
PROCEDURE = (
    "双方应在收到本对账单后 5 个工作日内在平台核对并确认；有异议的，须在平台注明差异内容及原因。",
    "因拒收、退货产生的差异，以红字发票冲减，在配送企业下一次向该医疗机构提交的结算申请中抵扣"
    "（无后续业务的多付款项予以退还或挂账）。",
    "发票有异议的，由医疗机构撤回异议，或由配送企业冲红后重新开具发票，不重复入账。",
    "结算有异议的部分暂不结算，次月重新申报或经更正后结算；无异议部分照常结算。",
    "数据经更正的，平台生成新版本对账单，原版本即被取代（扫描二维码可核验是否为现行版本）；"
    "数据无需更正的，由提出异议方注明处理结果后确认。双方确认后对账单不可更改。",
)


def difference_handling(doc: StatementDocument, heading_size: float = 11) -> list[Flowable]:
    body = style(8.5, leading=12)
    total_fen = sum(d.diff_fen for d in doc.discrepancies)
    story: list[Flowable] = [
        Paragraph(
            "五、差异处理 (difference handling)", style(heading_size, leading=16, spaceBefore=6, spaceAfter=3)
        ),
        Paragraph(
            f"本期差异 {len(doc.discrepancies)} 项，差异金额合计 {fen_to_display(total_fen)} 元。"
            if doc.discrepancies
            else "本期无差异。",
            body,
        ),
    ]
    story += [Paragraph(f"{n}. {text}", body) for n, text in enumerate(PROCEDURE, start=1)]
    disputes = [c for c in doc.confirmations if c.reason]
    if disputes:
        cell = style(8, leading=11)
        table = Table(
            [
                [Paragraph(t, cell) for t in ("提出方", "异议原因", "处理结果")],
                *[
                    [
                        Paragraph(c.party_label, cell),
                        Paragraph(c.reason or "", cell),
                        Paragraph(c.resolution or "尚未处理 (open)", cell),
                    ]
                    for c in disputes
                ],
            ],
            colWidths=[100, 330, 330],
            hAlign="LEFT",
        )
        table.setStyle(_grid())
        story.append(table)
    return story


def signature_block(doc: StatementDocument, heading_size: float = 11) -> list[Flowable]:
    """Two columns, one per party: its name, room for its seal, the signer and the date."""
    cell, name = style(9, leading=13), style(10, leading=14)
    parties = (doc.hospital, doc.enterprise)
    rows = [
        [Paragraph(f"{p.role_label}（盖章）", cell) for p in parties],
        [Paragraph(p.name, name) for p in parties],
        ["", ""],  # the seal
        [Paragraph("经办人（签字）：", cell) for _ in parties],
        [
            Paragraph(
                "日期：&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;&nbsp;年&nbsp;&nbsp;&nbsp;&nbsp;月&nbsp;&nbsp;&nbsp;&nbsp;日",
                cell,
            )
            for _ in parties
        ],
    ]
    table = Table(rows, colWidths=[380, 380], rowHeights=[None, None, 30 * mm, 9 * mm, 9 * mm], hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), cjk_font(), 9),
                ("BOX", (0, 0), (0, -1), 0.5, colors.grey),
                ("BOX", (1, 0), (1, -1), 0.5, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    return [
        Paragraph(
            "六、双方签章 (signature and seal)", style(heading_size, leading=16, spaceBefore=6, spaceAfter=3)
        ),
        table,
    ]


def _grid() -> TableStyle:
    return TableStyle(
        [
            ("FONT", (0, 0), (-1, -1), cjk_font(), 8),
            ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
    )
