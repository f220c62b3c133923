"""The monthly supervision report (月度监督报告, issue 18 item 6): warnings by rule (raised in the
month, open at its end) against the previous month, and rankings — lowest delivery rates by
distributor and slowest payers by hospital (from the indicator figures, reports.indicators, the
one derivation of each: vbp-rules.md §6), largest price risks and largest non-winner shares (from
the warnings' own values). PDF (the indicator report's layout, font embedded) and xlsx."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core import clock
from core.actors import Actor
from core.organizations import Organization
from core.spreadsheets import Sheet, write_xlsx
from ledger.figures import percent
from ledger.supervision.models import SupervisionWarning
from ledger.supervision.warnings import load_rules
from reports.documents import ReportDocument, Section, Table
from reports.indicators import GroupBy, compute_indicators
from reports.report_pdf import render_report

#: Rows of each ranking.
TOP = 10


@dataclass(frozen=True)
class RuleCount:
    rule: str
    label: str
    raised: int
    open_at_end: int
    previous_raised: int
    previous_open_at_end: int

    @property
    def raised_delta(self) -> int:
        return self.raised - self.previous_raised

    @property
    def open_delta(self) -> int:
        return self.open_at_end - self.previous_open_at_end


@dataclass(frozen=True)
class Ranked:
    name: str
    value: str  #: printed figure
    detail: str = ""


@dataclass(frozen=True)
class SupervisionReport:
    month: date
    generated_at: datetime
    counts: list[RuleCount]
    lowest_delivery: list[Ranked]
    slowest_payers: list[Ranked]
    price_risks: list[Ranked]
    non_winner_shares: list[Ranked]


def _counts(session: Session, month: date) -> dict[str, tuple[int, int]]:
    """rule → (raised in the month, open at its end)."""
    w = SupervisionWarning
    after = clock.next_month(month)
    end = clock.local(after)
    raised = dict(
        session.execute(
            select(w.rule, func.count())
            .where(w.first_seen_on >= month, w.first_seen_on < after)
            .group_by(w.rule)
        ).all()
    )
    still_open = dict(
        session.execute(
            select(w.rule, func.count())
            .where(w.first_seen_on < after, or_(w.resolved_at.is_(None), w.resolved_at >= end))
            .group_by(w.rule)
        ).all()
    )
    return {r: (int(raised.get(r, 0)), int(still_open.get(r, 0))) for r in set(raised) | set(still_open)}


def _value(text: str | None) -> Decimal:
    try:
        return Decimal(text or "0")
    except InvalidOperation:
        return Decimal(0)


def _warning_ranking(session: Session, rule: str, month: date) -> list[Ranked]:
    """The largest values of a rule's warnings live at some time in the month."""
    w = SupervisionWarning
    after = clock.next_month(month)
    rows = session.execute(
        select(w, Organization.name)
        .outerjoin(Organization, Organization.id == w.org_id)
        .where(
            w.rule == rule,
            w.first_seen_on < after,
            w.last_seen_on >= month,
        )
    ).all()
    rows.sort(key=lambda r: (-_value(r[0].value), r[0].id))
    ranked = []
    for warning, name in rows[:TOP]:
        facts = (warning.evidence or {}).get("facts", {})
        what = facts.get("generic_name") or facts.get("product") or warning.subject_key
        ranked.append(
            Ranked(name or "医保局 (bureau)", f"{warning.value}", f"{what}（阈值 {warning.threshold}）")
        )
    return ranked


def build_supervision_report(session: Session, month: date, *, generated_at: datetime) -> SupervisionReport:
    """The report of `month` (any day of it), province-wide (the bureau's view)."""
    month = month.replace(day=1)
    previous = clock.previous_month(month)
    now_counts, prev_counts = _counts(session, month), _counts(session, previous)
    rules = load_rules()
    counts = []
    for code in sorted(set(rules) | set(now_counts) | set(prev_counts)):
        raised, still_open = now_counts.get(code, (0, 0))
        p_raised, p_open = prev_counts.get(code, (0, 0))
        label = rules[code].label if code in rules else code
        counts.append(RuleCount(code, label, raised, still_open, p_raised, p_open))
    after = clock.next_month(month)
    as_of = after - timedelta(days=1)  # the month's last day
    system = Actor.system()
    by_enterprise = compute_indicators(
        session, system, period_from=month, period_before=after, group_by=GroupBy.ENTERPRISE, as_of=as_of
    )
    delivery = sorted(
        (r for r in by_enterprise.rows if r.delivery_rate is not None and r.ordered_qty > 0),
        key=lambda r: (r.delivery_rate, r.label),
    )
    by_hospital = compute_indicators(
        session, system, period_from=month, period_before=after, group_by=GroupBy.HOSPITAL, as_of=as_of
    )
    payers = sorted(
        (r for r in by_hospital.rows if r.on_time_count_rate is not None),
        key=lambda r: (r.on_time_count_rate, -(r.average_days_to_payment or 0), r.label),
    )
    return SupervisionReport(
        month=month,
        generated_at=generated_at,
        counts=counts,
        lowest_delivery=[
            Ranked(r.label, percent(r.delivery_rate), f"已发 {r.delivered_qty} / 应发 {r.ordered_qty} 包")
            for r in delivery[:TOP]
        ],
        slowest_payers=[
            Ranked(
                r.label,
                percent(r.on_time_count_rate),
                f"平均回款天数 {r.average_days_to_payment if r.average_days_to_payment is not None else '—'}",
            )
            for r in payers[:TOP]
        ],
        price_risks=_warning_ranking(session, "price_risk", month),
        non_winner_shares=_warning_ranking(session, "non_winner_share", month),
    )


