"""The indicator PDF opens with a one-page summary (each KPI against its target), ranks the groups
by the same figures the tables show, draws the monthly trend, and cuts no label: long hospital
names wrap in tables and charts. Read back with poppler (pdftotext) like the statement PDF."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from reports import indicators
from reports.documents import TrendChart
from reports.indicators import GroupBy, IndicatorReport
from reports.indicators.definitions import IndicatorRow
from reports.report_pdf import render_report
from tests.ordering import Market, make_market
from tests.reports.test_indicators import online_case, report

pytestmark = pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils missing")

AT = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)
LONG_NAME = "四川省成都市第一人民医院（四川省肿瘤医院）东区分院"
MAY, JUNE = date(2026, 5, 1), date(2026, 6, 1)


def _row(key: str, label: str, platform: int, off: int, *, due: int = 100, on_time: int = 10) -> IndicatorRow:
    return IndicatorRow(
        key,
        label,
        drug_platform_fen=platform,
        drug_off_platform_fen=off,
        hvc_platform_fen=platform,
        hvc_off_platform_fen=off,
        due_fen=due,
        on_time_fen=on_time,
        ordered_qty=10,
        delivered_qty=9,
    )


def _report(group_by: GroupBy = GroupBy.HOSPITAL) -> IndicatorReport:
    rows = (
        _row("1", "华西医院", 95, 5, on_time=100),
        _row("2", LONG_NAME, 80, 20, on_time=50),
        _row("3", "省人民医院", 91, 9, on_time=100),
    )
    total = _row("total", "合计", 266, 34, due=300, on_time=250)
    return IndicatorReport("全省", group_by, (JUNE,), date(2026, 6, 30), rows, total)


def _trend() -> IndicatorReport:
    rows = (_row("2026-05", "2026年05月", 85, 15), _row("2026-06", "2026年06月", 266, 34, on_time=100))
    return IndicatorReport("全省", GroupBy.MONTH, (MAY, JUNE), date(2026, 6, 30), rows, rows[-1])


def _pages(pdf: bytes) -> list[str]:
    text = subprocess.run(["pdftotext", "-raw", "-", "-"], input=pdf, capture_output=True, check=True).stdout
    return ["".join(page.split()) for page in text.decode().split("\f")[:-1]]


def test_the_first_page_is_a_summary_of_each_kpi_against_its_target() -> None:
    pages = _pages(render_report(indicators.to_document(_report(), generated_at=AT, trend=_trend())))
    first = pages[0]
    assert "指标摘要" in first
    for expected in (
        "药品线上采购率",
        "88.67%",  # 266 / 300
        "≥90.00%",
        "未达标",
        "高值耗材线上采购率",
        "≥80.00%",
        "达标",
        "约定采购量完成率",
        "按时回款率",
        "配送率",
    ):
        assert expected in first, expected
    assert "一、线上采购率" not in first  # the details start on page 2
    assert "一、线上采购率" in pages[1]


def test_groups_are_ranked_by_the_figures_the_tables_show() -> None:
    document = indicators.to_document(_report(), generated_at=AT)
    [ranking] = [s for s in document.sections if s.heading.startswith("五、排名")]
    online = next(t for t in ranking.tables if t.title.startswith("药品线上采购率"))
    assert [row[1] for row in online.rows] == ["华西医院", "省人民医院", LONG_NAME]
    assert [row[2] for row in online.rows] == ["95.00%", "91.00%", "80.00%"]
    # Equal figures share a place.
    delivery = next(t for t in ranking.tables if t.title == "配送率")
    assert [row[0] for row in delivery.rows] == ["1", "1", "1"]
    # A month report has no ranking: months are a trend, not a league.
    assert not [s for s in indicators.to_document(_trend()).sections if s.heading.startswith("五、排名")]


def test_the_monthly_trend_is_drawn_from_the_monthly_report() -> None:
    document = indicators.to_document(_report(), generated_at=AT, trend=_trend())
    [trend] = [s for s in document.sections if s.heading.startswith("六、月度趋势")]
    [online, *_] = [c for c in trend.charts if isinstance(c, TrendChart)]
    assert online.labels == ["2026年05月", "2026年06月"]
    assert online.series[0][1] == [_trend().rows[0].drug_online_rate, _trend().rows[1].drug_online_rate]
    text = "".join(_pages(render_report(document)))
    assert "月度趋势" in text
    assert "85.00%" in text  # May's drug online rate, in the trend table


def test_long_names_wrap_instead_of_being_cut() -> None:
    text = "".join(_pages(render_report(indicators.to_document(_report(), generated_at=AT))))
    # Every table naming the group prints the whole name (wrapped over lines, not cut).
    assert text.count(LONG_NAME) >= 4


@pytest.fixture
def market(session: Session) -> Market:
    return make_market(session)


def test_the_trend_is_the_same_computation_grouped_by_month(market: Market) -> None:
    online_case(market, drugs=7_900_000, tcm=1_500_000, drugs_off=600_000, stents=0, hvc_off=0)
    june = report(market, months=[JUNE])
    monthly = indicators.monthly_trend(market.session, market.world.bureau, june)
    assert monthly.group_by is GroupBy.MONTH
    assert monthly.months == tuple(date(2026, m, 1) for m in range(1, 7))  # six months up to June
    may = report(market, months=[MAY])
    [may_row] = [r for r in monthly.rows if r.key == "2026-05"]
    assert may_row.drug_online_rate == may.total.drug_online_rate


@pytest.mark.parametrize("groups", [3, 12, 13, 40])
def test_chart_labels_keep_every_character_and_fit_the_page(groups: int) -> None:
    from reportlab.graphics.charts.barcharts import HorizontalBarChart, VerticalBarChart
    from reportlab.lib.units import mm

    from reports.documents import BarChart
    from reports.report_charts import bar_chart

    names = [f"{LONG_NAME}{n}" for n in range(groups)]
    drawing = bar_chart(
        BarChart("药品线上采购率", names, [("药品", [Decimal("0.5")] * groups)], Decimal("0.9"))
    )
    [chart] = [c for c in drawing.contents if isinstance(c, HorizontalBarChart | VerticalBarChart)]
    assert isinstance(chart, HorizontalBarChart) == (groups > 12)  # many groups: bars across, names beside
    assert ["".join(label.split("\n")) for label in chart.categoryAxis.categoryNames] == names
    assert drawing.height < 297 * mm - 31 * mm  # fits one page's frame
