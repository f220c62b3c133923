"""Procurement-rate indicators a bureau monitors monthly (vbp-rules.md §6; targets from
policy-basis.md), grouped by province, region, hospital, enterprise or month, computed set-based
(one GROUP BY per indicator family, integer sums only, so SQLite and PostgreSQL agree) and scoped
to what the caller may see (ledger.scoping.party_scope).

Definitions, fixed once (§6: "definitions to fix once and test on both databases"):

* Period = calendar months; amounts tax-inclusive integer fen; rates exact Decimal ratios (not
  rounded), None when the denominator is 0. Exports round rates to 4 places (92.94 %) only.
* Online procurement rate (线上采购率) = platform ÷ (platform + off-platform). Platform = accepted
  packs × frozen pack price by acceptance month, minus returned packs × price by return month
  (§6: returns subtract in the month of return). Off-platform = the hospitals' monthly reports.
  Drugs leave 中药饮片 out of numerator and denominator (they are never listed on the platform, and
  their off-platform reports are not counted); high-value consumables separately.
* Agreed-volume completion (约定采购量完成率) = winner units accepted net of returns, in the current
  cycle year up to `as_of`, by hospitals with an allocation of that award ÷ agreed units; time
  elapsed (序时进度) = agreed-weighted ledger.queries.time_elapsed_pct at `as_of`.
* On-time payment (按时回款率) over invoice lines due in the period (due_on ≤ as_of), positive, not
  disputed, net of red-letter credits: paid (confirmed settlement line, payment on or before as_of)
  on or before due_on ÷ due, by count and by amount. Payment rate (回款率) = paid ÷ due amount.
  Average days = acceptance → payment over those lines that are paid.
* Delivery rate (配送率) = shipped ÷ (ordered − cancelled) packs of lines ordered in the period.
* On-time arrival rate (及时到货率) = received shipment lines confirmed by the order's deadline ÷
  received shipment lines, by acceptance month (the receipt is the only arrival record we hold).
* Winner usage share (中选产品使用占比) = winner (award-linked) units ÷ all platform units of the
  generic names that have a winner, same month rules as the platform amount.
* Savings (节约金额) = Σ (pre-VBP unit price × units − winning pack price × packs) over winner
  lines, rounded to the fen once; retained savings (结余留用) via ledger.money_rules when a
  SavingsFormula is given (its ratios are provincial parameters, §4.4).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.orm import Session

from bidding.models import Award, BatchItem, Category, ProcurementBatch, Product, VolumeAllocation
from core import clock
from core.actors import Actor, OrgKind
from core.money import E4_PER_YUAN, FEN_PER_YUAN, fen_to_str, quantize
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
)
from ledger.money_rules import SavingsFormula, retained_savings
from ledger.queries import time_elapsed_pct
from ledger.scoping import party_scope
from reports.documents import BarChart, ReportDocument, Section, Table

__all__ = [
    "DRUG_ONLINE_TARGET",
    "HVC_ONLINE_TARGET",
    "GroupBy",
    "IndicatorReport",
    "IndicatorRow",
    "compute_indicators",
    "next_month",
    "to_document",
    "to_json",
    "to_xlsx",
]

# policy-basis.md, indicator targets (Sichuan 14th five-year plan), vbp-rules.md §6: online purchase
# share of drugs excluding 中药饮片, by amount, ≥ 90 % by 2025.
DRUG_ONLINE_TARGET = Decimal("0.90")
# Same table: high-value consumables ≥ 80 % by 2025.
HVC_ONLINE_TARGET = Decimal("0.80")
#: Exports show rates to 4 places (0.9294 = 92.94 %, as E10 states them).
RATE_PLACES = Decimal("0.0001")
E4_PER_FEN = E4_PER_YUAN // FEN_PER_YUAN
#: Bars stay readable up to a few dozen groups (months, regions); beyond, tables only.
MAX_CHART_GROUPS = 40


class GroupBy(enum.StrEnum):
    PROVINCE = "province"
    REGION = "region"  #: prefecture (地市): the region code's first four digits + "00"
    HOSPITAL = "hospital"
    ENTERPRISE = "enterprise"
    MONTH = "month"


GROUP_LABELS = {
    GroupBy.PROVINCE: "全省",
    GroupBy.REGION: "地区",
    GroupBy.HOSPITAL: "医疗机构",
    GroupBy.ENTERPRISE: "企业",
    GroupBy.MONTH: "月份",
}


def ratio(numerator: int | Decimal, denominator: int | Decimal) -> Decimal | None:
    """Exact ratio (Decimal context precision, never float); None without a denominator."""
    return Decimal(numerator) / Decimal(denominator) if denominator else None


def _passes(rate: Decimal | None, target: Decimal) -> bool | None:
    return None if rate is None else rate >= target


next_month = clock.next_month  # re-exported for callers of this module


@dataclass(frozen=True)
class IndicatorRow:
    """One group's integer sums; every rate is derived from them, exactly."""

    key: str
    label: str
    #: False where off-platform purchases cannot be attributed (enterprise rows, enterprise callers).
    online_rate_applicable: bool = True
    drug_platform_fen: int = 0
    drug_off_platform_fen: int = 0
    hvc_platform_fen: int = 0
    hvc_off_platform_fen: int = 0
    agreed_units: int = 0
    completed_units: int = 0
    #: Σ agreed units × time elapsed (0–1) of their batch: the volume expected by `as_of`.
    expected_units: Decimal = Decimal(0)
    due_lines: int = 0
    on_time_lines: int = 0
    due_fen: int = 0
    on_time_fen: int = 0
    paid_lines: int = 0
    paid_fen: int = 0
    payment_days: int = 0  #: Σ days from acceptance to payment over paid lines
    ordered_qty: int = 0
    delivered_qty: int = 0
    arrived_lines: int = 0
    on_time_arrived_lines: int = 0
    winner_units: int = 0
    generic_units: int = 0
    pre_vbp_e4: int = 0  #: Σ pre-VBP unit price × units of winner lines (yuan×10⁴)
    winning_e4: int = 0  #: Σ winning pack price × packs of the same lines (yuan×10⁴)
    #: None when no SavingsFormula was given or the caller may not see it.
    retained_savings_fen: int | None = None

    @property
    def drug_online_rate(self) -> Decimal | None:
        return self._online(self.drug_platform_fen, self.drug_off_platform_fen)

    @property
    def hvc_online_rate(self) -> Decimal | None:
        return self._online(self.hvc_platform_fen, self.hvc_off_platform_fen)

    def _online(self, platform: int, off_platform: int) -> Decimal | None:
        # A month of returns only can leave the sum ≤ 0: no meaningful rate then.
        if not self.online_rate_applicable or platform + off_platform <= 0:
            return None
        return ratio(platform, platform + off_platform)

    @property
    def drug_online_pass(self) -> bool | None:
        return _passes(self.drug_online_rate, DRUG_ONLINE_TARGET)

    @property
    def hvc_online_pass(self) -> bool | None:
        return _passes(self.hvc_online_rate, HVC_ONLINE_TARGET)

    @property
    def completion_rate(self) -> Decimal | None:
        return ratio(self.completed_units, self.agreed_units)

    @property
    def time_elapsed(self) -> Decimal | None:
        return ratio(self.expected_units, self.agreed_units)

    @property
    def completion_on_track(self) -> bool | None:
        """Completion at or ahead of 序时进度."""
        rate, elapsed = self.completion_rate, self.time_elapsed
        return None if rate is None or elapsed is None else rate >= elapsed

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
        return ratio(self.payment_days, self.paid_lines)

    @property
    def delivery_rate(self) -> Decimal | None:
        return ratio(self.delivered_qty, self.ordered_qty)

    @property
    def on_time_arrival_rate(self) -> Decimal | None:
        return ratio(self.on_time_arrived_lines, self.arrived_lines)

    @property
    def winner_share(self) -> Decimal | None:
        return ratio(self.winner_units, self.generic_units)

    @property
    def pre_vbp_fen(self) -> int:
        return _e4_to_fen(self.pre_vbp_e4)

    @property
    def savings_fen(self) -> int:
        """Rounded once, from the exact yuan×10⁴ difference (core.money: totals are never re-rounded)."""
        return _e4_to_fen(self.pre_vbp_e4 - self.winning_e4)

    @property
    def savings_rate(self) -> Decimal | None:
        return ratio(self.pre_vbp_e4 - self.winning_e4, self.pre_vbp_e4)


