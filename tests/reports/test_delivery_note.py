"""The delivery note (配送单) of a shipment: built only for its parties, every line with its
product and batch, totals in fen, a QR text naming the shipment and its check value, and a PDF
whose Chinese text reads back with poppler."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest
from sqlalchemy.orm import Session

from core.errors import NotFound
from core.money import fen_to_display
from reports.delivery_note import check_value, delivery_note, render_delivery_note
from tests.factories import actor_of, make_user
from tests.ordering import make_market


def _shipped(session: Session) -> tuple[Any, Any]:
    market = make_market(session)
    order: Any = market.order(10)
    shipment: Any = market.accept_and_ship(order.id, 6)
    return market, shipment


def test_the_note_lists_each_line_with_its_product_batch_and_amount(session: Session) -> None:
    market, shipment = _shipped(session)
    note = delivery_note(session, market.distributor_actor, shipment.id)
    line = shipment.lines[0]
    price = market.listing.pack_price_fen
    assert note.number == f"FH{shipment.id:010d}"
    assert note.order_number == f"DD{shipment.order_id:08d}"
    assert note.distributor == market.distributor.name
    assert note.hospital == market.hospital.name
    assert [(x.batch_no, x.quantity, x.pack_price_fen, x.amount_fen) for x in note.lines] == [
        (line.batch_no, 6, price, 6 * price)
    ]
    assert note.lines[0].product == market.listing.product.generic_name
    assert note.lines[0].spec == market.listing.product.spec_text
    assert (note.total_quantity, note.total_fen) == (6, 6 * price)
    assert note.qr_text == f"VBP-PSD:{note.number}:{check_value(shipment)}"
    assert len(note.check) == 12


def test_the_hospital_may_print_the_note_and_other_organizations_get_not_found(session: Session) -> None:
    market, shipment = _shipped(session)
    assert delivery_note(session, market.hospital_actor, shipment.id).number == f"FH{shipment.id:010d}"
    for stranger in (
        market.other_hospital_actor,
        actor_of(make_user(session, market.stranger_distributor)),
        market.world.actor(market.world.manufacturer("A")),
    ):
        with pytest.raises(NotFound):
            delivery_note(session, stranger, shipment.id)


def test_the_check_value_changes_when_what_was_shipped_changes(session: Session) -> None:
    _market, shipment = _shipped(session)
    before = check_value(shipment)
    shipment.lines[0].batch_no = "B99999999"
    assert check_value(shipment) != before


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils missing")
def test_the_pdf_reads_back_with_parties_lines_totals_and_signature_lines(session: Session) -> None:
    market, shipment = _shipped(session)
    note = delivery_note(session, market.distributor_actor, shipment.id)
    pdf = render_delivery_note(note)
    assert pdf.startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    for expected in (
        "配送单",
        market.distributor.name,
        market.hospital.name,
        note.number,
        note.order_number,
        "B20260101",
        "2028-12-31",
        note.check,
        "发货人签字",
        "收货人签字",
        "合计",
        "成都市锦江区（510104）",  # the region by its name, the code beside it
    ):
        assert expected in text, expected
    assert fen_to_display(note.total_fen) in text
    fonts = subprocess.run(["pdffonts", "-"], input=pdf, capture_output=True, check=False).stdout.decode()
    assert "Helvetica" not in fonts
