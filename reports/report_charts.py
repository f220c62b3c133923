"""Charts of the indicator PDF (reportlab.graphics): bars per group with a target line, and lines
month by month. Category labels are wrapped onto several lines (or slanted when there are many
groups), never cut; the drawing grows to hold them."""

from __future__ import annotations

from decimal import Decimal

from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
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
#: The longest line of a slanted label (characters).
SLANTED_EMS = 24
#: Many groups: the names' column and each group's row (points).
SIDEWAYS_LABEL_WIDTH, SIDEWAYS_ROW, SIDEWAYS_MAX_HEIGHT = 150, 20, 640


def _labels(labels: list[str], plot_width: float) -> tuple[list[str], int, float, float]:
    """(wrapped labels, angle, height they need below the axis, how far the first reaches left
    of the plot)."""
    count = max(len(labels), 1)
    if count <= UPRIGHT_GROUPS:
        per_line = max((plot_width / count - 4) / LABEL_SIZE, 2)
        wrapped = [wrap(label, per_line) for label in labels]
        angle = 0
        lines = max((w.count("\n") + 1 for w in wrapped), default=1)
        return wrapped, angle, lines * LABEL_SIZE * 1.2 + 6, 0.0
    # Many groups: one slanted line each (wrapped lines would run into the neighbours' labels);
    # only a name longer than SLANTED_EMS wraps, onto lines that stay short.
    wrapped = [wrap(label, SLANTED_EMS) for label in labels]
    longest = max((len(line) for w in wrapped for line in w.split("\n")), default=1)
    lines = max((w.count("\n") + 1 for w in wrapped), default=1)
    reach = longest * LABEL_SIZE * 0.71 - plot_width / count / 2
    return wrapped, 45, (longest * LABEL_SIZE + lines * LABEL_SIZE * 1.2) * 0.71 + 8, reach


def _frame(labels: list[str]) -> tuple[list[str], int, float, float]:
    """The labels as drawn, their angle, the room below the plot and the plot's left edge (moved
    right so that a slanted first label stays on the page)."""
    plot_width = WIDTH - 150
    wrapped, angle, below, reach = _labels(labels, plot_width)
    return wrapped, angle, below, max(40.0, min(reach + 8, WIDTH / 3))


def _style_axes(
    chart: VerticalBarChart | HorizontalBarChart | HorizontalLineChart, labels: list[str], angle: int
) -> None:
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
    if len(spec.labels) > UPRIGHT_GROUPS:
        return _sideways_bar_chart(spec)
    # Coordinates are floats by nature; the values drawn are rates already rounded in Decimal.
    scale = 100 if spec.percent else 1
    values = [[float(v * scale) for v in series] for _, series in spec.series]
    top = max([*(v for series in values for v in series), float((spec.target or Decimal(0)) * scale), 1.0])
    labels, angle, below, left = _frame(spec.labels)
    drawing = Drawing(WIDTH, PLOT_HEIGHT + below + 28)
    drawing.initialFontName = cjk_font()  # the renderer's default is Helvetica, never embedded
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = left, below + 8, WIDTH - 110 - left, PLOT_HEIGHT
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
    labels, angle, below, left = _frame(spec.labels)
    drawing = Drawing(WIDTH, PLOT_HEIGHT + below + 28)
    drawing.initialFontName = cjk_font()
    chart = HorizontalLineChart()
    chart.x, chart.y, chart.width, chart.height = left, below + 8, WIDTH - 110 - left, PLOT_HEIGHT
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


def _sideways_bar_chart(spec: BarChart) -> Drawing:
    """Many groups: bars run across the page and the names stand at their left, wrapped onto two
    lines if need be, instead of being slanted under crowded bars."""
    scale = 100 if spec.percent else 1
    values = [[float(v * scale) for v in series] for _, series in spec.series]
    top = max([*(v for series in values for v in series), float((spec.target or Decimal(0)) * scale), 1.0])
    per_line = (SIDEWAYS_LABEL_WIDTH - 6) / LABEL_SIZE
    labels = [wrap(label, per_line) for label in spec.labels]
    # Rows as tall as two lines of a name, fewer points each when many must fit on one page.
    height = min(SIDEWAYS_ROW * len(labels), SIDEWAYS_MAX_HEIGHT) * max(len(spec.series), 1) ** 0.5
    height = min(height, SIDEWAYS_MAX_HEIGHT)
    drawing = Drawing(WIDTH, height + 48)
    drawing.initialFontName = cjk_font()
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = (
        SIDEWAYS_LABEL_WIDTH,
        18,
        WIDTH - SIDEWAYS_LABEL_WIDTH - 90,
        height,
    )
    chart.data = values or [[0]]
    chart.categoryAxis.reverseDirection = 1  # the first group on top, as in the tables
    _style_axes(chart, labels, 0)
    chart.categoryAxis.labels.boxAnchor = "e"
    chart.valueAxis.valueMax = 100 if spec.percent and top <= 100 else top * 1.1
    chart.valueAxis.labelTextFormat = "%d%%" if spec.percent else "%d"
    for i in range(len(values)):
        chart.bars[i].fillColor = SERIES_COLOURS[i % len(SERIES_COLOURS)]
    drawing.add(chart)
    if spec.target is not None:
        x = chart.x + chart.width * float(spec.target * scale) / chart.valueAxis.valueMax
        colour = colors.red
        drawing.add(Line(x, chart.y, x, chart.y + chart.height, strokeColor=colour, strokeDashArray=[3, 2]))
        label = f"目标 {spec.target * scale:.0f}%" if spec.percent else f"目标 {spec.target}"
        drawing.add(
            String(
                x + 2, chart.y + chart.height + 3, label, fontName=cjk_font(), fontSize=7, fillColor=colour
            )
        )
    _legend(drawing, chart.x + chart.width + 8, chart.y + chart.height / 2, [n for n, _ in spec.series])
    drawing.add(String(0, chart.y + chart.height + 18, spec.title, fontName=cjk_font(), fontSize=9))
    return drawing
