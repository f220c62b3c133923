"""An indicator report (reports.documents.ReportDocument) as a PDF: headings, paragraphs, bar
charts with an optional target line, and tables with repeated headers; Chinese, font embedded,
"第 x 页 / 共 y 页" on every page."""

from __future__ import annotations

import io
from decimal import Decimal

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.shapes import Drawing, Line, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Spacer, Table

from reports.documents import BarChart, ReportDocument
from reports.pdf import cjk_font, metadata, numbered_canvas, style, table_style
from reports.statement_pdf import when

SERIES_COLOURS = [colors.HexColor("#2f6fb0"), colors.HexColor("#e08a2c"), colors.HexColor("#4c9a5a")]
WIDTH = A4[0] - 30 * mm


def _chart(spec: BarChart) -> Drawing:
    # Coordinates are floats by nature; the values drawn are rates already rounded in Decimal.
    scale = 100 if spec.percent else 1
    values = [[float(v * scale) for v in series] for _, series in spec.series]
    top = max([*(v for series in values for v in series), float((spec.target or Decimal(0)) * scale), 1.0])
    drawing = Drawing(WIDTH, 62 * mm)
    drawing.initialFontName = cjk_font()  # the renderer's default is Helvetica, never embedded
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 40, 28, WIDTH - 150, 62 * mm - 48
    chart.data = values or [[0]]
    chart.categoryAxis.categoryNames = [label[:8] for label in spec.labels] or [""]
    chart.categoryAxis.labels.fontName = cjk_font()
    chart.categoryAxis.labels.fontSize = 6.5
    chart.valueAxis.labels.fontName = cjk_font()
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.valueAxis.valueMax = 100 if spec.percent and top <= 100 else top * 1.1
    chart.valueAxis.labelTextFormat = "%d%%" if spec.percent else "%d"
    for i in range(len(values)):
        chart.bars[i].fillColor = SERIES_COLOURS[i % len(SERIES_COLOURS)]
    drawing.add(chart)
    if spec.target is not None:
        y = chart.y + chart.height * float(spec.target * scale) / chart.valueAxis.valueMax
        drawing.add(
            Line(chart.x, y, chart.x + chart.width, y, strokeColor=colors.red, strokeDashArray=[3, 2])
        )
        label = f"目标 {spec.target * scale:.0f}%" if spec.percent else f"目标 {spec.target}"
        drawing.add(
            String(
                chart.x + chart.width + 4, y - 3, label, fontName=cjk_font(), fontSize=7, fillColor=colors.red
            )
        )
    legend = Legend()
    legend.x, legend.y = chart.x + chart.width + 8, chart.y + chart.height / 2
    legend.fontName, legend.fontSize = cjk_font(), 7
    legend.colorNamePairs = [(SERIES_COLOURS[i % 3], name) for i, (name, _) in enumerate(spec.series)]
    drawing.add(legend)
    drawing.add(String(chart.x, chart.y + chart.height + 8, spec.title, fontName=cjk_font(), fontSize=9))
    return drawing


def render_report(doc: ReportDocument) -> bytes:
    heading = style(11, leading=16, spaceBefore=8, spaceAfter=4)
    story: list[Flowable] = [
        Paragraph(doc.title, style(16, leading=22, alignment=1)),
        Paragraph(doc.subtitle, style(9, alignment=1)),
        Paragraph(f"生成时间 {when(doc.generated_at)}", style(8, alignment=1)),
        Spacer(1, 4 * mm),
    ]
    for section in doc.sections:
        story.append(Paragraph(section.heading, heading))
        story += [Paragraph(text, style(9)) for text in section.paragraphs]
        for chart in section.charts:
            story.append(_chart(chart))
        for table in section.tables:
            first = 62
            widths = [first, *[(WIDTH - first) / max(len(table.columns) - 1, 1)] * (len(table.columns) - 1)]
            body = Table([table.columns, *table.rows], colWidths=widths, repeatRows=1, hAlign="LEFT")
            body.setStyle(
                table_style(numeric_from=min(table.numeric) if table.numeric else None, font_size=7)
            )
            story += [Spacer(1, 2 * mm), body]
    buffer = io.BytesIO()
    template = SimpleDocTemplate(
        buffer,
        pagesize=A4,
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
