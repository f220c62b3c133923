"""Fund savings (基金节约): non-VBP purchases below their payment standard, net of returns, per
hospital and month; the bureau sees all, a hospital its own, nobody else."""

from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import openpyxl
import pytest
from flask import Flask
from sqlalchemy.orm import Session

from app.db import Database
from core.errors import PermissionDenied
from ledger.models import Listing
from ledger.services import listings, ordering
from ledger.supervision.fund_savings import fund_savings
from reports import fund_savings as output
from tests.flows import at, buy
from tests.ordering import NOW, Market, make_market

MAY = date(2026, 5, 1)
DAY = date(2026, 5, 12)


def priced_listing(market: Market, pack_price_fen: int, strength: str = "10") -> Listing:
    """A non-winning product of A (same variety, winning price 20.00 a pack of 100), price-linked."""
    product_id = market.world.product("A", market.world.items[0], strength=strength)
    return listings.apply_price_linked(
        market.session,
        market.world.actor(market.world.manufacturer("A")),
        product_id=product_id,
        region_code="510100",
        pack_price_fen=pack_price_fen,
        now=NOW,
        hold_flagged=False,
    )


@pytest.fixture
def market(session: Session) -> Market:
    return make_market(session)


def test_savings_are_standard_less_price_times_net_packs(market: Market, session: Session) -> None:
    cheap = priced_listing(market, 1500)
    dear = priced_listing(market, 2500, strength="5")  # above its standard: saves nothing
    bought = buy(market, 10, on=DAY, listing=cheap)
    ordering.record_return(
        session, market.hospital_actor, bought.receipt.id, quantity=2, reason="破损", now=at(DAY)
    )
    buy(market, 5, on=DAY, listing=dear)
    buy(market, 7, on=DAY)  # the VBP listing: not counted
    buy(market, 4, on=DAY, listing=cheap, hospital=market.other_hospital_actor)

    report = fund_savings(session, market.world.bureau, month=MAY)
    mine = [r for r in report.rows if r.hospital_id == market.hospital.id]
    assert [(r.product_id, r.packs, r.standard_fen, r.savings_fen, r.lines) for r in mine] == [
        (cheap.product_id, 8, 2000, 8 * 500, 1)
    ]
    assert report.total_savings_fen == 12 * 500
    assert report.total_lines == 2

    own = fund_savings(session, market.other_hospital_actor, month=MAY)
    assert [(r.hospital_id, r.savings_fen) for r in own.rows] == [(market.other_hospital.id, 2000)]
    assert fund_savings(session, market.world.bureau, month=date(2026, 6, 1)).rows == []
    with pytest.raises(PermissionDenied):
        fund_savings(session, market.world.actor(market.world.manufacturer("A")), month=MAY)

    data = output.to_json(report)
    assert data["total"] == {"lines": 2, "bought": "180.00", "savings": "60.00"}
    assert "结余留用" in data["basis"]
    sheet = openpyxl.load_workbook(io.BytesIO(output.to_xlsx(report))).worksheets[0]
    assert sheet.cell(1, 10).value == "节约金额(元)"


def test_the_cli_writes_the_month(app: Flask, db: Database, session: Session, tmp_path: Path) -> None:
    market = make_market(session)
    buy(market, 10, on=DAY, listing=priced_listing(market, 1500))
    session.commit()
    out = tmp_path / "savings.json"
    result = app.test_cli_runner().invoke(
        args=["report", "fund-savings", "--month", "2026-05", "--format", "json", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["total"]["savings"] == "50.00"
    bad = app.test_cli_runner().invoke(args=["report", "fund-savings", "--month", "2026-13"])
    assert bad.exit_code != 0
