"""A verdict and the figure printed beside it never contradict each other (issue 15, defect 19):
the comparison is exact, and a rate is printed with as many places as it takes for the printed
figures to compare the same way (JSON, xlsx, PDF and the web page alike)."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from core.organizations import User
from ledger.models import PurchaseCategory
from ledger.services import purchases
from reports import indicators
from reports.indicators import compute_indicators
from tests.flows import at, buy
from tests.ordering import Market, make_market
from tests.web.test_pages import web_login

MAY = date(2026, 5, 1)


@pytest.fixture
def market(session: Session) -> Market:
    return make_market(session)


def _drugs(m: Market, packs: int, off_platform_fen: int) -> indicators.IndicatorReport:
    buy(m, packs, on=date(2026, 5, 9))  # 20.00 a pack on the platform
    purchases.report_off_platform(
        m.session,
        m.hospital_actor,
        month=MAY,
        category=PurchaseCategory.DRUGS,
        amount_fen=off_platform_fen,
        now=at(date(2026, 6, 2)),
    )
    return compute_indicators(m.session, m.world.bureau, months=[MAY], as_of=date(2026, 6, 30))


def test_a_rate_just_below_its_target_is_printed_below_it_everywhere(
    market: Market, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 900.00 on the platform, 100.01 off it: 89.9991 % against a 90 % target.
    report = _drugs(market, 45, 10_001)
    assert report.total.drug_online_rate == Decimal(90_000) / Decimal(100_001)
    assert report.total.drug_online_pass is False

    body = indicators.to_json(report)
    assert (body["total"]["drug_online_rate"], body["total"]["drug_online_pass"]) == ("0.89999", False)

    sheet = load_workbook(io.BytesIO(indicators.to_xlsx(report)))["采购监测指标"]
    header = [c.value for c in sheet[1]]
    total = [c.value for c in sheet[sheet.max_row]]
    rate = total[header.index("药品线上采购率(不含中药饮片)")]
    assert (Decimal(str(rate)), total[header.index("药品是否达标(≥90%)")]) == (Decimal("0.89999"), "未达标")

    text = " ".join(p for s in indicators.to_document(report).sections for p in s.paragraphs)
    assert "89.999%，目标 90.00%，未达标" in text

    monkeypatch.setattr("core.clock.now", lambda: at(date(2026, 6, 30)))
    web_login(client, market.session.get_one(User, market.world.bureau.user_id).username)
    page = client.get("/indicators?month=2026-05").get_data(as_text=True)
    assert "89.999%" in page
    assert "90.00%" not in page


def test_a_rate_on_its_target_passes_and_prints_at_two_places(market: Market) -> None:
    report = _drugs(market, 45, 10_000)  # 900.00 of 1,000.00: exactly 90 %
    assert report.total.drug_online_pass is True
    assert indicators.to_json(report)["total"]["drug_online_rate"] == "0.9000"
    text = " ".join(p for s in indicators.to_document(report).sections for p in s.paragraphs)
    assert "90.00%，目标 90.00%，达标" in text