def _e4_to_fen(e4: int) -> int:
    return int(quantize(Decimal(e4) / E4_PER_FEN, Decimal(1)))


_SUMMED = [f.name for f in fields(IndicatorRow) if f.name not in ("key", "label", "online_rate_applicable")]


@dataclass(frozen=True)
class IndicatorReport:
    scope: str  #: "全省" or the caller's organization name
    group_by: GroupBy
    months: tuple[date, ...]  #: first days of the months covered (ascending)
    as_of: date
    rows: tuple[IndicatorRow, ...]
    total: IndicatorRow
    notes: tuple[str, ...] = ()

    @property
    def period_from(self) -> date:
        return self.months[0]

    @property
    def period_before(self) -> date:
        return next_month(self.months[-1])

    @property
    def drug_online_pass(self) -> bool | None:
        return self.total.drug_online_pass

    @property
    def hvc_online_pass(self) -> bool | None:
        return self.total.hvc_online_pass


# --- computation ---------------------------------------------------------------------------------


def _months(
    months: Sequence[date] | None,
    period_from: date | None,
    period_to: date | None,
    period_before: date | None,
) -> tuple[date, ...]:
    """Either a list of months, or a range: period_from..period_to (months, inclusive) or
    period_from..period_before (exclusive, as the API and CLI pass it)."""
    if months is not None:
        if period_from or period_to or period_before:
            raise ValueError("give either months or a period, not both")
        chosen = sorted({m.replace(day=1) for m in months})
    else:
        if period_from is None:
            raise ValueError("months or period_from is required")
        if period_to is not None and period_before is not None:
            raise ValueError("give period_to (inclusive) or period_before (exclusive), not both")
        first = period_from.replace(day=1)
        last = period_before - timedelta(days=1) if period_before is not None else period_to or first
        end = next_month(last.replace(day=1))
        chosen = []
        while first < end:
            chosen.append(first)
            first = next_month(first)
    if not chosen:
        raise ValueError("the period covers no month")
    return tuple(chosen)


