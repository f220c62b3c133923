"""What a document says, apart from how it is drawn.

Statements and indicator reports are computed into these plain dataclasses first; the PDF (and
xlsx) renderers only lay them out. Amounts are integer fen, rates exact Decimals (0.9294 = 92.94 %);
renderers format them with `core.money` and never round on their own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal


@dataclass(frozen=True)
class Party:
    """One side of a statement: 医疗机构 or 配送企业, with its unified social credit code."""

    role_label: str  #: "医疗机构" / "配送企业"
    name: str
    code: str  #: 统一社会信用代码 (USCC)


@dataclass(frozen=True)
class StatementLineRow:
    """One order line with its three flows, as printed on a statement."""

    order_line_id: int
    order_ref: str  #: e.g. "DD00001234-1" (order id and line)
    product: str  #: generic name and spec
    ordered_qty: int
    shipped_qty: int
    accepted_qty: int
    rejected_qty: int
    returned_qty: int
    invoiced_qty: int
    pack_price_fen: int
    order_amount_fen: int
    invoiced_fen: int
    paid_fen: int
    shipment_refs: str  #: shipment line ids, comma separated ("" when none)
    invoice_refs: str  #: invoice numbers
    payment_refs: str  #: bank references
    status: str  #: reconciliation status code (ledger.reconcile.Status value)
    status_label: str  #: Chinese label of the status
    diff_qty: int  #: the discrepancy's quantity (0 when complete)
    diff_fen: int  #: the discrepancy's amount in fen (signed)


@dataclass(frozen=True)
class StatusTotal:
    status: str
    status_label: str
    lines: int
    order_amount_fen: int
    diff_fen: int


@dataclass(frozen=True)
class DiscrepancyRow:
    status_label: str
    records: str  #: the records involved, e.g. "订单行 12; 发货 34; 发票 10000001"
    diff_qty: int
    diff_fen: int
    description: str


@dataclass(frozen=True)
class Confirmation:
    party_label: str  #: "医疗机构" / "配送企业"
    state_label: str  #: "待确认" / "已确认" / "有异议：<reason>"
    at: datetime | None
    reason: str | None = None  #: the dispute's reason, if the party disputed
    resolution: str | None = None  #: how a dispute was resolved, when the party then confirmed


@dataclass(frozen=True)
class StatementDocument:
    number: str  #: statement number incl. version, e.g. "DZD-202605-0000000012-V2"
    version: int
    period: date  #: first day of the month
    hospital: Party
    enterprise: Party
    as_of: datetime  #: the reconciliation's cut-off
    generated_at: datetime
    lines: list[StatementLineRow]
    totals: list[StatusTotal]
    discrepancies: list[DiscrepancyRow]
    confirmations: list[Confirmation]
    verification_code: str  #: hex digest (SHA-256 or SM3, the statement's suite) of its data
    verify_url: str  #: what the QR code encodes
    #: The audit trail's latest daily root before the statement was generated: (day, root hash).
    #: Printed beside the verification code, never part of the statement's digested data.
    audit_root: tuple[date, str] | None = None


@dataclass(frozen=True)
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]]  #: already formatted text
    #: Columns to right-align (numbers).
    numeric: list[int] = field(default_factory=list)
    #: Each column's share of the page width; None: the first (names) wider, the rest equal.
    widths: list[float] | None = None


@dataclass(frozen=True)
class BarChart:
    title: str
    labels: list[str]  #: category axis (e.g. months, regions)
    series: list[tuple[str, list[Decimal]]]  #: (legend, values) per series
    #: A target line (e.g. Decimal("0.90") for the 90 % online-procurement target), or None.
    target: Decimal | None = None
    percent: bool = True  #: values are rates (0–1) shown as %


@dataclass(frozen=True)
class TrendChart:
    """Values month by month, one line per series, with optional target lines."""

    title: str
    labels: list[str]  #: the months
    series: list[tuple[str, list[Decimal | None]]]  #: None: no value that month (a gap)
    targets: list[tuple[str, Decimal]] = field(default_factory=list)  #: (label, rate) lines
    percent: bool = True


@dataclass(frozen=True)
class Section:
    heading: str
    paragraphs: list[str] = field(default_factory=list)
    charts: list[BarChart | TrendChart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


@dataclass(frozen=True)
class Kpi:
    """One line of a report's summary page: a figure against its target."""

    name: str
    value: str  #: printed by ledger.figures.rates against the target
    target: str  #: "≥90.00%", "序时进度 41.67%", or "—" where no target is set
    verdict: str  #: "达标" / "未达标" / "—"
    ok: bool | None = None  #: for the colour; None: nothing to judge


@dataclass(frozen=True)
class ReportDocument:
    title: str
    subtitle: str  #: scope and period, e.g. "四川省 · 2026年5月"
    generated_at: datetime
    sections: list[Section]
    #: The first page: each KPI against its target (the sections follow on the next page).
    summary: list[Kpi] = field(default_factory=list)
    summary_notes: list[str] = field(default_factory=list)
