"""Every PDF prints amounts as people read them: 1,234,567.80 (thousand separators, two decimals),
through the one rule in core/money.py. Read back with poppler's pdftotext."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from reports.delivery_note import DeliveryNote, NoteLine, render_delivery_note
from reports.receipt_slip import ReceiptSlip, SlipLine, render_receipt_slip
from reports.statement_pdf import render_statement
from tests.reports.test_statement_document import _document

pytestmark = pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils missing")

AT = datetime(2026, 6, 3, 2, 0, tzinfo=UTC)
BIG_PRICE_FEN = 12_345_678  # 123,456.78 yuan a pack
BIG_FEN = 10 * BIG_PRICE_FEN  # 1,234,567.80


def _text(pdf: bytes) -> str:
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return out.stdout.decode()


def test_a_statement_prints_big_amounts_with_separators() -> None:
    doc = _document(1)
    line = replace(doc.lines[0], pack_price_fen=BIG_PRICE_FEN, order_amount_fen=BIG_FEN, invoiced_fen=BIG_FEN)
    doc = replace(doc, lines=[line], discrepancies=[replace(doc.discrepancies[0], diff_fen=-123_450)])
    text = _text(render_statement(doc))
    assert "123,456.78" in text
    assert "1,234,567.80" in text
    assert "-1,234.50" in text
    assert "1234567.80" not in text


def test_a_delivery_note_prints_big_amounts_with_separators() -> None:
    line = NoteLine(
        "阿托伐他汀钙片", "20mg×28片", "某制药", "B1", date(2028, 12, 31), 10, BIG_PRICE_FEN, BIG_FEN
    )
    note = DeliveryNote(
        number="FH0000000001",
        delivery_note=None,
        order_number="DD00000001",
        distributor="四川医药配送有限公司",
        hospital="成都市第一人民医院",
        hospital_region="510100",
        shipped_at=AT,
        lines=[line],
        total_quantity=10,
        total_fen=BIG_FEN,
        check="0123456789ab",
        qr_text="VBP-PSD:FH0000000001:0123456789ab",
    )
    text = _text(render_delivery_note(note))
    assert "123,456.78" in text
    assert "1,234,567.80" in text
    assert "1234567.80" not in text


def test_a_receipt_slip_prints_big_amounts_with_separators() -> None:
    line = SlipLine(
        "阿托伐他汀钙片", "20mg×28片", "某制药", "B1", date(2028, 12, 31), 10, 10, 0, "", BIG_PRICE_FEN
    )
    slip = ReceiptSlip(
        number="RK0000000001",
        hospital="成都市第一人民医院",
        distributor="四川医药配送有限公司",
        order_id=1,
        delivery_note="FH0000000001",
        shipped_at=AT,
        accepted_on=date(2026, 6, 3),
        lines=[line],
    )
    text = _text(render_receipt_slip(slip))
    assert "123,456.78" in text
    assert "1,234,567.80" in text
    assert "1234567.80" not in text
