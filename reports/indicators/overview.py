"""The indicator PDF's summary page (each KPI against its target), the rankings of the groups and
the monthly trend. Every figure is an IndicatorRow property (reports.indicators.definitions) and
every printed rate goes through ledger.figures.rates, exactly as in the tables and the xlsx."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from core import clock
from core.actors import Actor
from ledger.figures import meets, percent
from reports.documents import Kpi, Section, Table, TrendChart
from reports.indicators.compute import compute_indicators
from reports.indicators.definitions import (
    DRUG_ONLINE_TARGET,
    GROUP_LABELS,
    HVC_ONLINE_TARGET,
    GroupBy,
    IndicatorReport,
    IndicatorRow,
)

Rate = Callable[[IndicatorRow], Decimal | None]
#: Ranked: (title, figure, target or None). Savings and winner share depend on the product mix.
RANKED: list[tuple[str, Rate, Decimal | None]] = [
    ("药品线上采购率", lambda r: r.drug_online_rate, DRUG_ONLINE_TARGET),
    ("高值耗材线上采购率", lambda r: r.hvc_online_rate, HVC_ONLINE_TARGET),
    ("约定采购量完成率", lambda r: r.completion_rate, None),
    ("按时回款率(金额)", lambda r: r.on_time_amount_rate, None),
    ("配送率", lambda r: r.delivery_rate, None),
]
#: A ranking shows everyone up to this many groups, else the first 10 and the last 5.
RANK_ALL, RANK_TOP, RANK_BOTTOM = 15, 10, 5
#: Months the trend covers when the report itself covers fewer.
TREND_MONTHS = 6
NO_TARGET = "—"


def _against_target(name: str, rate: Decimal | None, target: Decimal) -> Kpi:
    ok = meets(rate, target)
    verdict = NO_TARGET if ok is None else ("达标" if ok else "未达标")
    return Kpi(name, percent(rate, target), f"≥{percent(target)}", verdict, ok)


def _untargeted(name: str, rate: Decimal | None) -> Kpi:
    return Kpi(name, percent(rate), NO_TARGET, NO_TARGET)


def summary(report: IndicatorReport) -> list[Kpi]:
    """The total's KPIs, each against its target (policy-basis.md, vbp-rules.md §6); those without
    a common target are shown with "—" rather than judged against an invented one."""
    t = report.total
    on_track = t.completion_on_track
    return [
        _against_target("药品线上采购率（不含中药饮片）", t.drug_online_rate, DRUG_ONLINE_TARGET),
        _against_target("高值耗材线上采购率", t.hvc_online_rate, HVC_ONLINE_TARGET),
        Kpi(
            "约定采购量完成率",
            percent(t.completion_rate, t.time_elapsed),
            f"序时进度 {percent(t.time_elapsed, t.completion_rate)}",
            NO_TARGET if on_track is None else ("达到序时进度" if on_track else "落后于序时进度"),
            on_track,
        ),
        _untargeted("按时回款率（金额）", t.on_time_amount_rate),
        _untargeted("按时回款率（笔数）", t.on_time_count_rate),
        _untargeted("回款率", t.payment_rate),
        _untargeted("配送率", t.delivery_rate),
        _untargeted("及时到货率", t.on_time_arrival_rate),
        _untargeted("中选产品使用占比", t.winner_share),
        _untargeted("节约率", t.savings_rate),
    ]


def rankings(report: IndicatorReport, heading: str) -> Section | None:
    """Groups from best to worst on each ranked figure (ties by name); none for months."""
    if report.group_by in (GroupBy.PROVINCE, GroupBy.MONTH) or len(report.rows) < 2:
        return None
    tables = []
    for title, rate, target in RANKED:
        ranked = sorted(
            ((value, row.label) for row in report.rows if (value := rate(row)) is not None),
            key=lambda pair: (-pair[0], pair[1]),
        )
        if not ranked:
            continue
        places = _places(ranked)
        if len(places) > RANK_ALL:
            places = places[:RANK_TOP] + places[-RANK_BOTTOM:]
        rows = [[str(n), label, percent(value, target)] for n, (value, label) in places]
        if len(ranked) > RANK_ALL:
            rows.insert(RANK_TOP, ["…", f"（共 {len(ranked)} 个，略去中间）", ""])
        header = ["名次", GROUP_LABELS[report.group_by], title]
        tables.append(Table(title, header, rows, numeric=[2], widths=[0.1, 0.6, 0.3]))
    note = f"按{GROUP_LABELS[report.group_by]}由高到低排列；无数据者不参与排名。"
    return Section(heading, [note], [], tables)


def _places(ranked: list[tuple[Decimal, str]]) -> list[tuple[int, tuple[Decimal, str]]]:
    """Competition ranking: equal figures share a place (1, 1, 3)."""
    places: list[tuple[int, tuple[Decimal, str]]] = []
    for n, pair in enumerate(ranked, start=1):
        same = places and places[-1][1][0] == pair[0]
        places.append((places[-1][0] if same else n, pair))
    return places


def trend(monthly: IndicatorReport | None, heading: str) -> Section | None:
    """Month by month: the online rates against their targets, payment, delivery and completion."""
    if monthly is None or monthly.group_by is not GroupBy.MONTH or len(monthly.rows) < 2:
        return None
    rows = list(monthly.rows)
    labels = [r.label for r in rows]

    def series(name: str, rate: Rate) -> tuple[str, list[Decimal | None]]:
        return name, [rate(r) for r in rows]

    charts = [
        TrendChart(
            "线上采购率月度趋势",
            labels,
            [series("药品", lambda r: r.drug_online_rate), series("高值耗材", lambda r: r.hvc_online_rate)],
            [("药品目标", DRUG_ONLINE_TARGET), ("耗材目标", HVC_ONLINE_TARGET)],
        ),
        TrendChart(
            "回款与配送月度趋势",
            labels,
            [
                series("按时回款(金额)", lambda r: r.on_time_amount_rate),
                series("配送率", lambda r: r.delivery_rate),
                series("中选占比", lambda r: r.winner_share),
            ],
        ),
    ]
    columns: list[tuple[str, Rate, Decimal | None]] = [
        ("药品线上率", lambda r: r.drug_online_rate, DRUG_ONLINE_TARGET),
        ("耗材线上率", lambda r: r.hvc_online_rate, HVC_ONLINE_TARGET),
        ("按时回款(金额)", lambda r: r.on_time_amount_rate, None),
        ("配送率", lambda r: r.delivery_rate, None),
        ("中选占比", lambda r: r.winner_share, None),
    ]
    table = Table(
        "月度趋势",
        ["月份", *[c[0] for c in columns]],
        [[r.label, *[percent(get(r), target) for _, get, target in columns]] for r in rows],
        numeric=list(range(1, len(columns) + 1)),
    )
    return Section(heading, [], charts, [table])


def monthly_trend(
    session: Session, actor: Actor, report: IndicatorReport, *, months: int = TREND_MONTHS
) -> IndicatorReport:
    """The same indicators by month, for the report's months or the `months` up to its last one
    (computed by compute_indicators, like the report itself, over what the actor may see)."""
    last = report.months[-1]
    first: date = last
    for _ in range(months - 1):
        first = clock.previous_month(first)
    return compute_indicators(
        session,
        actor,
        period_from=min(first, report.months[0]),
        period_to=last,
        group_by=GroupBy.MONTH,
        as_of=report.as_of,
    )
