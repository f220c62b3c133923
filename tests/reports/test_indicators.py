"""Indicator reports from real deliveries, payments and off-platform reports (vbp-rules.md §6):
E10 exactly, other numbers for the same rules, returns in the month of return, on-time payment,
delivery, scoping, and the JSON / xlsx / PDF outputs."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from bidding import catalogue
from bidding.models import Category, DosageFormGroup
from core.organizations import User
from ledger.models import Listing, PurchaseCategory
from ledger.services import listings, ordering, purchases
from reports import indicators
from reports.indicators import GroupBy
from reports.report_pdf import render_report
from tests.factories import bearer
from tests.ledger.test_reconcile import FILED, PRICE, Line
from tests.ordering import NOW, Market, make_market
from tests.tendering import T0

MAY, JUNE = date(2026, 5, 1), date(2026, 6, 1)
YUAN = 100  # fen


@pytest.fixture
def market(session: Session) -> Market:
    return make_market(session)


def _consumable_listing(market: Market, pack_price_fen: int) -> Listing:
    """A high-value consumable the hospital buys through a filed (备案) listing."""
    product = catalogue.create_product(
        market.session,
        market.world.bureau,
        data={
            "category": Category.CONSUMABLE,
            "code": "C14010101",
            "generic_name": "冠脉药物洗脱支架",
            "dosage_form": "支架",
            "dosage_form_group": DosageFormGroup.OTHER,
            "strength_value": "1",
            "strength_unit": "个",
            "fill_volume_ml": None,
            "spec_text": "3.0×18mm",
            "min_unit": "个",
            "units_per_pack": 1,
            "mah_uscc": market.world.manufacturer("A").uscc,
            "originator": False,
            "reference_listed": False,
            "consistency_evaluated": False,
            "registration_no": "国械注准20223130001",
        },
        now=T0,
    )
    return listings.file_purchase(
        market.session,
        market.hospital_actor,
        product_id=product.id,
        pack_price_fen=pack_price_fen,
        reason="临床急需",
        now=NOW,
    )


def _buy(market: Market, packs: int, *, listing: Listing | None = None) -> Line:
    """Order, ship and accept `packs` through the services."""
    line = Line(market, packs)
    order = market.order(packs, listing=listing) if listing else market.order(packs)
    line.order_id, line.line_id = order.id, order.lines[0].id  # type: ignore[attr-defined]
    return line.accept().receive(packs)


def _off_platform(market: Market, category: PurchaseCategory, yuan: int) -> None:
    purchases.report_off_platform(
        market.session, market.hospital_actor, month=MAY, category=category, amount_fen=yuan * YUAN, now=NOW
    )


def _report(
    market: Market, actor: object = None, group_by: GroupBy = GroupBy.PROVINCE
) -> indicators.IndicatorReport:
    return indicators.compute_indicators(
        market.session,
        actor or market.world.bureau,  # type: ignore[arg-type]
        period_from=MAY,
        period_before=JUNE,
        group_by=group_by,
        as_of=date(2026, 6, 30),
    )


def _online(market: Market, *, drug_platform: int, tcm: int, drug_off: int, hvc_platform: int, hvc_off: int):
    """Platform purchases (yuan) bought as packs of 20.00 (drugs) and 1,000.00 (stents)."""
    _buy(market, drug_platform // (PRICE // YUAN))
    _buy(market, hvc_platform // 1000, listing=_consumable_listing(market, 1000 * YUAN))
    _off_platform(market, PurchaseCategory.TCM_PIECES, tcm)
    _off_platform(market, PurchaseCategory.DRUGS, drug_off)
    _off_platform(market, PurchaseCategory.HIGH_VALUE_CONSUMABLES, hvc_off)
    return _report(market).total


def test_e10_online_procurement_rate(market: Market) -> None:
    # E10: drug purchases 10,000,000 of which 中药饮片 1,500,000 (none online), 7,900,000 on the
    # platform; high-value consumables 3,000,000 of which 2,300,000 online.
    total = _online(
        market,
        drug_platform=7_900_000,
        tcm=1_500_000,
        drug_off=600_000,
        hvc_platform=2_300_000,
        hvc_off=700_000,
    )
    assert (total.drug_platform_fen, total.drug_offline_fen) == (7_900_000 * YUAN, 600_000 * YUAN)
    assert total.drug_online_rate == Decimal("0.9294")  # 7.9 M ÷ (10 M − 1.5 M) → 92.94 % ≥ 90 %: pass
    assert total.hvc_online_rate == Decimal("0.7667")  # 2.3 M ÷ 3 M → 76.67 % < 80 %: fail
    body = indicators.to_json(_report(market))
    assert (body["drug_online_pass"], body["hvc_online_pass"]) == (True, False)
    assert body["total"]["drug_online_rate"] == "0.9294"
    assert body["total"]["drug_platform"] == "7900000.00"


def test_online_rate_with_other_numbers(market: Market) -> None:
    total = _online(
        market, drug_platform=450_000, tcm=90_000, drug_off=50_000, hvc_platform=81_000, hvc_off=19_000
    )
    assert total.drug_online_rate == Decimal("0.9000")  # exactly on the target: pass
    assert total.hvc_online_rate == Decimal("0.8100")
    body = indicators.to_json(_report(market))
    assert (body["drug_online_pass"], body["hvc_online_pass"]) == (True, True)


def test_returns_subtract_in_the_month_of_return(market: Market, session: Session) -> None:
    line = _buy(market, 100)  # accepted in May: 2,000.00
    june = datetime(2026, 6, 15, 2, 0, tzinfo=NOW.tzinfo)
    ordering.record_return(
        session, market.hospital_actor, line.receipts[0].id, quantity=10, reason="破损", now=june
    )
    may = _report(market).total
    assert may.drug_platform_fen == 100 * PRICE
    june_report = indicators.compute_indicators(
        session, market.world.bureau, period_from=JUNE, period_before=date(2026, 7, 1), as_of=june.date()
    ).total
    assert june_report.drug_platform_fen == -10 * PRICE


def test_on_time_payment_delivery_and_winner_share(market: Market) -> None:
    paid = _buy(market, 10).invoice_all("10000001")
    paid.settle_and_pay()  # accepted 9 May, due 8 June, paid 10 June: late
    partial = Line(market, 10).place().accept().receive(4)  # 4 of 10 delivered
    total = _report(market).total
    assert (total.ordered_qty, total.shipped_qty) == (20, 14)
    assert total.delivery_rate == Decimal("0.7000")
    assert total.on_time_arrival_rate == Decimal("1.0000")  # both shipped within the 24 h deadline
    assert total.winner_share == Decimal("1.0000")
    june = indicators.compute_indicators(
        market.session,
        market.world.bureau,
        period_from=JUNE,
        period_before=date(2026, 7, 1),
        as_of=date(2026, 6, 30),
    ).total
    assert (june.due_lines, june.on_time_lines, june.due_fen, june.paid_fen) == (1, 0, 10 * PRICE, 10 * PRICE)
    assert (june.on_time_count_rate, june.payment_rate) == (Decimal("0.0000"), Decimal("1.0000"))
    assert june.average_days_to_payment == Decimal("32.0")  # 9 May → 10 June
    assert partial.line_id


def test_a_hospital_sees_only_its_own_numbers(market: Market) -> None:
    _buy(market, 10)
    other = ordering.place_orders(
        market.session,
        market.other_hospital_actor,
        distributor_id=market.distributor.id,
        lines=[ordering.LineRequest(market.listing.id, 7)],
        urgency=ordering.Urgency.NORMAL,
        now=NOW,
    )
    mine = _report(market, market.hospital_actor).total
    theirs = _report(market, market.other_hospital_actor).total
    assert (mine.ordered_qty, theirs.ordered_qty) == (10, 7)
    assert mine.drug_platform_fen == 10 * PRICE
    assert theirs.drug_platform_fen == 0
    by_hospital = _report(market, group_by=GroupBy.HOSPITAL)
    assert {r.label: r.ordered_qty for r in by_hospital.rows} == {
        market.hospital.name: 10,
        market.other_hospital.name: 7,
    }
    assert other.id


def test_outputs_xlsx_and_pdf(market: Market) -> None:
    _online(
        market,
        drug_platform=7_900_000,
        tcm=1_500_000,
        drug_off=600_000,
        hvc_platform=2_300_000,
        hvc_off=700_000,
    )
    report = _report(market, group_by=GroupBy.MONTH)
    sheet = load_workbook(io.BytesIO(indicators.to_xlsx(report))).active
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["分组", "名称", "药品线上采购率"]
    assert sheet.cell(row=2, column=1).value == "2026-05"
    pdf = render_report(indicators.to_document(report, generated_at=FILED))
    assert pdf.startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = re.sub(
            r"\s+",
            "",
            subprocess.run(
                ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
            ).stdout.decode(),
        )
        assert "医药集中带量采购监测指标报告" in text
        assert "92.94%" in text
        assert "目标90.00%" in text
        assert "未达标" in text
    assert timedelta(days=1)


def test_indicator_report_over_http(
    market: Market, session: Session, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("core.clock.now", lambda: FILED)
    _buy(market, 50)
    bureau = bearer(session, session.get_one(User, market.world.bureau.user_id))
    other = bearer(session, session.get_one(User, market.other_hospital_actor.user_id))
    url = "/api/v1/reports/indicators?period_from=2026-05"
    body = client.get(url, headers=bureau).get_json()
    assert body["total"]["drug_platform"] == "1000.00"
    assert client.get(url, headers=other).get_json()["total"]["drug_platform"] == "0.00"
    xlsx = client.get(url + "&format=xlsx&group_by=hospital", headers=bureau)
    assert xlsx.status_code == 200
    assert xlsx.data[:2] == b"PK"
    pdf = client.get(url + "&format=pdf&group_by=month", headers=bureau)
    assert pdf.status_code == 200
    assert pdf.data.startswith(b"%PDF")
    bad = client.get("/api/v1/reports/indicators?period_from=2026-05&period_to=2025-01", headers=bureau)
    assert bad.status_code == 422
    assert "period_to" in bad.get_json()["error"]["fields"]
