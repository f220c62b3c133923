"""The receipt and warehousing slip (验收入库单) read back with poppler: every line's product,
specification, manufacturer, batch, expiry, accepted and rejected quantity, price and amount, the
totals and the signature lines, in an embedded CJK font; only the caller's own confirmed delivery."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from core.errors import NotFound
from core.money import fen_to_display
from ledger.services import ordering
from reports.receipt_slip import render_receipt_slip, slip_for_shipment
from tests.ordering import NOW, make_market

needs_poppler = pytest.mark.skipif(
    not (shutil.which("pdftotext") and shutil.which("pdffonts")),
    reason="poppler-utils missing: run scripts/system-packages.sh",
)


def confirmed_delivery(session: Session) -> tuple[Any, Any]:
    market = make_market(session)
    order: Any = market.order(10)
    shipment: Any = market.accept_and_ship(order.id, 10)
    ordering.confirm_receipt(
        session,
        market.hospital_actor,
        shipment.lines[0].id,
        accepted=7,
        rejected=3,
        reason_code="damaged",
        now=NOW,
    )
    return market, shipment


def test_the_slip_carries_each_line_and_the_totals(session: Session) -> None:
    market, shipment = confirmed_delivery(session)
    slip = slip_for_shipment(session, market.hospital_actor, shipment.id)
    (line,) = slip.lines
    product = market.listing.product
    assert (line.product, line.spec) == (product.generic_name, product.spec_text)
    assert (line.shipped, line.accepted, line.rejected, line.reason) == (10, 7, 3, "破损")
    assert line.batch_no == "B20260101"
    assert line.pack_price_fen == market.listing.pack_price_fen
    assert slip.amount_total_fen == 7 * market.listing.pack_price_fen
    assert slip.hospital == market.hospital.name
    assert slip.distributor == market.distributor.name


def test_no_slip_for_another_hospital_or_an_unconfirmed_delivery(session: Session) -> None:
    market, shipment = confirmed_delivery(session)
    with pytest.raises(NotFound):
        slip_for_shipment(session, market.other_hospital_actor, shipment.id)
    order: Any = market.order(2)
    pending: Any = market.accept_and_ship(order.id, 2)
    with pytest.raises(NotFound):
        slip_for_shipment(session, market.hospital_actor, pending.id)


@needs_poppler
def test_the_pdf_reads_back_in_chinese_with_its_font_embedded(session: Session, tmp_path: Path) -> None:
    market, shipment = confirmed_delivery(session)
    slip = slip_for_shipment(session, market.hospital_actor, shipment.id)
    path = tmp_path / "slip.pdf"
    path.write_bytes(render_receipt_slip(slip))
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True).stdout
    for expected in (
        "药品验收入库单",
        market.hospital.name,
        market.distributor.name,
        market.listing.product.generic_name,
        "B20260101",
        "2028-12-31",
        "破损",
        fen_to_display(market.listing.pack_price_fen),
        fen_to_display(7 * market.listing.pack_price_fen),
        "验收人",
        "保管人",
        "日期",
        "第1页/共1页",  # pdftotext drops the spaces between CJK glyphs
    ):
        assert expected in text, expected
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True).stdout
    rows = fonts.splitlines()[2:]
    assert rows
    assert all(row.split()[-5] == "yes" for row in rows), fonts  # every font embedded
