"""The procurement agreement (带量采购购销协议) as a PDF: parties, cycle year, products with agreed
yearly volume and winning prices, distributors, the terms, and the agreement's number and content
digest (its version) printed on every page. CJK font embedded (reports/pdf.py). The signatures
are not drawn: they are PAdES signatures added to the file (reports/agreement_signing.py)."""

from __future__ import annotations

import io
from dataclasses import dataclass

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table
from sqlalchemy import select
from sqlalchemy.orm import Session

from bidding.models import ProcurementBatch, Product
from core.money import e4_to_display, fen_to_display
from core.organizations import Organization
from ledger.contracts.models import ProcurementAgreement
from reports.pdf import metadata, numbered_canvas, style, table_style

MARGIN = 16 * mm
HEADER = (
    "序号",
    "产品（通用名 规格）",
    "约定采购量（最小单位/年）",
    "单位中选价（元）",
    "包装中选价（元）",
    "金额（元）",
)
WIDTHS = [24, 200, 80, 70, 70, 80]
#: The standard terms (vbp-rules.md §1.6 agreed volume, §1.8 yearly renewal, §5 distribution,
#: payment within 30 days of receipt: three-flows / settlement rules of the platform).
TERMS = (
    "一、甲方按本协议约定采购量优先采购乙方中选产品，并在采购周期年度内完成约定采购量。",
    "二、乙方按中选价格保障供应，由本协议所列配送企业配送；不得以任何理由拒绝或延误供应。",
    "三、货款由甲方（或医保基金直接结算）按平台结算规则支付，回款时限以平台设定为准。",
    "四、本协议期限为一个采购周期年度，周期内按年度续签；续签协议以新协议编号生成，本协议随之失效。",
    "五、本协议经双方以电子签名（PAdES）签署后生效；签署后的任何修改均使签名验证失败。",
)


@dataclass(frozen=True)
class AgreementText:
    number: str
    digest: str
    batch: str
    hospital: str
    hospital_uscc: str
    manufacturer: str
    manufacturer_uscc: str
    cycle_year: int
    period: str
    renews: str | None
    rows: list[tuple[str, int, int, int, int]]
    amount_fen: int
    distributors: list[str]


def agreement_text(session: Session, agreement: ProcurementAgreement) -> AgreementText:
    orgs = {
        o.id: o
        for o in session.scalars(
            select(Organization).where(
                Organization.id.in_({agreement.hospital_id, agreement.manufacturer_id})
            )
        )
    }
    products = {
        p.id: f"{p.generic_name} {p.spec_text}"
        for p in session.scalars(
            select(Product).where(Product.id.in_({ln.product_id for ln in agreement.lines}))
        )
    }
    renews = session.get(ProcurementAgreement, agreement.renews_id) if agreement.renews_id else None
    hospital, maker = orgs[agreement.hospital_id], orgs[agreement.manufacturer_id]
    return AgreementText(
        number=agreement.number,
        digest=agreement.content_sha256,
        batch=session.get_one(ProcurementBatch, agreement.batch_id).name,
        hospital=hospital.name,
        hospital_uscc=hospital.uscc,
        manufacturer=maker.name,
        manufacturer_uscc=maker.uscc,
        cycle_year=agreement.cycle_year,
        period=f"{agreement.starts_on.isoformat()} 至 {agreement.ends_on.isoformat()}",
        renews=renews.number if renews else None,
        rows=[
            (
                products.get(ln.product_id, ""),
                ln.agreed_quantity,
                ln.unit_price_e4,
                ln.pack_price_fen,
                ln.amount_fen,
            )
            for ln in agreement.lines
        ],
        amount_fen=agreement.amount_fen,
        distributors=[str(d["name"]) for d in agreement.distributors],
    )


def render_agreement(text: AgreementText) -> bytes:
    """The unsigned agreement (version 1 of its PDF)."""
    cell = style(8, leading=10)
    body = style(9.5, leading=15)
    rows: list[list[object]] = [[Paragraph(h, cell) for h in HEADER]]
    for n, (product, quantity, unit_e4, pack_fen, amount_fen) in enumerate(text.rows, start=1):
        rows.append(
            [
                str(n),
                Paragraph(product, cell),
                f"{quantity:,}",
                e4_to_display(unit_e4),
                fen_to_display(pack_fen),
                fen_to_display(amount_fen),
            ]
        )
    rows.append(["", "合计 (total)", "", "", "", fen_to_display(text.amount_fen)])
    lines = Table(rows, colWidths=WIDTHS, repeatRows=1, hAlign="LEFT")
    lines.setStyle(table_style(numeric_from=2, font_size=8))
    heads = Table(
        [
            ["协议编号", text.number, "采购批次", Paragraph(text.batch, cell)],
            ["采购周期年度", f"第 {text.cycle_year} 年", "协议期限", text.period],
            ["甲方（医疗机构）", Paragraph(text.hospital, cell), "统一社会信用代码", text.hospital_uscc],
            [
                "乙方（中选企业）",
                Paragraph(text.manufacturer, cell),
                "统一社会信用代码",
                text.manufacturer_uscc,
            ],
        ]
        + ([["续签自", text.renews, "", ""]] if text.renews else []),
        colWidths=[80, 170, 80, 194],
        hAlign="LEFT",
    )
    heads.setStyle(table_style(font_size=8.5))
    distributors = "、".join(text.distributors) or "（暂无授权配送企业 none authorized yet）"
    story: list[Flowable] = [
        Paragraph("带量采购购销协议", style(16, leading=22, alignment=1)),
        Paragraph("Volume-based procurement agreement", style(8, alignment=1)),
        Spacer(1, 4 * mm),
        heads,
        Spacer(1, 4 * mm),
        lines,
        Spacer(1, 3 * mm),
        Paragraph(f"配送企业 (distributors)：{distributors}", body),
        Spacer(1, 3 * mm),
        *[Paragraph(term, body) for term in TERMS],
        Spacer(1, 6 * mm),
        Paragraph("甲方（电子签名）：__________________　　乙方（电子签名）：__________________", body),
        Spacer(1, 3 * mm),
        Paragraph(f"协议版本（内容摘要 SHA-256）：{text.digest}", style(7.5, leading=10)),
        Paragraph("验证 (verify)：/verify/agreements", style(7.5, leading=10)),
    ]
    buffer = io.BytesIO()
    title = f"购销协议 {text.number}"
    template = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=16 * mm,
        title=title,
        author="VBP 集中带量采购平台",
        subject=f"{text.hospital} × {text.manufacturer}",
    )
    on_page = metadata(title, text.hospital)
    footer = f"{text.number} · 版本 {text.digest[:16]}"
    template.build(story, onFirstPage=on_page, onLaterPages=on_page, canvasmaker=numbered_canvas(footer))
    return buffer.getvalue()
