"""The report as data: JSON (decimal strings, never floats) and an xlsx workbook, one column list
for both. Rates compared with a target or with each other are printed by ledger.figures.rates, so a
printed rate never contradicts the verdict beside it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core.money import fen_to_decimal, fen_to_str, quantize
from core.spreadsheets import Percent, Sheet, display_width, write_xlsx
from ledger.figures import printed_rate
from reports.indicators.definitions import (
    DRUG_ONLINE_TARGET,
    GROUP_LABELS,
    HVC_ONLINE_TARGET,
    IndicatorReport,
    IndicatorRow,
)

Getter = Callable[[IndicatorRow], Any]


@dataclass(frozen=True)
class Column:
    name: str  #: JSON name
    title: str  #: Chinese header
    kind: str  #: "rate" | "fen" | "int" | "days" | "bool"
    get: Getter
    #: What a rate is judged against (a target, or the other rate of a pair): printed to match.
    against: Getter | None = None


COLUMNS: list[Column] = [
    Column(
        "drug_online_rate",
        "药品线上采购率(不含中药饮片)",
        "rate",
        lambda r: r.drug_online_rate,
        lambda _: DRUG_ONLINE_TARGET,
    ),
    Column("drug_online_pass", "药品是否达标(≥90%)", "bool", lambda r: r.drug_online_pass),
    Column("drug_platform", "药品平台采购额(元)", "fen", lambda r: r.drug_platform_fen),
    Column("drug_off_platform", "药品线下采购额(元)", "fen", lambda r: r.drug_off_platform_fen),
    Column(
        "hvc_online_rate",
        "高值耗材线上采购率",
        "rate",
        lambda r: r.hvc_online_rate,
        lambda _: HVC_ONLINE_TARGET,
    ),
    Column("hvc_online_pass", "高值耗材是否达标(≥80%)", "bool", lambda r: r.hvc_online_pass),
    Column("hvc_platform", "高值耗材平台采购额(元)", "fen", lambda r: r.hvc_platform_fen),
    Column("hvc_off_platform", "高值耗材线下采购额(元)", "fen", lambda r: r.hvc_off_platform_fen),
    Column("agreed_units", "约定采购量(最小单位)", "int", lambda r: r.agreed_units),
    Column("completed_units", "已完成量(最小单位)", "int", lambda r: r.completed_units),
    Column(
        "completion_rate", "约定采购量完成率", "rate", lambda r: r.completion_rate, lambda r: r.time_elapsed
    ),
    Column("time_elapsed", "序时进度", "rate", lambda r: r.time_elapsed, lambda r: r.completion_rate),
    Column("completion_on_track", "是否达到序时进度", "bool", lambda r: r.completion_on_track),
    Column("due_lines", "应付笔数", "int", lambda r: r.due_lines),
    Column("on_time_lines", "按时付款笔数", "int", lambda r: r.on_time_lines),
    Column("on_time_count_rate", "按时回款率(笔数)", "rate", lambda r: r.on_time_count_rate),
    Column("due", "应付金额(元)", "fen", lambda r: r.due_fen),
    Column("on_time", "按时付款金额(元)", "fen", lambda r: r.on_time_fen),
    Column("on_time_amount_rate", "按时回款率(金额)", "rate", lambda r: r.on_time_amount_rate),
    Column("paid", "已付金额(元)", "fen", lambda r: r.paid_fen),
    Column("payment_rate", "回款率", "rate", lambda r: r.payment_rate),
    Column("average_days_to_payment", "验收至付款平均天数", "days", lambda r: r.average_days_to_payment),
    Column("ordered_qty", "订购数量(包装)", "int", lambda r: r.ordered_qty),
    Column("delivered_qty", "配送数量(包装)", "int", lambda r: r.delivered_qty),
    Column("delivery_rate", "配送率", "rate", lambda r: r.delivery_rate),
    Column("arrived_lines", "到货笔数", "int", lambda r: r.arrived_lines),
    Column("on_time_arrived_lines", "及时到货笔数", "int", lambda r: r.on_time_arrived_lines),
    Column("on_time_arrival_rate", "及时到货率", "rate", lambda r: r.on_time_arrival_rate),
    Column("winner_units", "中选产品用量(最小单位)", "int", lambda r: r.winner_units),
    Column("generic_units", "同通用名用量(最小单位)", "int", lambda r: r.generic_units),
    Column("winner_share", "中选产品使用占比", "rate", lambda r: r.winner_share),
    Column("pre_vbp", "集采前价格金额(元)", "fen", lambda r: r.pre_vbp_fen),
    Column("savings", "节约金额(元)", "fen", lambda r: r.savings_fen),
    Column("savings_rate", "节约率", "rate", lambda r: r.savings_rate),
    Column("retained_savings", "结余留用金额(元)", "fen", lambda r: r.retained_savings_fen),
]


def printed(column: Column, row: IndicatorRow) -> Any:
    """The column's value for `row` as exported: rates as printed Decimals, amounts in fen."""
    value = column.get(row)
    if value is None or column.kind != "rate":
        return value
    return printed_rate(value, column.against(row) if column.against else None)