def _cycle_year(start: date, end: date, on: date) -> tuple[date, date]:
    """[first day, day after the last) of the cycle year containing `on` (the first year before it);
    the same stepping as ledger.queries.time_elapsed_pct."""
    year_start = start
    while True:
        try:
            following = year_start.replace(year=year_start.year + 1)
        except ValueError:  # 29 February
            following = year_start.replace(year=year_start.year + 1, day=28)
        if on < following or following > end:
            return year_start, min(following, end + timedelta(days=1))
        year_start = following


class _Builder:
    """Runs the grouped queries and adds their sums to the group rows and to the total."""

    def __init__(self, session: Session, actor: Actor, group_by: GroupBy, months: tuple[date, ...]) -> None:
        self.session, self.actor, self.group_by = session, actor, group_by
        self.dialect = session.get_bind().dialect.name
        self.rows: dict[str, dict[str, Any]] = {}
        self.total: dict[str, Any] = {}
        # Contiguous months → one range predicate each (keeps the date indexes usable).
        self.ranges: list[tuple[date, date]] = []
        for m in months:
            if self.ranges and self.ranges[-1][1] == m:
                self.ranges[-1] = (self.ranges[-1][0], next_month(m))
            else:
                self.ranges.append((m, next_month(m)))
        if group_by is GroupBy.MONTH:
            for m in months:  # every month asked gets a row, even an empty one
                self.rows[f"{m:%Y-%m}"] = {}

    def add(self, key: Any, values: dict[str, Any]) -> None:
        """`key` None: counted in the total only (e.g. off-platform amounts have no enterprise)."""
        targets = [self.total] if key is None else [self.total, self.rows.setdefault(str(key), {})]
        for name, value in values.items():
            # PostgreSQL sums bigints as numeric (Decimal): back to int, exactly.
            amount = Decimal(value or 0) if name == "expected_units" else int(value or 0)
            for target in targets:
                target[name] = target.get(name, 0) + amount

    def in_period(self, column: Any) -> ColumnElement[bool]:
        return or_(*[and_(column >= a, column < b) for a, b in self.ranges])

    def scoped(self, stmt: Any, **parties: Any) -> Any:
        return party_scope(stmt, self.actor, **parties)

    def month_of(self, column: Any) -> ColumnElement[str]:
        # Literal format strings: bound parameters in SELECT and GROUP BY would not match on PostgreSQL.
        if self.dialect == "postgresql":
            return func.to_char(column, literal_column("'YYYY-MM'"))
        return func.strftime(literal_column("'%Y-%m'"), column)

    def prefecture(self, column: Any) -> ColumnElement[str]:
        """510104 → 510100 (ledger.services.listings.prefecture, in SQL)."""
        head = func.substr(column, literal_column("1"), literal_column("4"), type_=String)
        return head + literal_column("'00'")

    def days_between(self, later: Any, earlier: Any) -> ColumnElement[int]:
        if self.dialect == "postgresql":
            return cast(later - earlier, Integer)  # date − date is an integer of days
        return cast(func.julianday(later) - func.julianday(earlier), Integer)

    def key(self, *, day: Any, region: Any, hospital: Any, enterprise: Any) -> ColumnElement[Any] | None:
        """The GROUP BY column; None for the province (one row, no GROUP BY) or a total-only family."""
        match self.group_by:
            case GroupBy.MONTH:
                return None if day is None else self.month_of(day)
            case GroupBy.REGION:
                return self.prefecture(region)
            case GroupBy.HOSPITAL:
                return hospital
            case GroupBy.ENTERPRISE:
                return enterprise
        return None

    def collect(self, stmt: Any, names: Sequence[str], key: ColumnElement[Any] | None) -> None:
        if key is not None:
            stmt = stmt.add_columns(key).group_by(key)
        for row in self.session.execute(stmt):
            values = dict(zip(names, row, strict=False))
            if key is not None:
                self.add(row[-1] if row[-1] is not None else "—", values)
            else:
                self.add("province" if self.group_by is GroupBy.PROVINCE else None, values)

    def fold(self, *, hospital: int, enterprise: int | None, region: str) -> str | None:
        """Group key for values computed per hospital in Python (agreed volumes, retained savings)."""
        match self.group_by:
            case GroupBy.PROVINCE:
                return "province"
            case GroupBy.REGION:
                return region[:4] + "00"
            case GroupBy.HOSPITAL:
                return str(hospital)
            case GroupBy.ENTERPRISE:
                return None if enterprise is None else str(enterprise)
        return None  # months: agreed volumes are yearly, only the total carries them


