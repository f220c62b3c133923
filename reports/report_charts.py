"""Charts of the indicator PDF (reportlab.graphics): bars per group with a target line, and lines
month by month. Category labels are wrapped onto several lines (or slanted when there are many
groups), never cut; the drawing grows to hold them."""

from __future__ import annotations

from decimal import Decimal

from reportlab.graphics.charts.barcharts import VerticalBarChart
from reportlab.graphics.charts.legends import Legend
from reportlab.graphics.charts.linecharts import HorizontalLineChart
from reportlab.graphics.shapes import Drawing, Line, String
from reportlab.graphics.widgets.markers import makeMarker
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm

from reports.documents import BarChart, TrendChart
from reports.pdf import cjk_font
from reports.statement_pdf import wrap

SERIES_COLOURS = [colors.HexColor("#2f6fb0"), colors.HexColor("#e08a2c"), colors.HexColor("#4c9a5a")]
TARGET_COLOURS = [colors.red, colors.HexColor("#a05000")]
WIDTH = A4[0] - 30 * mm
PLOT_HEIGHT = 62 * mm - 48
LABEL_SIZE = 6.5
#: More groups than this and the labels are slanted instead of wrapped under each bar.
UPRIGHT_GROUPS = 12


def _labels(labels: list[str], plot_width: float) -> tuple[list[str], int, float]:
    """(wrapped labels, angle, height they need below the axis)."""
    count = max(len(labels), 1)
    if count <= UPRIGHT_GROUPS:
        per_line = max((plot_width / count - 4) / LABEL_SIZE, 2)
        wrapped = [wrap(label, per_line) for label in labels]
        angle = 0
        lines = max((w.count("\n") + 1 for w in wrapped), default=1)
        return wrapped, angle, lines * LABEL_SIZE * 1.2 + 6
    wrapped = [wrap(label, 12) for label in labels]
    lines = max((w.count("\n") + 1 for w in wrapped), default=1)
    return wrapped, 45, (12 * LABEL_SIZE + lines * LABEL_SIZE * 1.2) * 0.75 + 6


def _style_axes(chart: VerticalBarChart | HorizontalLineChart, labels: list[str], angle: int) -> None:
    chart.categoryAxis.categoryNames = labels or [""]
    chart.categoryAxis.labels.fontName = cjk_font()
    chart.categoryAxis.labels.fontSize = LABEL_SIZE
    chart.categoryAxis.labels.leading = LABEL_SIZE * 1.2
    if angle:
        chart.categoryAxis.labels.angle = angle
        chart.categoryAxis.labels.boxAnchor = "ne"
    chart.valueAxis.labels.fontName = cjk_font()
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0


def _legend(drawing: Drawing, x: float, y: float, names: list[str]) -> None:
    legend = Legend()
    legend.x, legend.y = x, y
    legend.fontName, legend.fontSize = cjk_font(), 7
    legend.colorNamePairs = [(SERIES_COLOURS[i % 3], name) for i, name in enumerate(names)]
    drawing.add(legend)


def _target(drawing: Drawing, chart: object, rate: Decimal, text: str, colour: object, scale: int) -> None:
    x, y0, width, height = chart.x, chart.y, chart.width, chart.height  # type: ignore[attr-defined]
    y = y0 + height * float(rate * scale) / chart.valueAxis.valueMax  # type: ignore[attr-defined]
    drawing.add(Line(x, y, x + width, y, strokeColor=colour, strokeDashArray=[3, 2]))
    drawing.add(String(x + width + 4, y - 3, text, fontName=cjk_font(), fontSize=7, fillColor=colour))


def bar_chart(spec: BarChart) -> Drawing:
    # Coordinates are floats by nature; the values drawn are rates already rounded in Decimal.
    scale = 100 if spec.percent else 1
    values = [[float(v * scale) for v in series] for _, series in spec.series]
    top = max([*(v for series in values for v in series), float((spec.target or Decimal(0)) * scale), 1.0])
    plot_width = WIDTH - 150
    labels, angle, below = _labels(spec.labels, plot_width)
    drawing = Drawing(WIDTH, PLOT_HEIGHT + below + 28)
    drawing.initialFontName = cjk_font()  # the renderer's default is Helvetica, never embedded
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 40, below + 8, plot_width, PLOT_HEIGHT
    chart.data = values or [[0]]
    _style_axes(chart, labels, angle)
    chart.valueAxis.valueMax = 100 if spec.percent and top <= 100 else top * 1.1
    chart.valueAxis.labelTextFormat = "%d%%" if spec.percent else "%d"
    for i in range(len(values)):
        chart.bars[i].fillColor = SERIES_COLOURS[i % len(SERIES_COLOURS)]
    drawing.add(chart)
    if spec.target is not None:
        label = f"目标 {spec.target * scale:.0f}%" if spec.percent else f"目标 {spec.target}"
        _target(drawing, chart, spec.target, label, colors.red, scale)
    _legend(drawing, chart.x + chart.width + 8, chart.y + chart.height / 2, [n for n, _ in spec.series])
    drawing.add(String(chart.x, chart.y + chart.height + 8, spec.title, fontName=cjk_font(), fontSize=9))
    return drawing


def trend_chart(spec: TrendChart) -> Drawing:
    scale = 100 if spec.percent else 1
    values = [[None if v is None else float(v * scale) for v in series] for _, series in spec.series]
    known = [v for series in values for v in series if v is not None]
    top = max([*known, *(float(rate * scale) for _, rate in spec.targets), 1.0])
    plot_width = WIDTH - 150
    labels, angle, below = _labels(spec.labels, plot_width)
    drawing = Drawing(WIDTH, PLOT_HEIGHT + below + 28)
    drawing.initialFontName = cjk_font()
    chart = HorizontalLineChart()
    chart.x, chart.y, chart.width, chart.height = 40, below + 8, plot_width, PLOT_HEIGHT
    chart.data = values or [[0]]
    _style_axes(chart, labels, angle)
    chart.valueAxis.valueMax = 100 if spec.percent and top <= 100 else top * 1.1
    chart.valueAxis.labelTextFormat = "%d%%" if spec.percent else "%d"
    chart.joinedLines = 1
    for i, series in enumerate(values):
        colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
        # A series known in one month only is a dot: reportlab cannot stroke a one-point line.
        chart.lines[i].strokeColor = colour if sum(v is not None for v in series) > 1 else None
        chart.lines[i].strokeWidth = 1.5
        chart.lines[i].symbol = makeMarker("FilledCircle", size=3, fillColor=colour, strokeColor=colour)
    drawing.add(chart)
    for i, (name, rate) in enumerate(spec.targets):
        label = f"{name} {rate * scale:.0f}%" if spec.percent else f"{name} {rate}"
        _target(drawing, chart, rate, label, TARGET_COLOURS[i % len(TARGET_COLOURS)], scale)
    legend_y = chart.y + chart.height / 2 - 12 * len(spec.targets)
    _legend(drawing, chart.x + chart.width + 8, legend_y, [n for n, _ in spec.series])
    drawing.add(String(chart.x, chart.y + chart.height + 8, spec.title, fontName=cjk_font(), fontSize=9))
    return drawing