def _json_value(kind: str, value: Any) -> Any:
    if value is None or kind in ("bool", "int"):
        return value
    if kind == "fen":
        return fen_to_str(value)
    if kind == "rate":
        return str(value)
    return str(quantize(value, Decimal("0.01")))  # days


def _json_row(row: IndicatorRow) -> dict[str, Any]:
    return {"key": row.key, "label": row.label} | {
        c.name: _json_value(c.kind, printed(c, row)) for c in COLUMNS
    }


def to_json(report: IndicatorReport) -> dict[str, Any]:
    """Amounts as yuan decimal strings, rates as decimal strings to 4 places (more when a verdict
    needs them, ledger.figures.rates); never floats."""
    return {
        "scope": report.scope,
        "group_by": report.group_by.value,
        "months": [f"{m:%Y-%m}" for m in report.months],
        "period_from": report.period_from.isoformat(),
        "period_before": report.period_before.isoformat(),
        "as_of": report.as_of.isoformat(),
        "targets": {"drug_online_rate": str(DRUG_ONLINE_TARGET), "hvc_online_rate": str(HVC_ONLINE_TARGET)},
        "drug_online_pass": report.drug_online_pass,
        "hvc_online_pass": report.hvc_online_pass,
        "rows": [_json_row(r) for r in report.rows],
        "total": _json_row(report.total),
        "notes": list(report.notes),
    }


def _cell(kind: str, value: Any) -> Any:
    if value is None:
        return ""
    if kind == "bool":
        return "达标" if value else "未达标"
    if kind == "fen":
        return fen_to_decimal(value)  # 900.00, two places always
    if kind == "days":
        return quantize(value, Decimal("0.01"))
    if kind == "rate":
        return Percent(value)  # shown as 92.94 %, stored as the exact 0.9294
    return value


def _widths(headers: list[str], rows: list[list[Any]]) -> list[float]:
    """Each column as wide as its widest header or text (Chinese characters count two), 10–60."""
    widths = []
    for index, header in enumerate(headers):
        texts = [header, *[str(row[index]) for row in rows if isinstance(row[index], str)]]
        widths.append(float(min(max(max(display_width(t) for t in texts) + 2, 10), 60)))
    return widths


def to_xlsx(report: IndicatorReport) -> bytes:
    """One row per group (its key and name side by side) and a bold totals row, Chinese headers,
    rates as percentages, an autofilter and frozen header and name columns; a second sheet says
    what was counted."""
    headers = [GROUP_LABELS[report.group_by], "名称", *[c.title for c in COLUMNS]]
    rows = [[r.key, r.label, *[_cell(c.kind, printed(c, r)) for c in COLUMNS]] for r in report.rows]
    totals = [report.total.label, "", *[_cell(c.kind, printed(c, report.total)) for c in COLUMNS]]
    about = Sheet(
        title="说明",
        headers=["项目", "内容"],
        rows=[
            ["范围", report.scope],
            ["月份", "、".join(f"{m:%Y-%m}" for m in report.months)],
            ["统计截止日", report.as_of.isoformat()],
            ["药品线上采购率目标", "≥90%（不含中药饮片）"],
            ["高值耗材线上采购率目标", "≥80%"],
            *[["说明", n] for n in report.notes],
        ],
        column_widths=[24, 80],
    )
    table = Sheet(
        title="采购监测指标",
        headers=headers,
        rows=rows,
        column_widths=_widths(headers, [*rows, totals]),
        totals=totals,
        freeze="C2",
    )
    return write_xlsx([table, about])