def compute_indicators(
    session: Session,
    actor: Actor,
    *,
    months: Sequence[date] | None = None,
    period_from: date | None = None,
    period_to: date | None = None,
    period_before: date | None = None,
    group_by: GroupBy | str = GroupBy.PROVINCE,
    as_of: date,
    savings_formula: SavingsFormula | None = None,
) -> IndicatorReport:
    """All §6 indicators for the months asked (`months`, or period_from..period_to inclusive, or
    period_from..period_before exclusive), grouped, over the rows the actor may see: the bureau
    the province, a hospital its own, an enterprise those where it is manufacturer or distributor.
    `as_of` judges payments (paid by then) and agreed volumes (cycle year to date)."""
    group = GroupBy(group_by)
    chosen = _months(months, period_from, period_to, period_before)
    b = _Builder(session, actor, group, chosen)
    enterprise_caller = actor.org_kind in (OrgKind.MANUFACTURER, OrgKind.DISTRIBUTOR)
    # Retained savings are between a hospital and the fund: not an enterprise's business.
    retained_visible = savings_formula is not None and not enterprise_caller
    notes: list[str] = []
    _online_flows(b)
    _off_platform(b)
    _payments(b, as_of)
    _deliveries(b)
    _agreed_volumes(b, as_of, savings_formula if retained_visible else None, notes)

    if group is GroupBy.MONTH:
        notes.append("约定采购量按采购周期年度统计，仅列于合计行 (agreed volumes are yearly: total row only)")
    if group is GroupBy.ENTERPRISE or enterprise_caller:
        notes.append(
            "线下采购额无企业归属，企业口径不计线上采购率 (off-platform purchases have no enterprise: "
            "no online rate per enterprise)"
        )
    if group is GroupBy.ENTERPRISE:
        notes.append(
            "企业口径：采购额、约定量、中选占比与节约计入生产企业，配送与回款计入配送企业 "
            "(purchases, volumes, share and savings by manufacturer; delivery and payment by distributor)"
        )

    def make(key: str, label: str, sums: dict[str, Any], applicable: bool) -> IndicatorRow:
        values = {name: sums.get(name, 0) for name in _SUMMED}
        values["expected_units"] = Decimal(values["expected_units"])
        values["retained_savings_fen"] = (
            int(sums.get("retained_savings_fen", 0)) if retained_visible else None
        )
        return IndicatorRow(key=key, label=label, online_rate_applicable=applicable, **values)

    labels = _labels(session, group, list(b.rows))
    row_applicable = not enterprise_caller and group is not GroupBy.ENTERPRISE
    rows = [make(k, labels.get(k, k), sums, row_applicable) for k, sums in b.rows.items()]
    if group in (GroupBy.HOSPITAL, GroupBy.ENTERPRISE):
        rows.sort(key=lambda r: (r.label, r.key))
    else:
        rows.sort(key=lambda r: r.key)
    return IndicatorReport(
        scope=_scope_label(session, actor),
        group_by=group,
        months=chosen,
        as_of=as_of,
        rows=tuple(rows),
        total=make("total", "合计", b.total, not enterprise_caller),
        notes=tuple(notes),
    )


def _online_flows(b: _Builder) -> None:
    """Platform amounts, winner share and savings: receipts by acceptance month, returns by return month."""
    ol = OrderLine
    is_drug = Product.category == Category.DRUG
    is_hvc = Product.category == Category.CONSUMABLE
    winner = ol.award_id.is_not(None)
    # Generic names that have a winner: the denominator of the winner share.
    vbp_generic = Product.generic_name.in_(
        select(BatchItem.generic_name).join(Award, Award.item_id == BatchItem.id)
    )
    priced = and_(winner, BatchItem.pre_vbp_unit_price_e4.is_not(None))
    names = [
        "drug_platform_fen",
        "hvc_platform_fen",
        "winner_units",
        "generic_units",
        "pre_vbp_e4",
        "winning_e4",
    ]
    flows: list[tuple[Any, Any, Any]] = [
        (ReceiptLine, ReceiptLine.accepted_on, ReceiptLine.accepted_quantity),
        (ReturnLine, ReturnLine.returned_on, -ReturnLine.quantity),
    ]
    for table, day, packs in flows:
        units = packs * Product.units_per_pack
        stmt = (
            select(
                func.sum(case((is_drug, packs * ol.pack_price_fen), else_=0)),
                func.sum(case((is_hvc, packs * ol.pack_price_fen), else_=0)),
                func.sum(case((and_(vbp_generic, winner), units), else_=0)),
                func.sum(case((vbp_generic, units), else_=0)),
                func.sum(case((priced, units * BatchItem.pre_vbp_unit_price_e4), else_=0)),
                func.sum(case((priced, packs * ol.pack_price_fen * E4_PER_FEN), else_=0)),
            )
            .select_from(table)
            .join(ol, ol.id == table.order_line_id)
            .join(Product, Product.id == ol.product_id)
            .outerjoin(Award, Award.id == ol.award_id)
            .outerjoin(BatchItem, BatchItem.id == Award.item_id)
            .where(b.in_period(day))
        )
        stmt = b.scoped(
            stmt, hospital=ol.hospital_id, distributor=ol.distributor_id, manufacturer=ol.manufacturer_id
        )
        key = b.key(day=day, region=ol.region_code, hospital=ol.hospital_id, enterprise=ol.manufacturer_id)
        b.collect(stmt, names, key)


