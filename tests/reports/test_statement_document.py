"""The statement PDF read back with poppler: Chinese text extractable, CJK font embedded, page
numbers on every page, the line table's header repeated on every page it spans."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, date, datetime

import pytest

from reports.documents import (
    Confirmation,
    DiscrepancyRow,
    Party,
    StatementDocument,
    StatementLineRow,
    StatusTotal,
)
from reports.statement_pdf import render_statement

pytestmark = pytest.mark.skipif(
    not (shutil.which("pdftotext") and shutil.which("pdffonts")),
    reason="poppler-utils missing: run scripts/system-packages.sh",
)

AT = datetime(2026, 6, 3, 2, 0, tzinfo=UTC)


def _line(n: int) -> StatementLineRow:
    return StatementLineRow(
        order_line_id=n,
        order_ref=f"DD{n:08d}-{n}",
        product="阿托伐他汀钙片 20mg×28片",
        ordered_qty=10,
        shipped_qty=10,
        accepted_qty=10,
        rejected_qty=0,
        returned_qty=0,
        invoiced_qty=10,
        pack_price_fen=1_234,
        order_amount_fen=12_340,
        invoiced_fen=12_340,
        paid_fen=12_340 if n % 2 else 0,
        shipment_refs=f"FH{n}",
        invoice_refs=f"0510010000{n:04d}",
        payment_refs="ICBC-1" if n % 2 else "",
        status="complete" if n % 2 else "awaiting_payment",
        status_label="已完成" if n % 2 else "待付款",
        diff_qty=0,
        diff_fen=0 if n % 2 else 12_340,
    )


def _document(lines: int) -> StatementDocument:
    rows = [_line(n) for n in range(1, lines + 1)]
    unpaid = [r for r in rows if r.paid_fen == 0]
    return StatementDocument(
        number="DZD-202605-000012-000034-V2",
        version=2,
        period=date(2026, 5, 1),
        hospital=Party("医疗机构", "成都市第一人民医院", "12510100MB1234567X"),
        enterprise=Party("配送企业", "四川医药配送有限公司", "91510100MA6B0000XY"),
        as_of=AT,
        generated_at=AT,
        lines=rows,
        totals=[
            StatusTotal("complete", "已完成", lines - len(unpaid), 12_340 * (lines - len(unpaid)), 0),
            StatusTotal(
                "awaiting_payment", "待付款", len(unpaid), 12_340 * len(unpaid), 12_340 * len(unpaid)
            ),
        ],
        discrepancies=[
            DiscrepancyRow(
                "发票价格不符", "订单行 DD00000001-1; 发票 05100100000001", 10, 1_500, "发票价格不符"
            )
        ],
        confirmations=[
            Confirmation("医疗机构", "已确认", AT),
            Confirmation("配送企业", "待确认", None),
        ],
        verification_code="ab" * 32,
        verify_url="https://ybj.example.gov.cn/verify/" + "ab" * 32,
    )


def _pages(pdf: bytes) -> list[str]:
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout
    return text.decode().split("\f")[:-1]


def test_statement_text_totals_and_font_are_in_the_pdf() -> None:
    pdf = render_statement(_document(5))
    page = "".join(_pages(pdf))
    for expected in (
        "医药集中采购三流合一对账单",
        "成都市第一人民医院",
        "12510100MB1234567X",
        "四川医药配送有限公司",
        "2026年05月",
        "第2版",
        "按状态汇总",
        "差异明细",
        "发票价格不符",
        "15.00",  # the discrepancy's 1,500 fen
        "617.00",  # order total: 5 × 123.40
        "246.80",  # unpaid: 2 × 123.40
        "ABABABAB",  # the grouped verification code
        "第1页/共2页",
    ):
        assert expected in page, expected
    fonts = subprocess.run(["pdffonts", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    font_rows = fonts.splitlines()[2:]
    assert font_rows, fonts
    assert all("WenQuanYi" in row for row in font_rows), fonts  # no unembedded standard font either
    assert all(re.search(r"\byes\s+yes\b", row) for row in font_rows), fonts  # embedded, subset


def test_long_statements_split_with_the_header_on_every_page() -> None:
    pdf = render_statement(_document(300))
    pages = _pages(pdf)
    assert len(pages) > 5
    for number, page in enumerate(pages, start=1):
        assert f"第{number}页/共{len(pages)}页" in page
    line_pages = [p for p in pages if re.search(r"FH\d+", p)]  # shipment refs appear only in lines
    assert len(line_pages) > 3
    assert all("订单金额(元)" in p and "付款流水" in p for p in line_pages)
    assert "DD00000300-300" in "".join(pages)
    [totals] = [p for p in pages if "按状态汇总" in p]
    assert "37,020.00" in totals  # 300 × 123.40


def test_both_parties_sign_and_seal_and_differences_have_a_procedure() -> None:
    document = _document(5)
    disputed = Confirmation("配送企业", "有异议：数量不符", AT, reason="数量不符", resolution="已退货冲红")
    pdf = render_statement(
        StatementDocument(**{**document.__dict__, "confirmations": [document.confirmations[0], disputed]})
    )
    text = "".join(_pages(pdf))
    flat = "".join(text.split())
    for expected in (
        "差异处理",
        "5个工作日内",  # when the parties check and decide
        "新版本",  # a correction makes the next version
        "数量不符",  # the dispute's reason
        "已退货冲红",  # and how it was resolved
        "签章",
        "医疗机构（盖章）",
        "配送企业（盖章）",
        "经办人（签字）",
    ):
        assert expected in flat, expected
    # Both parties' names stand in the signature block, next to their seals.
    signature = flat[flat.index("医疗机构（盖章）") :]
    assert "成都市第一人民医院" in signature
    assert "四川医药配送有限公司" in signature


@pytest.mark.parametrize("lines", [1, 8, 14, 20, 26, 33, 40, 47])
def test_the_last_page_never_holds_only_the_verification_box(lines: int) -> None:
    pages = _pages(render_statement(_document(lines)))
    last = "".join(pages[-1].split())
    assert "ABABABAB" in last  # the verification code ends the statement
    assert "经办人（签字）" in last, f"{lines} lines: the QR box stands alone on page {len(pages)}"
