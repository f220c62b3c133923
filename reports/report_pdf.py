"""An indicator report (reports.documents.ReportDocument) as a PDF: a one-page summary of each
KPI against its target, then headings, paragraphs, charts (reports.report_charts) and tables with
repeated headers; Chinese, font embedded, "第 x 页 / 共 y 页" on every page. Names and headers
wrap inside their cells, so no label is cut off."""

from __future__ import annotations

import io

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table

from reports.documents import Kpi, ReportDocument, TrendChart
from reports.documents import Table as TableSpec
from reports.pdf import metadata, numbered_canvas, style, table_style
from reports.report_charts import WIDTH, bar_chart, trend_chart
from reports.statement_pdf import when, wrap

#: The names column of a table when no widths are given (points); the rest share what is left.
NAME_WIDTH = 110
FONT_SIZE = 7
VERDICT_COLOURS = {True: "#1a7f37", False: "#c0392b"}


def _table(spec: TableSpec) -> Table:
    count = len(spec.columns)
    if spec.widths:
        widths = [WIDTH * share for share in spec.widths]
    else:
        rest = (WIDTH - NAME_WIDTH) / max(count - 1, 1)
        widths = [NAME_WIDTH, *[rest] * (count - 1)] if count > 1 else [WIDTH]
    numeric = set(spec.numeric)
    # Headers and text columns wrap by character count (fast: a province has ~2,000 hospitals;
    # a Paragraph per cell would triple the time); numbers are short and stay as they are.
    ems = [(width - 4) / FONT_SIZE for width in widths]
    rows: list[list[str]] = [[wrap(c, ems[i]) for i, c in enumerate(spec.columns)]]
    for row in spec.rows:
        rows.append([cell if i in numeric else wrap(cell, ems[i]) for i, cell in enumerate(row)])
    body = Table(rows, colWidths=widths, repeatRows=1, hAlign="LEFT")
    body.setStyle(table_style(numeric_from=min(spec.numeric) if spec.numeric else None, font_size=FONT_SIZE))
    return body


def _summary(doc: ReportDocument) -> list[Flowable]:
    cell, strong = style(9, leading=12), style(9, leading=12)
    rows: list[list[object]] = [[Paragraph(t, cell) for t in ("指标", "本期", "目标", "结论")]]
    for kpi in doc.summary:
        name, target = Paragraph(kpi.name, cell), Paragraph(kpi.target, cell)
        rows.append([name, kpi.value, target, _verdict(kpi, strong)])
    table = Table(rows, colWidths=[WIDTH * 0.36, WIDTH * 0.16, WIDTH * 0.26, WIDTH * 0.22], hAlign="LEFT")
    table.setStyle(table_style(numeric_from=1, numeric_to=1, font_size=9))
    return [
        Paragraph("指标摘要 (summary)", style(13, leading=18, spaceBefore=4, spaceAfter=6)),
        table,
        Spacer(1, 4 * mm),
        *[Paragraph(note, style(8.5, leading=12, spaceAfter=2)) for note in doc.summary_notes],
        PageBreak(),
    ]


def _verdict(kpi: Kpi, font: object) -> Paragraph:
    colour = VERDICT_COLOURS.get(kpi.ok) if kpi.ok is not None else None
    text = f'<font color="{colour}">{kpi.verdict}</font>' if colour else kpi.verdict
    return Paragraph(text, font)  # type: ignore[arg-type]


def render_report(doc: ReportDocument) -> bytes:
    heading = style(11, leading=16, spaceBefore=8, spaceAfter=4)
    story: list[Flowable] = [
        Paragraph(doc.title, style(16, leading=22, alignment=1)),
        Paragraph(doc.subtitle, style(9, alignment=1)),
        Paragraph(f"生成时间 {when(doc.generated_at)}", style(8, alignment=1)),
        Spacer(1, 4 * mm),
    ]
    if doc.summary:
        story += _summary(doc)
    for section in doc.sections:
        story.append(Paragraph(section.heading, heading))
        story += [Paragraph(text, style(9)) for text in section.paragraphs]
        for chart in section.charts:
            story.append(trend_chart(chart) if isinstance(chart, TrendChart) else bar_chart(chart))
        for table in section.tables:
            if len(section.tables) > 1:
                story.append(Paragraph(table.title, style(8.5, leading=12, spaceBefore=4)))
            story += [Spacer(1, 2 * mm), _table(table)]
    buffer = io.BytesIO()
    template = SimpleDocTemplate(
        buffer,
        pagesize=(WIDTH + 30 * mm, 297 * mm),
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=16 * mm,
        title=doc.title,
        author="VBP 集中带量采购平台",
        subject=doc.subtitle,
    )
    on_page = metadata(doc.title, doc.subtitle)
    template.build(story, onFirstPage=on_page, onLaterPages=on_page, canvasmaker=numbered_canvas(doc.title))
    return buffer.getvalue()