def _off_platform(b: _Builder) -> None:
    """Hospitals' off-platform reports; 中药饮片 and other consumables are left out (§6)."""
    off = OffPlatformPurchase
    stmt = (
        select(
            func.sum(case((off.category == PurchaseCategory.DRUGS, off.amount_fen), else_=0)),
            func.sum(
                case((off.category == PurchaseCategory.HIGH_VALUE_CONSUMABLES, off.amount_fen), else_=0)
            ),
        )
        .select_from(off)
        .join(Organization, Organization.id == off.hospital_id)
        .where(b.in_period(off.month))
    )
    # Enterprises are no party to a hospital's off-platform report: party_scope hides it from them.
    stmt = b.scoped(stmt, hospital=off.hospital_id)
    # No enterprise to group by: grouped by enterprise, the key is None and only the total takes them.
    key = b.key(day=off.month, region=Organization.region_code, hospital=off.hospital_id, enterprise=None)
    b.collect(stmt, ["drug_off_platform_fen", "hvc_off_platform_fen"], key)


def _payments(b: _Builder, as_of: date) -> None:
    """On-time payment, payment rate and days to payment over invoice lines due in the period."""
    il, ol = InvoiceLine, OrderLine
    red = InvoiceLine.__table__.alias("credit_line")
    # Red-letter lines (returns, price cuts) reduce what their original line is owed.
    credits = (
        select(red.c.credited_line_id.label("line_id"), func.sum(red.c.amount_fen).label("fen"))
        .where(red.c.credited_line_id.is_not(None), red.c.status != InvoiceLineStatus.DISPUTED)
        .group_by(red.c.credited_line_id)
        .subquery()
    )
    # One payment per application and one open settlement line per invoice line: no fan-out.
    paid = (
        select(SettlementLine.invoice_line_id.label("line_id"), Payment.paid_on.label("paid_on"))
        .join(Payment, Payment.application_id == SettlementLine.application_id)
        .where(SettlementLine.status == SettlementLineStatus.CONFIRMED, Payment.paid_on <= as_of)
        .subquery()
    )
    net = il.amount_fen + func.coalesce(credits.c.fen, 0)
    on_time = paid.c.paid_on <= il.due_on
    is_paid = paid.c.paid_on.is_not(None)
    stmt = (
        select(
            func.count(),
            func.sum(case((on_time, 1), else_=0)),
            func.sum(net),
            func.sum(case((on_time, net), else_=0)),
            func.sum(case((is_paid, 1), else_=0)),
            func.sum(case((is_paid, net), else_=0)),
            func.sum(case((is_paid, b.days_between(paid.c.paid_on, ReceiptLine.accepted_on)), else_=0)),
        )
        .select_from(il)
        .join(ol, ol.id == il.order_line_id)
        .join(ReceiptLine, ReceiptLine.id == il.receipt_line_id)
        .outerjoin(credits, credits.c.line_id == il.id)
        .outerjoin(paid, paid.c.line_id == il.id)
        .where(
            il.amount_fen > 0,
            il.status != InvoiceLineStatus.DISPUTED,
            net > 0,
            b.in_period(il.due_on),
            il.due_on <= as_of,  # not yet due is not late
        )
    )
    stmt = b.scoped(
        stmt, hospital=il.hospital_id, distributor=il.enterprise_id, manufacturer=ol.manufacturer_id
    )
    key = b.key(day=il.due_on, region=ol.region_code, hospital=il.hospital_id, enterprise=il.enterprise_id)
    names = ["due_lines", "on_time_lines", "due_fen", "on_time_fen", "paid_lines", "paid_fen", "payment_days"]
    b.collect(stmt, names, key)


