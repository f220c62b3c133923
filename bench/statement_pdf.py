"""Benchmark: render a reconciliation statement of N lines as a PDF, next to a bare reportlab
table of the same rows (same font, page size, header repeated), measured in the same run.

    python -m bench.statement_pdf                  # 10,000 lines
    python -m bench.statement_pdf --lines 2000

Prints pages, seconds and pages per second for both and the ratio (target ≤ 2×), and writes a
JSON result. No database: the statement document is built in memory.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import reportlab
from reportlab.platypus import SimpleDocTemplate, Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import RESULTS, Result, Row, Target, report  # noqa: E402
from reports import statement_pdf  # noqa: E402
from reports.documents import (  # noqa: E402
    Confirmation,
    DiscrepancyRow,
    Party,
    StatementDocument,
    StatementLineRow,
    StatusTotal,
)
from reports.pdf import table_style  # noqa: E402

PRODUCTS = [
    "阿托伐他汀钙片 20mg×28片",
    "苯磺酸氨氯地平片 5mg×28片",
    "注射用头孢曲松钠 1g×10支",
    "盐酸二甲双胍缓释片 0.5g×30片",
    "瑞舒伐他汀钙片 10mg×28片",
    "冠脉药物洗脱支架 3.0×18mm",
]
STATUSES = [("complete", "已完成"), ("awaiting_payment", "待付款"), ("short_or_rejected", "短缺/拒收")]


def document(lines: int, seed: int = 7) -> StatementDocument:
    rng = random.Random(seed)
    rows = []
    for n in range(1, lines + 1):
        qty, price = rng.randint(1, 400), rng.randint(150, 250_000)
        status, label = STATUSES[0] if n % 10 else STATUSES[1 + n % 2]
        rows.append(
            StatementLineRow(
                order_line_id=n,
                order_ref=f"DD{n // 4 + 1:08d}-{n}",
                product=PRODUCTS[n % len(PRODUCTS)],
                ordered_qty=qty,
                shipped_qty=qty,
                accepted_qty=qty,
                rejected_qty=0,
                returned_qty=0,
                invoiced_qty=qty,
                pack_price_fen=price,
                order_amount_fen=qty * price,
                invoiced_fen=qty * price,
                paid_fen=0 if status == "awaiting_payment" else qty * price,
                shipment_refs=f"FH{n}",
                invoice_refs=f"0510026001{n:010d}",
                payment_refs="" if status == "awaiting_payment" else f"FUND-{n // 50:06d}",
                status=status,
                status_label=label,
                diff_qty=0,
                diff_fen=qty * price if status == "awaiting_payment" else 0,
            )
        )
    at = datetime(2026, 6, 3, 2, 0, tzinfo=UTC)
    totals: dict[str, list[int]] = {}
    for r in rows:
        t = totals.setdefault(r.status, [0, 0, 0])
        t[0], t[1], t[2] = t[0] + 1, t[1] + r.order_amount_fen, t[2] + r.diff_fen
    labels = dict(STATUSES)
    return StatementDocument(
        number="DZD-202605-000012-000034-V1",
        version=1,
        period=date(2026, 5, 1),
        hospital=Party("医疗机构", "示范省人民医院", "12510000MB0H00001J"),
        enterprise=Party("配送企业", "蓉城医药配送有限公司", "91510100MA6D00001B"),
        as_of=at,
        generated_at=at,
        lines=rows,
        totals=[StatusTotal(s, labels[s], *t) for s, t in totals.items()],
        discrepancies=[
            DiscrepancyRow("短缺/拒收", f"订单行 {r.order_ref}", r.rejected_qty, r.diff_fen, "短缺/拒收")
            for r in rows
            if r.status == "short_or_rejected"
        ],
        confirmations=[Confirmation("医疗机构", "待确认", None), Confirmation("配送企业", "待确认", None)],
        verification_code="0" * 64,
        verify_url="https://ybj.example.gov.cn/api/v1/statements/verify/" + "0" * 64,
    )


def bare_table(doc: StatementDocument) -> bytes:
    """The baseline: the same cells in one reportlab Table, nothing else."""
    rows = [statement_pdf.line_cells(r) for r in doc.lines]
    buffer = io.BytesIO()
    table = Table([statement_pdf.LINE_HEADER, *rows], colWidths=statement_pdf.LINE_WIDTHS, repeatRows=1)
    table.setStyle(table_style(numeric_from=2, numeric_to=11, font_size=statement_pdf.FONT_SIZE))
    margin = statement_pdf.MARGIN
    SimpleDocTemplate(
        buffer,
        pagesize=statement_pdf.PAGE,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin,
        bottomMargin=statement_pdf.BOTTOM_MARGIN,
    ).build([table])
    return buffer.getvalue()


def pages(pdf: bytes) -> int:
    return pdf.count(b"/Type /Page\n") or pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")


def _timed(fn: object, doc: StatementDocument) -> tuple[float, bytes]:
    start = time.perf_counter()
    pdf = fn(doc)  # type: ignore[operator]
    return time.perf_counter() - start, pdf


def run(lines: int = 10_000) -> Result:
    """The statement of N lines against a bare table of the same rows, same run."""
    doc = document(lines)
    statement_pdf.render_statement(document(50))  # registers the font outside the timing
    base_s, base_pdf = _timed(bare_table, doc)
    stmt_s, stmt_pdf = _timed(statement_pdf.render_statement, doc)
    base_pages, stmt_pages = pages(base_pdf), pages(stmt_pdf)
    return Result(
        "statement_pdf",
        [
            Row(
                "statement_pdf",
                f"statement PDF, {lines:,} lines ({stmt_pages} pages)",
                stmt_s,
                "s",
                base_s,
                f"bare reportlab table ({base_pages} pages)",
                Target("ratio", "<=", 2, "≤ 2× baseline"),
            )
        ],
        {
            "reportlab": reportlab.Version,
            "lines": lines,
            "statement_pages": stmt_pages,
            "statement_pages_per_second": round(stmt_pages / stmt_s, 1),
            "baseline_pages": base_pages,
            "baseline_pages_per_second": round(base_pages / base_s, 1),
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=RESULTS / "statement_pdf.json")
    args = parser.parse_args()
    report([run(args.lines)], args.out, database_url=None)


if __name__ == "__main__":
    main()
