"""The fund-savings report (医保基金节约报告) as JSON and xlsx: per hospital and product, the
non-VBP purchases of a month priced below their payment standard (ledger/supervision/fund_savings.py)."""

from __future__ import annotations

from typing import Any

from core.money import fen_to_decimal, fen_to_str
from core.spreadsheets import Sheet, write_xlsx
from ledger.supervision.fund_savings import REWARD_BASIS, FundSavingsReport

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

HEADERS = [
    "医疗机构ID",
    "医疗机构",
    "产品ID",
    "产品",
    "采购价(元/包装)",
    "支付标准(元/包装)",
    "订单行数",
    "净采购数量(包装)",
    "采购金额(元)",
    "节约金额(元)",
]


def to_json(report: FundSavingsReport) -> dict[str, Any]:
    """Amounts as decimal strings in yuan (as every JSON amount of the API)."""
    return {
        "month": f"{report.month:%Y-%m}",
        "basis": REWARD_BASIS,
        "rows": [
            {
                "hospital_id": r.hospital_id,
                "hospital_name": r.hospital_name,
                "product_id": r.product_id,
                "product_name": r.product_name,
                "pack_price": fen_to_str(r.pack_price_fen),
                "payment_standard": fen_to_str(r.standard_fen),
                "lines": r.lines,
                "packs": r.packs,
                "bought": fen_to_str(r.bought_fen),
                "savings": fen_to_str(r.savings_fen),
            }
            for r in report.rows
        ],
        "total": {
            "lines": report.total_lines,
            "bought": fen_to_str(report.total_bought_fen),
            "savings": fen_to_str(report.total_savings_fen),
        },
    }


def to_xlsx(report: FundSavingsReport) -> bytes:
    rows = [
        [
            r.hospital_id,
            r.hospital_name,
            r.product_id,
            r.product_name,
            fen_to_decimal(r.pack_price_fen),
            fen_to_decimal(r.standard_fen),
            r.lines,
            r.packs,
            fen_to_decimal(r.bought_fen),
            fen_to_decimal(r.savings_fen),
        ]
        for r in report.rows
    ]
    totals = [
        "合计",
        "",
        "",
        "",
        "",
        "",
        report.total_lines,
        sum(r.packs for r in report.rows),
        fen_to_decimal(report.total_bought_fen),
        fen_to_decimal(report.total_savings_fen),
    ]
    table = Sheet(title="基金节约", headers=HEADERS, rows=rows, totals=totals, freeze="C2")
    about = Sheet(
        title="说明",
        headers=["项目", "内容"],
        rows=[
            ["月份", f"{report.month:%Y-%m}"],
            [
                "口径",
                "非带量采购产品，验收数量减退货数量，采购价低于医保支付标准的部分：(支付标准−采购价)×数量",
            ],
            [
                "支付标准",
                "中选价（差比价换算至本规格）；未中选且价格≥中选价2倍：原价降30%（vbp-rules.md §1.9）",
            ],
            ["用途", REWARD_BASIS],
        ],
        column_widths=[16, 90],
    )
    return write_xlsx([table, about])