def _deliveries(b: _Builder) -> None:
    """Delivery rate by order month; on-time arrival by acceptance month."""
    ol = OrderLine
    parties = {
        "hospital": ol.hospital_id,
        "distributor": ol.distributor_id,
        "manufacturer": ol.manufacturer_id,
    }
    # Refused lines stay in the denominator: a refusal is a delivery the hospital did not get.
    stmt = select(func.sum(ol.quantity - ol.cancelled_quantity), func.sum(ol.shipped_quantity)).where(
        b.in_period(ol.ordered_on)
    )
    key = b.key(
        day=ol.ordered_on, region=ol.region_code, hospital=ol.hospital_id, enterprise=ol.distributor_id
    )
    b.collect(b.scoped(stmt, **parties), ["ordered_qty", "delivered_qty"], key)

    # The receipt confirmation is the platform's record of arrival; the shipment's own time only
    # says when it left the distributor. Rejected deliveries arrived too, so they count.
    rl = ReceiptLine
    stmt = (
        select(func.count(), func.sum(case((rl.confirmed_at <= Order.deadline_at, 1), else_=0)))
        .select_from(rl)
        .join(ol, ol.id == rl.order_line_id)
        .join(Order, Order.id == ol.order_id)
        .where(b.in_period(rl.accepted_on))
    )
    key = b.key(
        day=rl.accepted_on, region=ol.region_code, hospital=rl.hospital_id, enterprise=rl.distributor_id
    )
    b.collect(b.scoped(stmt, **parties), ["arrived_lines", "on_time_arrived_lines"], key)


def _agreed_volumes(b: _Builder, as_of: date, formula: SavingsFormula | None, notes: list[str]) -> None:
    """Completion vs time elapsed and retained savings, per batch (each has its own cycle year),
    grouped in SQL by hospital × winner and folded into the report's groups."""
    va, ol = VolumeAllocation, OrderLine
    batches = b.session.execute(
        select(ProcurementBatch.id, ProcurementBatch.cycle_start_on, ProcurementBatch.cycle_end_on)
        .where(ProcurementBatch.id.in_(select(va.batch_id)))
        .order_by(ProcurementBatch.id)
    ).all()
    for batch_id, start, end in batches:
        year_start, year_end = _cycle_year(start, end, as_of)
        until = min(as_of + timedelta(days=1), year_end)
        elapsed = time_elapsed_pct(start, end, as_of) / 100
        agreed = b.session.execute(
            b.scoped(
                select(
                    va.hospital_id,
                    Award.manufacturer_id,
                    Organization.region_code,
                    func.sum(va.agreed_quantity),
                    func.sum(va.agreed_quantity * BatchItem.pre_vbp_unit_price_e4),
                    func.sum(case((BatchItem.pre_vbp_unit_price_e4.is_(None), 1), else_=0)),
                )
                .join(Award, Award.id == va.award_id)
                .join(BatchItem, BatchItem.id == va.item_id)
                .join(Organization, Organization.id == va.hospital_id)
                .where(va.batch_id == batch_id)
                .group_by(va.hospital_id, Award.manufacturer_id, Organization.region_code),
                hospital=va.hospital_id,
                manufacturer=Award.manufacturer_id,
            )
        ).all()
        if not agreed:
            continue
        completed: dict[tuple[int, int], int] = {}
        spend: dict[int, int] = {}
        # Only purchases of a hospital's own allocated winners count toward its agreed volume.
        allocated = exists().where(va.award_id == ol.award_id, va.hospital_id == ol.hospital_id)
        batch_names = select(BatchItem.generic_name).where(BatchItem.batch_id == batch_id)
        flows: list[tuple[Any, Any, Any]] = [
            (ReceiptLine, ReceiptLine.accepted_on, ReceiptLine.accepted_quantity),
            (ReturnLine, ReturnLine.returned_on, -ReturnLine.quantity),
        ]
        for table, day, packs in flows:
            window = and_(day >= year_start, day < until)
            done = b.session.execute(
                b.scoped(
                    select(ol.hospital_id, Award.manufacturer_id, func.sum(packs * Product.units_per_pack))
                    .select_from(table)
                    .join(ol, ol.id == table.order_line_id)
                    .join(Product, Product.id == ol.product_id)
                    .join(Award, Award.id == ol.award_id)
                    .where(Award.batch_id == batch_id, allocated, window)
                    .group_by(ol.hospital_id, Award.manufacturer_id),
                    hospital=ol.hospital_id,
                    manufacturer=Award.manufacturer_id,
                )
            )
            for hospital, maker, units in done:
                completed[(hospital, maker)] = completed.get((hospital, maker), 0) + int(units or 0)
            if formula is not None:
                # Actual spend on the batch's varieties, winners and non-winners alike (§4.4, S42).
                spent = b.session.execute(
                    b.scoped(
                        select(ol.hospital_id, func.sum(packs * ol.pack_price_fen * E4_PER_FEN))
                        .select_from(table)
                        .join(ol, ol.id == table.order_line_id)
                        .join(Product, Product.id == ol.product_id)
                        .where(Product.generic_name.in_(batch_names), window)
                        .group_by(ol.hospital_id),
                        hospital=ol.hospital_id,
                    )
                )
                for hospital, e4 in spent:
                    spend[hospital] = spend.get(hospital, 0) + int(e4 or 0)

        per_hospital: dict[int, list[Any]] = {}  # hospital → [agreed, completed, budget e4, missing, region]
        for hospital, maker, region, qty, budget_e4, missing in agreed:
            units = completed.get((hospital, maker), 0)
            key = b.fold(hospital=hospital, enterprise=maker, region=region)
            b.add(
                key,
                {
                    "agreed_units": qty,
                    "completed_units": units,
                    "expected_units": Decimal(int(qty)) * elapsed,
                },
            )
            acc = per_hospital.setdefault(hospital, [0, 0, 0, 0, region])
            for i, v in enumerate((qty, units, budget_e4, missing)):
                acc[i] += int(v or 0)
        if formula is None:
            continue
        if any(acc[3] for acc in per_hospital.values()):
            notes.append(
                f"批次 {batch_id} 有品种缺少集采前价格，未计结余留用 (no pre-VBP price: no retained savings)"
            )
            continue
        for hospital, (qty, units, budget_e4, _, region) in per_hospital.items():
            result = retained_savings(
                agreed_quantity=1,  # the budget is per item: Σ agreed × that item's pre-VBP price
                pre_vbp_unit_price_e4=budget_e4,
                purchased=[(1, spend.get(hospital, 0))],
                completion_pct=Decimal(units) * 100 / qty if qty else Decimal(0),
                formula=formula,
            )
            key = b.fold(hospital=hospital, enterprise=None, region=region)
            b.add(key, {"retained_savings_fen": result.retained_fen})


