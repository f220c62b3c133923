"""Procurement-rate indicators a bureau monitors monthly (vbp-rules.md §6; targets from
policy-basis.md), by province, region, hospital, enterprise or month, computed set-based (one
GROUP BY per indicator family) and scoped to what the caller may see.

Definitions, fixed once (§6 "definitions to fix once and test on both databases"):
* period = calendar month; amounts tax-inclusive, integer fen; rates exact Decimals (None when
  the denominator is 0).
* Online procurement rate (线上采购率): platform amount ÷ (platform + off-platform amount).
  Platform amount = accepted quantity × frozen pack price in the month of acceptance, minus
  returns × price in the month of return (§6: returns subtract in the month of return).
  Off-platform amounts are the hospitals' monthly reports. Drugs exclude 中药饮片 in numerator and
  denominator alike (they are never on the platform and their off-platform reports are left out);
  high-value consumables separately. Targets: drugs ≥ 90 %, high-value consumables ≥ 80 %
  (policy-basis.md, Sichuan 14th five-year plan main-indicator table).
* On-time payment rate: invoice lines (confirmed, positive) due in the period; on time when their
  payment's date is on or before the due date; by count and by amount. Payment rate = paid ÷ due.
  Average days to payment: acceptance date → payment date over lines paid in the period.
* Delivery rate: shipped ÷ ordered (less cancelled) quantity of lines ordered in the period.
  On-time arrival rate: shipment lines delivered (handed over, `shipped_at`) by the order's
  deadline ÷ shipment lines of the period.
* Winner usage share: volume-based (winner) packs ÷ all packs accepted of the same generic names.
* Savings: Σ (pre-VBP unit price × units − winning price) × accepted units of winner lines,
  rounded to the fen once; savings rate = savings ÷ pre-VBP amount.
* Agreed-volume completion vs time elapsed (序时进度): from ledger.queries.agreed_volume_progress.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Date, case, cast, func, literal, select
from sqlalchemy.orm import Session

from bidding.models import Award, BatchItem, Category, Product
from core.actors import Actor, OrgKind
from core.money import E4_PER_YUAN, FEN_PER_YUAN, quantize
from core.organizations import Organization
from core.spreadsheets import Sheet, write_xlsx
from ledger.models import (
    InvoiceLine,
    InvoiceLineStatus,
    OffPlatformPurchase,
    Order,
    OrderLine,
    Payment,
    PurchaseCategory,
    ReceiptLine,
    ReturnLine,
    SettlementLine,
    SettlementLineStatus,
    Shipment,
    ShipmentLine,
)
from ledger.queries import agreed_volume_progress
from ledger.scoping import party_scope
from reports.documents import BarChart, ReportDocument, Section, Table

# policy-basis.md main-indicator table (Sichuan): online procurement ≥ 90 % drugs, ≥ 80 % HVC.
DRUG_TARGET = Decimal("0.90")
HVC_TARGET = Decimal("0.80")
RATE = Decimal("0.0001")
MAX_CHART_GROUPS = 40


class GroupBy(enum.StrEnum):
    PROVINCE = "province"
    REGION = "region"
    HOSPITAL = "hospital"
    ENTERPRISE = "enterprise"
    MONTH = "month"


def ratio(numerator: int, denominator: int) -> Decimal | None:
    """Exact to 4 places (0.9294 = 92.94 %), rounded once, half-up; None without a denominator."""
    return quantize(Decimal(numerator) / Decimal(denominator), RATE) if denominator else None


@dataclass
class IndicatorRow:
    key: str
    label: str
    drug_platform_fen: int = 0
    drug_offline_fen: int = 0
    hvc_platform_fen: int = 0
    hvc_offline_fen: int = 0
    due_lines: int = 0
    on_time_lines: int = 0
    due_fen: int = 0
    on_time_fen: int = 0
    paid_fen: int = 0
    paid_lines: int = 0
    payment_days: int = 0
    ordered_qty: int = 0
    shipped_qty: int = 0
    shipment_lines: int = 0
    on_time_shipment_lines: int = 0
    winner_qty: int = 0
    generic_qty: int = 0
    pre_vbp_e4: int = 0
    winner_paid_e4: int = 0
    agreed_units: int = 0
    accepted_units: int = 0
    time_elapsed: Decimal | None = None

    @property
    def drug_online_rate(self) -> Decimal | None:
        return ratio(self.drug_platform_fen, self.drug_platform_fen + self.drug_offline_fen)

    @property
    def hvc_online_rate(self) -> Decimal | None:
        return ratio(self.hvc_platform_fen, self.hvc_platform_fen + self.hvc_offline_fen)

    @property
    def on_time_count_rate(self) -> Decimal | None:
        return ratio(self.on_time_lines, self.due_lines)

    @property
    def on_time_amount_rate(self) -> Decimal | None:
        return ratio(self.on_time_fen, self.due_fen)

    @property
    def payment_rate(self) -> Decimal | None:
        return ratio(self.paid_fen, self.due_fen)

    @property
    def average_days_to_payment(self) -> Decimal | None:
        return (
            quantize(Decimal(self.payment_days) / self.paid_lines, Decimal("0.1"))
            if self.paid_lines
            else None
        )

    @property
    def delivery_rate(self) -> Decimal | None:
        return ratio(self.shipped_qty, self.ordered_qty)

    @property
    def on_time_arrival_rate(self) -> Decimal | None:
        return ratio(self.on_time_shipment_lines, self.shipment_lines)

    @property
    def winner_share(self) -> Decimal | None:
        return ratio(self.winner_qty, self.generic_qty)

    @property
    def pre_vbp_fen(self) -> int:
        return int(quantize(Decimal(self.pre_vbp_e4) / (E4_PER_YUAN // FEN_PER_YUAN), Decimal(1)))

    @property
    def savings_fen(self) -> int:
        """Rounded once from the exact e4 difference."""
        return int(
            quantize(
                Decimal(self.pre_vbp_e4 - self.winner_paid_e4) / (E4_PER_YUAN // FEN_PER_YUAN), Decimal(1)
            )
        )

    @property
    def savings_rate(self) -> Decimal | None:
        return ratio(self.pre_vbp_e4 - self.winner_paid_e4, self.pre_vbp_e4)

    @property
    def completion_rate(self) -> Decimal | None:
        return ratio(self.accepted_units, self.agreed_units)


@dataclass(frozen=True)
class IndicatorReport:
    scope: str
    group_by: GroupBy
    period_from: date
    period_before: date
    as_of: date
    rows: list[IndicatorRow]
    total: IndicatorRow
    notes: list[str] = field(default_factory=list)


def _month_key(column: Any, dialect: str) -> ColumnElement[str]:
    if dialect == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


Keys = dict[GroupBy, Callable[[], ColumnElement[Any]]]


def compute_indicators(
    session: Session,
    actor: Actor,
    *,
    period_from: date,
    period_before: date,
    group_by: GroupBy = GroupBy.PROVINCE,
    as_of: date,
) -> IndicatorReport:
    """All indicators for [period_from, period_before), grouped; the caller's rows only."""
    dialect = session.get_bind().dialect.name
    rows: dict[str, IndicatorRow] = {}

    def row(key: Any) -> IndicatorRow:
        text = str(key)
        return rows.setdefault(text, IndicatorRow(text, text))

    def add(key: Any, **values: Any) -> None:
        target = row(key)
        for name, value in values.items():
            setattr(target, name, getattr(target, name) + int(value or 0))

    def key_of(date_col: Any, *, region: Any, hospital: Any, enterprise: Any) -> ColumnElement[Any]:
        return {
            GroupBy.PROVINCE: lambda: literal("province"),
            GroupBy.MONTH: lambda: _month_key(date_col, dialect),
            GroupBy.REGION: lambda: region,
            GroupBy.HOSPITAL: lambda: hospital,
            GroupBy.ENTERPRISE: lambda: enterprise,
        }[group_by]()

    def scoped(stmt: Any, *, hospital: Any, distributor: Any, manufacturer: Any) -> Any:
        return party_scope(stmt, actor, hospital=hospital, distributor=distributor, manufacturer=manufacturer)

    def period(column: Any) -> list[ColumnElement[bool]]:
        return [column >= period_from, column < period_before]

    ol = OrderLine
    parties = {
        "hospital": ol.hospital_id,
        "distributor": ol.distributor_id,
        "manufacturer": ol.manufacturer_id,
    }
    is_drug = Product.category == Category.DRUG

    # Online procurement: accepted value by acceptance month, returns subtracted by return month.
    for date_col, qty, sign, table in (
        (ReceiptLine.accepted_on, ReceiptLine.accepted_quantity, 1, ReceiptLine),
        (ReturnLine.returned_on, ReturnLine.quantity, -1, ReturnLine),
    ):
        key = key_of(date_col, region=ol.region_code, hospital=ol.hospital_id, enterprise=ol.distributor_id)
        value = qty * ol.pack_price_fen * sign
        stmt = (
            select(
                key,
                func.sum(case((is_drug, value), else_=0)),
                func.sum(case((~is_drug, value), else_=0)),
            )
            .select_from(table)
            .join(ol, ol.id == table.order_line_id)
            .join(Product, Product.id == ol.product_id)
            .where(*period(date_col))
            .group_by(key)
        )
        for k, drug, hvc in session.execute(scoped(stmt, **parties)):
            add(k, drug_platform_fen=drug, hvc_platform_fen=hvc)

    # Off-platform reports: by hospital and month; no enterprise to group them by.
    if group_by is not GroupBy.ENTERPRISE and actor.org_kind not in (
        OrgKind.MANUFACTURER,
        OrgKind.DISTRIBUTOR,
    ):
        off = OffPlatformPurchase
        key = key_of(
            off.month, region=Organization.region_code, hospital=off.hospital_id, enterprise=literal("")
        )
        stmt = (
            select(
                key,
                func.sum(case((off.category == PurchaseCategory.DRUGS, off.amount_fen), else_=0)),
                func.sum(
                    case((off.category == PurchaseCategory.HIGH_VALUE_CONSUMABLES, off.amount_fen), else_=0)
                ),
            )
            .join(Organization, Organization.id == off.hospital_id)
            .where(*period(off.month))
            .group_by(key)
        )
        for k, drug, hvc in session.execute(
            scoped(stmt, hospital=off.hospital_id, distributor=None, manufacturer=None)
        ):
            add(k, drug_offline_fen=drug, hvc_offline_fen=hvc)

    # On-time payment: confirmed positive invoice lines due in the period and their payment.
    il = InvoiceLine
    paid = (
        select(SettlementLine.invoice_line_id.label("ilid"), Payment.paid_on.label("paid_on"))
        .join(Payment, Payment.application_id == SettlementLine.application_id)
        .where(SettlementLine.status == SettlementLineStatus.CONFIRMED)
        .subquery()
    )
    on_time = paid.c.paid_on <= il.due_on
    key = key_of(il.due_on, region=ol.region_code, hospital=il.hospital_id, enterprise=il.enterprise_id)
    stmt = (
        select(
            key,
            func.count(),
            func.sum(case((on_time, 1), else_=0)),
            func.sum(il.amount_fen),
            func.sum(case((on_time, il.amount_fen), else_=0)),
            func.sum(case((paid.c.paid_on.is_not(None), il.amount_fen), else_=0)),
        )
        .join(ol, ol.id == il.order_line_id)
        .outerjoin(paid, paid.c.ilid == il.id)
        .where(il.status == InvoiceLineStatus.CONFIRMED, il.amount_fen > 0, *period(il.due_on))
        .group_by(key)
    )
    for k, n, n_on_time, due, due_on_time, paid_fen in session.execute(scoped(stmt, **parties)):
        add(k, due_lines=n, on_time_lines=n_on_time, due_fen=due, on_time_fen=due_on_time, paid_fen=paid_fen)
    # Days from acceptance to payment, over lines paid in the period (dates subtract differently).
    days = (
        cast(paid.c.paid_on, Date) - cast(ReceiptLine.accepted_on, Date)
        if dialect == "postgresql"
        else func.julianday(paid.c.paid_on) - func.julianday(ReceiptLine.accepted_on)
    )
    key = key_of(paid.c.paid_on, region=ol.region_code, hospital=il.hospital_id, enterprise=il.enterprise_id)
    stmt = (
        select(key, func.count(), func.sum(days))
        .select_from(il)
        .join(paid, paid.c.ilid == il.id)
        .join(ReceiptLine, ReceiptLine.id == il.receipt_line_id)
        .join(ol, ol.id == il.order_line_id)
        .where(il.amount_fen > 0, *period(paid.c.paid_on))
        .group_by(key)
    )
    for k, n, total_days in session.execute(scoped(stmt, **parties)):
        add(k, paid_lines=n, payment_days=total_days)

    # Delivery: lines ordered in the period; shipments dispatched in the period against deadlines.
    key = key_of(ol.ordered_on, region=ol.region_code, hospital=ol.hospital_id, enterprise=ol.distributor_id)
    stmt = select(key, func.sum(ol.quantity - ol.cancelled_quantity), func.sum(ol.shipped_quantity)).where(
        *period(ol.ordered_on)
    )
    for k, ordered, shipped in session.execute(scoped(stmt.group_by(key), **parties)):
        add(k, ordered_qty=ordered, shipped_qty=shipped)
    sl = ShipmentLine
    key = key_of(sl.shipped_on, region=ol.region_code, hospital=ol.hospital_id, enterprise=ol.distributor_id)
    stmt = (
        select(key, func.count(), func.sum(case((Shipment.shipped_at <= Order.deadline_at, 1), else_=0)))
        .select_from(sl)
        .join(ol, ol.id == sl.order_line_id)
        .join(Order, Order.id == ol.order_id)
        .join(Shipment, Shipment.id == sl.shipment_id)
        .where(*period(sl.shipped_on))
        .group_by(key)
    )
    for k, n, n_on_time in session.execute(scoped(stmt, **parties)):
        add(k, shipment_lines=n, on_time_shipment_lines=n_on_time)

    # Winner usage share and savings, over accepted (net of returns) packs ordered in the period.
    net_packs = ol.accepted_quantity - ol.returned_quantity
    vbp_names = select(BatchItem.generic_name).join(Award, Award.item_id == BatchItem.id).distinct()
    key = key_of(ol.ordered_on, region=ol.region_code, hospital=ol.hospital_id, enterprise=ol.distributor_id)
    stmt = (
        select(key, func.sum(case((ol.award_id.is_not(None), net_packs), else_=0)), func.sum(net_packs))
        .join(Product, Product.id == ol.product_id)
        .where(Product.generic_name.in_(vbp_names), *period(ol.ordered_on))
        .group_by(key)
    )
    for k, winner, total in session.execute(scoped(stmt, **parties)):
        add(k, winner_qty=winner, generic_qty=total)
    stmt = (
        select(
            key,
            func.sum(net_packs * Product.units_per_pack * BatchItem.pre_vbp_unit_price_e4),
            func.sum(net_packs * ol.pack_price_fen * (E4_PER_YUAN // FEN_PER_YUAN)),
        )
        .join(Product, Product.id == ol.product_id)
        .join(Award, Award.id == ol.award_id)
        .join(BatchItem, BatchItem.id == Award.item_id)
        .where(BatchItem.pre_vbp_unit_price_e4.is_not(None), *period(ol.ordered_on))
        .group_by(key)
    )
    for k, pre, actual in session.execute(scoped(stmt, **parties)):
        add(k, pre_vbp_e4=pre, winner_paid_e4=actual)

    # Agreed volumes: cycle-to-date, judged at `as_of` (not per month: the agreement is yearly).
    notes = []
    if group_by in (GroupBy.PROVINCE, GroupBy.HOSPITAL, GroupBy.REGION):
        regions = dict(session.execute(select(Organization.id, Organization.region_code)).all())
        for p in agreed_volume_progress(session, actor, on=as_of):
            k = {
                GroupBy.PROVINCE: "province",
                GroupBy.HOSPITAL: p.hospital_id,
                GroupBy.REGION: regions.get(p.hospital_id),
            }[group_by]
            add(k, agreed_units=p.agreed_quantity, accepted_units=p.accepted_quantity)
            target = row(k)
            target.time_elapsed = (p.time_elapsed_pct / 100).quantize(RATE)
    else:
        notes.append(
            "约定采购量完成率按采购周期年度统计，按省、地区或医疗机构汇总时给出 (agreed volumes are yearly)"
        )

    names = _labels(session, group_by, list(rows))
    result = sorted((replace(r, label=names.get(r.key, r.key)) for r in rows.values()), key=lambda r: r.key)
    total = IndicatorRow("total", "合计")
    for r in result:
        for f in fields(IndicatorRow):
            if f.name not in ("key", "label", "time_elapsed"):
                setattr(total, f.name, getattr(total, f.name) + getattr(r, f.name))
        total.time_elapsed = total.time_elapsed or r.time_elapsed
    scope = "全省" if actor.is_bureau else f"{actor.org_kind.value if actor.org_kind else ''}:{actor.org_id}"
    return IndicatorReport(scope, group_by, period_from, period_before, as_of, result, total, notes)


def _labels(session: Session, group_by: GroupBy, keys: list[str]) -> dict[str, str]:
    if group_by in (GroupBy.HOSPITAL, GroupBy.ENTERPRISE):
        ids = [int(k) for k in keys if k.isdigit()]
        return {
            str(i): name
            for i, name in session.execute(
                select(Organization.id, Organization.name).where(Organization.id.in_(ids))
            )
        }
    if group_by is GroupBy.PROVINCE:
        return {"province": "全省"}
    return {}


def _pct(value: Decimal | None) -> str:
    return "—" if value is None else f"{value * 100:.2f}%"


def _yuan(fen: int) -> str:
    from core.money import fen_to_str

    return fen_to_str(fen)


#: (column header, value) per exported indicator; rates as exact decimal strings in JSON.
COLUMNS: list[tuple[str, str, Callable[[IndicatorRow], Any]]] = [
    ("drug_online_rate", "药品线上采购率", lambda r: r.drug_online_rate),
    ("drug_platform", "药品平台采购额(元)", lambda r: r.drug_platform_fen),
    ("drug_offline", "药品线下采购额(元)", lambda r: r.drug_offline_fen),
    ("hvc_online_rate", "高值耗材线上采购率", lambda r: r.hvc_online_rate),
    ("hvc_platform", "高值耗材平台采购额(元)", lambda r: r.hvc_platform_fen),
    ("hvc_offline", "高值耗材线下采购额(元)", lambda r: r.hvc_offline_fen),
    ("completion_rate", "约定采购量完成率", lambda r: r.completion_rate),
    ("time_elapsed", "序时进度", lambda r: r.time_elapsed),
    ("on_time_count_rate", "按时回款率(笔数)", lambda r: r.on_time_count_rate),
    ("on_time_amount_rate", "按时回款率(金额)", lambda r: r.on_time_amount_rate),
    ("payment_rate", "回款率", lambda r: r.payment_rate),
    ("average_days_to_payment", "平均回款天数", lambda r: r.average_days_to_payment),
    ("delivery_rate", "配送率", lambda r: r.delivery_rate),
    ("on_time_arrival_rate", "及时到货率", lambda r: r.on_time_arrival_rate),
    ("winner_share", "中选产品使用占比", lambda r: r.winner_share),
    ("pre_vbp", "集采前金额(元)", lambda r: r.pre_vbp_fen),
    ("savings", "节约金额(元)", lambda r: r.savings_fen),
    ("savings_rate", "节约率", lambda r: r.savings_rate),
]
_AMOUNTS = {"drug_platform", "drug_offline", "hvc_platform", "hvc_offline", "pre_vbp", "savings"}
_PLAIN = {"average_days_to_payment"}


def _json_value(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in _AMOUNTS:
        return _yuan(value)
    return str(value)


def to_json(report: IndicatorReport) -> dict[str, Any]:
    def one(r: IndicatorRow) -> dict[str, Any]:
        return {
            "key": r.key,
            "label": r.label,
            **{name: _json_value(name, get(r)) for name, _, get in COLUMNS},
        }

    return {
        "scope": report.scope,
        "group_by": report.group_by.value,
        "period_from": report.period_from.isoformat(),
        "period_before": report.period_before.isoformat(),
        "as_of": report.as_of.isoformat(),
        "targets": {"drug_online_rate": str(DRUG_TARGET), "hvc_online_rate": str(HVC_TARGET)},
        "drug_online_pass": None
        if report.total.drug_online_rate is None
        else report.total.drug_online_rate >= DRUG_TARGET,
        "hvc_online_pass": None
        if report.total.hvc_online_rate is None
        else report.total.hvc_online_rate >= HVC_TARGET,
        "rows": [one(r) for r in report.rows],
        "total": one(report.total),
        "notes": report.notes,
    }


def _cell(name: str, value: Any) -> Any:
    if value is None:
        return ""
    if name in _AMOUNTS:
        return Decimal(value) / FEN_PER_YUAN
    return value


def to_xlsx(report: IndicatorReport) -> bytes:
    headers = ["分组", "名称", *[title for _, title, _ in COLUMNS]]
    rows = [
        [r.key, r.label, *[_cell(n, get(r)) for n, _, get in COLUMNS]] for r in [*report.rows, report.total]
    ]
    return write_xlsx([Sheet(title="采购指标", headers=headers, rows=rows)])


def to_document(report: IndicatorReport, *, generated_at: Any) -> ReportDocument:
    """Tables and charts for the PDF renderer."""
    labels = [r.label for r in report.rows]
    #: Bars stay readable up to a few dozen groups (months, regions); beyond, tables only.
    charted = len(report.rows) <= MAX_CHART_GROUPS
    period = f"{report.period_from:%Y-%m} 至 {report.period_before:%Y-%m}（不含）"
    t = report.total

    def rate_table(title: str, cols: list[tuple[str, Callable[[IndicatorRow], Any], bool]]) -> Table:
        return Table(
            title,
            ["分组", *[c[0] for c in cols]],
            [
                [r.label, *[(_yuan(get(r)) if money else _pct(get(r))) for _, get, money in cols]]
                for r in [*report.rows, t]
            ],
            numeric=list(range(1, len(cols) + 1)),
        )

    def verdict(rate: Decimal | None, target: Decimal) -> str:
        if rate is None:
            return "无数据"
        return f"{_pct(rate)}，目标 {_pct(target)}，{'达标' if rate >= target else '未达标'}"

    sections = [
        Section(
            "一、线上采购率 (online procurement rate)",
            [
                f"药品（不含中药饮片）：{verdict(t.drug_online_rate, DRUG_TARGET)}。",
                f"高值医用耗材：{verdict(t.hvc_online_rate, HVC_TARGET)}。",
            ],
            [
                BarChart(
                    "药品线上采购率",
                    labels,
                    [("药品", [r.drug_online_rate or Decimal(0) for r in report.rows])],
                    DRUG_TARGET,
                ),
                BarChart(
                    "高值耗材线上采购率",
                    labels,
                    [("高值耗材", [r.hvc_online_rate or Decimal(0) for r in report.rows])],
                    HVC_TARGET,
                ),
            ],
            [
                rate_table(
                    "线上采购率",
                    [
                        ("药品平台采购额(元)", lambda r: r.drug_platform_fen, True),
                        ("药品线下(元)", lambda r: r.drug_offline_fen, True),
                        ("药品线上率", lambda r: r.drug_online_rate, False),
                        ("耗材平台采购额(元)", lambda r: r.hvc_platform_fen, True),
                        ("耗材线下(元)", lambda r: r.hvc_offline_fen, True),
                        ("耗材线上率", lambda r: r.hvc_online_rate, False),
                    ],
                )
            ],
        ),
        Section(
            "二、约定采购量完成情况 (agreed-volume completion)",
            [f"全部约定量完成率 {_pct(t.completion_rate)}，序时进度 {_pct(t.time_elapsed)}。"],
            [
                BarChart(
                    "完成率与序时进度",
                    labels,
                    [
                        ("完成率", [r.completion_rate or Decimal(0) for r in report.rows]),
                        ("序时进度", [r.time_elapsed or Decimal(0) for r in report.rows]),
                    ],
                )
            ],
            [
                rate_table(
                    "完成率",
                    [
                        ("完成率", lambda r: r.completion_rate, False),
                        ("序时进度", lambda r: r.time_elapsed, False),
                    ],
                )
            ],
        ),
        Section(
            "三、回款与配送 (payment and delivery)",
            [
                f"按时回款率（笔数）{_pct(t.on_time_count_rate)}，（金额）{_pct(t.on_time_amount_rate)}；"
                f"平均回款 {t.average_days_to_payment or '—'} 天。"
            ],
            [
                BarChart(
                    "按时回款率与配送率",
                    labels,
                    [
                        ("按时回款(金额)", [r.on_time_amount_rate or Decimal(0) for r in report.rows]),
                        ("配送率", [r.delivery_rate or Decimal(0) for r in report.rows]),
                    ],
                )
            ],
            [
                rate_table(
                    "回款与配送",
                    [
                        ("按时回款(笔数)", lambda r: r.on_time_count_rate, False),
                        ("按时回款(金额)", lambda r: r.on_time_amount_rate, False),
                        ("回款率", lambda r: r.payment_rate, False),
                        ("配送率", lambda r: r.delivery_rate, False),
                        ("及时到货率", lambda r: r.on_time_arrival_rate, False),
                    ],
                )
            ],
        ),
        Section(
            "四、中选产品使用与节约 (winner usage and savings)",
            [
                f"中选产品使用占比 {_pct(t.winner_share)}；"
                f"较集采前节约 {_yuan(t.savings_fen)} 元，节约率 {_pct(t.savings_rate)}。"
            ],
            [],
            [
                rate_table(
                    "使用占比与节约",
                    [
                        ("中选占比", lambda r: r.winner_share, False),
                        ("集采前金额(元)", lambda r: r.pre_vbp_fen, True),
                        ("节约金额(元)", lambda r: r.savings_fen, True),
                        ("节约率", lambda r: r.savings_rate, False),
                    ],
                )
            ],
        ),
    ]
    if not charted:
        sections = [replace(section, charts=[]) for section in sections]
    if report.notes:
        sections.append(Section("说明 (notes)", list(report.notes)))
    return ReportDocument(
        "医药集中带量采购监测指标报告", f"{report.scope} · {period}", generated_at, sections
    )


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)