def _signed(n: int) -> str:
    return f"+{n}" if n > 0 else str(n)


COUNT_COLUMNS = ["预警规则 (rule)", "本月新增", "上月新增", "增减", "月末未处理", "上月末未处理", "增减"]
RANKINGS = (
    ("配送率最低的配送企业 (lowest delivery rates)", "lowest_delivery", "配送率"),
    ("按时回款率最低的医疗机构 (slowest payers)", "slowest_payers", "按时回款率"),
    ("价格风险最大 (largest price risks)", "price_risks", "超出比例%"),
    ("非中选使用占比最高 (largest non-winner share)", "non_winner_shares", "非中选占比%"),
)


def _count_rows(report: SupervisionReport) -> list[list[str]]:
    return [
        [
            c.label,
            str(c.raised),
            str(c.previous_raised),
            _signed(c.raised_delta),
            str(c.open_at_end),
            str(c.previous_open_at_end),
            _signed(c.open_delta),
        ]
        for c in report.counts
    ]


def to_document(report: SupervisionReport) -> ReportDocument:
    total_raised = sum(c.raised for c in report.counts)
    total_open = sum(c.open_at_end for c in report.counts)
    sections = [
        Section(
            "一、预警数量 (warnings by rule, against the previous month)",
            paragraphs=[f"本月新增预警 {total_raised} 条，月末未处理 {total_open} 条。"],
            tables=[Table("预警数量", COUNT_COLUMNS, _count_rows(report), numeric=[1, 2, 3, 4, 5, 6])],
        )
    ]
    for n, (title, attr, figure) in enumerate(RANKINGS, start=2):
        ranked: list[Ranked] = getattr(report, attr)
        rows = [[str(i), r.name, r.value, r.detail] for i, r in enumerate(ranked, start=1)]
        sections.append(
            Section(
                f"{'二三四五'[n - 2]}、{title}",
                paragraphs=[] if rows else ["本月无数据 (none this month)"],
                tables=[
                    Table(
                        title,
                        ["名次", "单位", figure, "说明"],
                        rows,
                        numeric=[0, 2],
                        widths=[0.08, 0.37, 0.15, 0.4],
                    )
                ]
                if rows
                else [],
            )
        )
    return ReportDocument(
        title="月度监督报告",
        subtitle=f"全省 · {report.month.year}年{report.month.month}月",
        generated_at=report.generated_at,
        sections=sections,
    )


def render_pdf(report: SupervisionReport) -> bytes:
    return render_report(to_document(report))


def render_xlsx(report: SupervisionReport) -> bytes:
    sheets = [
        Sheet(
            "预警数量",
            ["规则代码 (code)", *COUNT_COLUMNS],
            [
                [
                    c.rule,
                    c.label,
                    c.raised,
                    c.previous_raised,
                    c.raised_delta,
                    c.open_at_end,
                    c.previous_open_at_end,
                    c.open_delta,
                ]
                for c in report.counts
            ],
        )
    ]
    for title, attr, figure in RANKINGS:
        ranked: list[Ranked] = getattr(report, attr)
        sheets.append(
            Sheet(
                title.split(" (")[0][:31],
                ["名次", "单位", figure, "说明"],
                [[i, r.name, r.value, r.detail] for i, r in enumerate(ranked, start=1)],
            )
        )
    return write_xlsx(sheets)


def write_supervision_report(session: Session, month: date, out_dir: Path) -> list[Path]:
    """Write the month's report as `supervision-YYYY-MM.pdf` and `.xlsx` into `out_dir`."""
    report = build_supervision_report(session, month, generated_at=clock.now())
    out_dir.mkdir(parents=True, exist_ok=True)
    pdf = out_dir / f"supervision-{report.month:%Y-%m}.pdf"
    xlsx = out_dir / f"supervision-{report.month:%Y-%m}.xlsx"
    pdf.write_bytes(render_pdf(report))
    xlsx.write_bytes(render_xlsx(report))
    return [pdf, xlsx]


__all__ = [
    "SupervisionReport",
    "build_supervision_report",
    "render_pdf",
    "render_xlsx",
    "to_document",
    "write_supervision_report",
]