def _labels(session: Session, group_by: GroupBy, keys: list[str]) -> dict[str, str]:
    if group_by in (GroupBy.HOSPITAL, GroupBy.ENTERPRISE):
        ids = [int(k) for k in keys if k.isdigit()]
        found = session.execute(select(Organization.id, Organization.name).where(Organization.id.in_(ids)))
        return {str(i): name for i, name in found}
    if group_by is GroupBy.PROVINCE:
        return {"province": "全省"}
    if group_by is GroupBy.MONTH:
        return {k: f"{k[:4]}年{k[5:]}月" for k in keys if len(k) == 7}
    return {}


def _scope_label(session: Session, actor: Actor) -> str:
    if actor.is_bureau:
        return "全省"
    org = session.get(Organization, actor.org_id) if actor.org_id is not None else None
    return org.name if org is not None else "—"


# --- outputs -------------------------------------------------------------------------------------

#: (JSON name, Chinese header, kind, getter); kind: "rate" | "fen" | "int" | "days" | "bool".
COLUMNS: list[tuple[str, str, str, Callable[[IndicatorRow], Any]]] = [
    ("drug_online_rate", "药品线上采购率(不含中药饮片)", "rate", lambda r: r.drug_online_rate),
    ("drug_online_pass", "药品是否达标(≥90%)", "bool", lambda r: r.drug_online_pass),
    ("drug_platform", "药品平台采购额(元)", "fen", lambda r: r.drug_platform_fen),
    ("drug_off_platform", "药品线下采购额(元)", "fen", lambda r: r.drug_off_platform_fen),
    ("hvc_online_rate", "高值耗材线上采购率", "rate", lambda r: r.hvc_online_rate),
    ("hvc_online_pass", "高值耗材是否达标(≥80%)", "bool", lambda r: r.hvc_online_pass),
    ("hvc_platform", "高值耗材平台采购额(元)", "fen", lambda r: r.hvc_platform_fen),
    ("hvc_off_platform", "高值耗材线下采购额(元)", "fen", lambda r: r.hvc_off_platform_fen),
    ("agreed_units", "约定采购量(最小单位)", "int", lambda r: r.agreed_units),
    ("completed_units", "已完成量(最小单位)", "int", lambda r: r.completed_units),
    ("completion_rate", "约定采购量完成率", "rate", lambda r: r.completion_rate),
    ("time_elapsed", "序时进度", "rate", lambda r: r.time_elapsed),
    ("completion_on_track", "是否达到序时进度", "bool", lambda r: r.completion_on_track),
    ("due_lines", "应付笔数", "int", lambda r: r.due_lines),
    ("on_time_lines", "按时付款笔数", "int", lambda r: r.on_time_lines),
    ("on_time_count_rate", "按时回款率(笔数)", "rate", lambda r: r.on_time_count_rate),
    ("due", "应付金额(元)", "fen", lambda r: r.due_fen),
    ("on_time", "按时付款金额(元)", "fen", lambda r: r.on_time_fen),
    ("on_time_amount_rate", "按时回款率(金额)", "rate", lambda r: r.on_time_amount_rate),
    ("paid", "已付金额(元)", "fen", lambda r: r.paid_fen),
    ("payment_rate", "回款率", "rate", lambda r: r.payment_rate),
    ("average_days_to_payment", "验收至付款平均天数", "days", lambda r: r.average_days_to_payment),
    ("ordered_qty", "订购数量(包装)", "int", lambda r: r.ordered_qty),
    ("delivered_qty", "配送数量(包装)", "int", lambda r: r.delivered_qty),
    ("delivery_rate", "配送率", "rate", lambda r: r.delivery_rate),
    ("arrived_lines", "到货笔数", "int", lambda r: r.arrived_lines),
    ("on_time_arrived_lines", "及时到货笔数", "int", lambda r: r.on_time_arrived_lines),
    ("on_time_arrival_rate", "及时到货率", "rate", lambda r: r.on_time_arrival_rate),
    ("winner_units", "中选产品用量(最小单位)", "int", lambda r: r.winner_units),
    ("generic_units", "同通用名用量(最小单位)", "int", lambda r: r.generic_units),
    ("winner_share", "中选产品使用占比", "rate", lambda r: r.winner_share),
    ("pre_vbp", "集采前价格金额(元)", "fen", lambda r: r.pre_vbp_fen),
    ("savings", "节约金额(元)", "fen", lambda r: r.savings_fen),
    ("savings_rate", "节约率", "rate", lambda r: r.savings_rate),
    ("retained_savings", "结余留用金额(元)", "fen", lambda r: r.retained_savings_fen),
]


