"""The report as a document: sections of charts and tables for the PDF renderer. Rates judged
against a target or against each other are printed by ledger.figures.rates, so a sentence never
says "80.00%，目标 80.00%，未达标"."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from core import clock
from core.money import fen_to_display, quantize
from ledger.figures import meets, percent
from reports.documents import BarChart, ReportDocument, Section, Table
from reports.indicators.definitions import (
    DRUG_ONLINE_TARGET,
    GROUP_LABELS,
    HVC_ONLINE_TARGET,
    GroupBy,
    IndicatorReport,
    IndicatorRow,
)
from reports.indicators.overview import rankings, summary
from reports.indicators.overview import trend as monthly_trend_section

Getter = Callable[[IndicatorRow], Any]
#: Bars stay readable up to a few dozen groups (months, regions); beyond, tables only.
MAX_CHART_GROUPS = 40


def _pct(value: Decimal | None, against: Decimal | None = None) -> str:
    return percent(value, against)


def _days(value: Decimal | None) -> str:
    return "—" if value is None else str(quantize(value, Decimal("0.1")))


def _verdict(rate: Decimal | None, target: Decimal) -> str:
    if rate is None:
        return "无数据"
    return f"{percent(rate, target)}，目标 {percent(target)}，{'达标' if meets(rate, target) else '未达标'}"


def _track(on_track: bool | None) -> str:
    return "" if on_track is None else ("，达到序时进度" if on_track else "，落后于序时进度")


def to_document(
    report: IndicatorReport, *, generated_at: datetime | None = None, trend: IndicatorReport | None = None
) -> ReportDocument:
    """A summary page, then sections of charts and tables for the PDF renderer (chart values are
    the exact rates), the groups' rankings and the monthly trend (`trend`: the same indicators
    grouped by month, `overview.monthly_trend`; a report by month is its own trend)."""
    t = report.total
    rows = [*report.rows, t]
    charted = len(report.rows) <= MAX_CHART_GROUPS

    def table(title: str, cols: list[tuple[Any, ...]]) -> Table:
        """Columns (title, kind, getter[, what a rate is judged against])."""

        def text(row: IndicatorRow, kind: str, get: Getter, against: Getter | None = None) -> str:
            value = get(row)
            if kind == "fen":
                return "—" if value is None else fen_to_display(value)
            if kind == "int":
                return str(value)
            return _pct(value, against(row) if against else None)

        return Table(
            title,
            [GROUP_LABELS[report.group_by], *[c[0] for c in cols]],
            [[r.label, *[text(r, *c[1:]) for c in cols]] for r in rows],
            numeric=list(range(1, len(cols) + 1)),
        )

    def chart(
        title: str,
        series: list[tuple[str, Callable[[IndicatorRow], Decimal | None]]],
        target: Decimal | None = None,
    ) -> list[BarChart]:
        if not charted:
            return []
        # Groups without a value are left off rather than drawn as 0 %; with none, the total.
        shown = [r for r in report.rows if any(get(r) is not None for _, get in series)] or [t]
        values = [(name, [get(r) or Decimal(0) for r in shown]) for name, get in series]
        return [BarChart(title, [r.label for r in shown], values, target)]

    months = f"{report.months[0]:%Y年%m月}" + (
        f"至{report.months[-1]:%Y年%m月}" if len(report.months) > 1 else ""
    )
    retained = (
        "" if t.retained_savings_fen is None else f"；结余留用 {fen_to_display(t.retained_savings_fen)} 元"
    )
    sections = [
        Section(
            "一、线上采购率 (online procurement rate)",
            [
                f"药品线上采购率（不含中药饮片）：{_verdict(t.drug_online_rate, DRUG_ONLINE_TARGET)}。",
                f"高值医用耗材线上采购率：{_verdict(t.hvc_online_rate, HVC_ONLINE_TARGET)}。",
                "平台采购额按验收月统计，退货在退货当月冲减。",
            ],
            [
                *chart("药品线上采购率", [("药品", lambda r: r.drug_online_rate)], DRUG_ONLINE_TARGET),
                *chart("高值耗材线上采购率", [("高值耗材", lambda r: r.hvc_online_rate)], HVC_ONLINE_TARGET),
            ],
            [
                table(
                    "线上采购率",
                    [
                        ("药品平台(元)", "fen", lambda r: r.drug_platform_fen),
                        ("药品线下(元)", "fen", lambda r: r.drug_off_platform_fen),
                        ("药品线上率", "rate", lambda r: r.drug_online_rate, lambda _: DRUG_ONLINE_TARGET),
                        ("耗材平台(元)", "fen", lambda r: r.hvc_platform_fen),
                        ("耗材线下(元)", "fen", lambda r: r.hvc_off_platform_fen),
                        ("耗材线上率", "rate", lambda r: r.hvc_online_rate, lambda _: HVC_ONLINE_TARGET),
                    ],
                )
            ],
        ),
        Section(
            "二、约定采购量完成情况 (agreed-volume completion)",
            [
                f"约定采购量完成率 {_pct(t.completion_rate, t.time_elapsed)}，"
                f"序时进度 {_pct(t.time_elapsed, t.completion_rate)}"
                f"{_track(t.completion_on_track)}（截至 {report.as_of:%Y-%m-%d}）。"
            ],
            chart(
                "完成率与序时进度",
                [("完成率", lambda r: r.completion_rate), ("序时进度", lambda r: r.time_elapsed)],
            ),
            [
                table(
                    "约定采购量",
                    [
                        ("约定量", "int", lambda r: r.agreed_units),
                        ("已完成", "int", lambda r: r.completed_units),
                        ("完成率", "rate", lambda r: r.completion_rate, lambda r: r.time_elapsed),
                        ("序时进度", "rate", lambda r: r.time_elapsed, lambda r: r.completion_rate),
                    ],
                )
            ],
        ),
        Section(
            "三、回款与配送 (payment and delivery)",
            [
                f"按时回款率（笔数）{_pct(t.on_time_count_rate)}，（金额）{_pct(t.on_time_amount_rate)}；"
                f"回款率 {_pct(t.payment_rate)}；验收至付款平均 {_days(t.average_days_to_payment)} 天。",
                f"配送率 {_pct(t.delivery_rate)}，及时到货率 {_pct(t.on_time_arrival_rate)}。",
            ],
            chart(
                "按时回款率与配送率",
                [("按时回款(金额)", lambda r: r.on_time_amount_rate), ("配送率", lambda r: r.delivery_rate)],
            ),
            [
                table(
                    "回款与配送",
                    [
                        ("按时(笔数)", "rate", lambda r: r.on_time_count_rate),
                        ("按时(金额)", "rate", lambda r: r.on_time_amount_rate),
                        ("回款率", "rate", lambda r: r.payment_rate),
                        ("配送率", "rate", lambda r: r.delivery_rate),
                        ("及时到货率", "rate", lambda r: r.on_time_arrival_rate),
                    ],
                )
            ],
        ),
        Section(
            "四、中选产品使用与节约 (winner usage and savings)",
            [
                f"中选产品使用占比 {_pct(t.winner_share)}；较集采前节约 {fen_to_display(t.savings_fen)} 元，"
                f"节约率 {_pct(t.savings_rate)}{retained}。"
            ],
            chart("中选产品使用占比", [("中选占比", lambda r: r.winner_share)]),
            [
                table(
                    "使用占比与节约",
                    [
                        ("中选占比", "rate", lambda r: r.winner_share),
                        ("集采前金额(元)", "fen", lambda r: r.pre_vbp_fen),
                        ("节约金额(元)", "fen", lambda r: r.savings_fen),
                        ("节约率", "rate", lambda r: r.savings_rate),
                    ],
                )
            ],
        ),
    ]
    monthly = trend if trend is not None else report if report.group_by is GroupBy.MONTH else None
    extra = [rankings(report, "排名 (rankings)"), monthly_trend_section(monthly, "月度趋势 (monthly trend)")]
    for number, section in zip(("五", "六"), [x for x in extra if x], strict=False):
        sections.append(replace(section, heading=f"{number}、{section.heading}"))
    if report.notes:
        sections.append(Section("说明 (notes)", list(report.notes)))
    return ReportDocument(
        "医药集中带量采购监测指标报告",
        f"{report.scope} · {months} · 按{GROUP_LABELS[report.group_by]}",
        generated_at or clock.now(),
        sections,
        summary=summary(report),
        summary_notes=[
            f"范围：{report.scope}；期间：{months}；统计截止日：{report.as_of:%Y-%m-%d}。",
            "目标依据：药品（不含中药饮片）线上采购率≥90%、高值医用耗材≥80%（四川省“十四五”医疗保障规划主要指标）；"
            "约定采购量按序时进度（已过月数÷12）考核；其余指标暂无统一目标，列示供比较。",
            "明细、排名与月度趋势见后页。",
        ],
    )