def _rounded(rate: Decimal) -> Decimal:
    return quantize(rate, RATE_PLACES)


def _json_value(kind: str, value: Any) -> Any:
    if value is None or kind in ("bool", "int"):
        return value
    if kind == "fen":
        return fen_to_str(value)
    if kind == "rate":
        return str(_rounded(value))
    return str(quantize(value, Decimal("0.01")))  # days


def _json_row(row: IndicatorRow) -> dict[str, Any]:
    return {"key": row.key, "label": row.label} | {
        name: _json_value(kind, get(row)) for name, _, kind, get in COLUMNS
    }


def to_json(report: IndicatorReport) -> dict[str, Any]:
    """Amounts as yuan decimal strings, rates as decimal strings to 4 places; never floats."""
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
        return Decimal(value) / FEN_PER_YUAN
    if kind == "rate":
        return _rounded(value)
    if kind == "days":
        return quantize(value, Decimal("0.01"))
    return value


def to_xlsx(report: IndicatorReport) -> bytes:
    """One row per group and the total, Chinese headers; a second sheet says what was counted."""
    headers = [GROUP_LABELS[report.group_by], "名称", *[title for _, title, _, _ in COLUMNS]]
    rows = [
        [r.key, r.label, *[_cell(kind, get(r)) for _, _, kind, get in COLUMNS]]
        for r in [*report.rows, report.total]
    ]
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
    return write_xlsx([Sheet(title="采购监测指标", headers=headers, rows=rows), about])


def _pct(value: Decimal | None) -> str:
    return "—" if value is None else f"{_rounded(value) * 100:.2f}%"


def _days(value: Decimal | None) -> str:
    return "—" if value is None else str(quantize(value, Decimal("0.1")))


def _verdict(rate: Decimal | None, target: Decimal) -> str:
    if rate is None:
        return "无数据"
    return f"{_pct(rate)}，目标 {_pct(target)}，{'达标' if rate >= target else '未达标'}"


def _track(on_track: bool | None) -> str:
    return "" if on_track is None else ("，达到序时进度" if on_track else "，落后于序时进度")


def to_document(report: IndicatorReport, *, generated_at: datetime | None = None) -> ReportDocument:
    """Sections of charts and tables for the PDF renderer (chart values are the exact rates)."""
    t = report.total
    rows = [*report.rows, t]
    charted = len(report.rows) <= MAX_CHART_GROUPS

    def table(title: str, cols: list[tuple[str, str, Callable[[IndicatorRow], Any]]]) -> Table:
        def text(kind: str, value: Any) -> str:
            if kind == "fen":
                return "—" if value is None else fen_to_str(value)
            return str(value) if kind == "int" else _pct(value)

        return Table(
            title,
            [GROUP_LABELS[report.group_by], *[c[0] for c in cols]],
            [[r.label, *[text(kind, get(r)) for _, kind, get in cols]] for r in rows],
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
    retained = "" if t.retained_savings_fen is None else f"；结余留用 {fen_to_str(t.retained_savings_fen)} 元"
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
                        ("药品线上率", "rate", lambda r: r.drug_online_rate),
                        ("耗材平台(元)", "fen", lambda r: r.hvc_platform_fen),
                        ("耗材线下(元)", "fen", lambda r: r.hvc_off_platform_fen),
                        ("耗材线上率", "rate", lambda r: r.hvc_online_rate),
                    ],
                )
            ],
        ),
        Section(
            "二、约定采购量完成情况 (agreed-volume completion)",
            [
                f"约定采购量完成率 {_pct(t.completion_rate)}，序时进度 {_pct(t.time_elapsed)}"
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
                        ("完成率", "rate", lambda r: r.completion_rate),
                        ("序时进度", "rate", lambda r: r.time_elapsed),
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
                f"中选产品使用占比 {_pct(t.winner_share)}；较集采前节约 {fen_to_str(t.savings_fen)} 元，"
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
    if report.notes:
        sections.append(Section("说明 (notes)", list(report.notes)))
    return ReportDocument(
        "医药集中带量采购监测指标报告",
        f"{report.scope} · {months} · 按{GROUP_LABELS[report.group_by]}",
        generated_at or clock.now(),
        sections,
    )
