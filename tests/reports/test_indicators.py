"""Indicator reports (vbp-rules.md §6) from real deliveries, payments and off-platform reports:
E10 exactly and with other numbers, returns in the month of return, on-time payment with a late
payment, delivery with a partial shipment, winner share, savings, agreed volumes, scoping, and the
JSON / xlsx / document outputs. The market's VBP listing sells packs of 100 tablets at 20.00."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bidding import catalogue
from bidding.models import Category, DosageFormGroup, VolumeAllocation
from core.actors import Actor, OrgKind, Role
from core.money import quantize, to_fen
from core.organizations import User
from ledger.models import Listing, PaymentSource, PurchaseCategory, ReceiptLine
from ledger.money_rules import SavingsFormula
from ledger.queries import time_elapsed_pct
from ledger.services import (
    authorizations,
    invoicing,
    listings,
    ordering,
    purchases,
    settlement,
    settlement_payments,
)
from ledger.services.ordering import LineRequest, ShipRequest, Urgency
from reports import indicators
from reports.documents import BarChart, ReportDocument
from reports.indicators import GroupBy, IndicatorReport, compute_indicators
from reports.report_pdf import render_report
from tests.factories import actor_of, bearer, make_org, make_user
from tests.ordering import EXPIRY, NOW, Market, make_market
from tests.tendering import T0

MAY, JUNE, JULY = date(2026, 5, 1), date(2026, 6, 1), date(2026, 7, 1)
PACK = 2_000  # fen: the market's listing price per pack (100 tablets at 0.20)
YUAN = 100
STENT = 1_000 * YUAN  # a filed high-value consumable at 1,000.00 a piece


@pytest.fixture
def market(session: Session) -> Market:
    return make_market(session)


@dataclass
class Bought:
    order_id: int
    line_id: int
    receipt: ReceiptLine


def buy(
    m: Market,
    packs: int,
    *,
    listing: Listing | None = None,
    ship: int | None = None,
    hospital: Actor | None = None,
    distributor: Actor | None = None,
    received_at: datetime = NOW,
) -> Bought:
    """Order → accept → ship → confirm receipt, all through ledger.services.ordering."""
    hospital, distributor = hospital or m.hospital_actor, distributor or m.distributor_actor
    order = ordering.place_orders(
        m.session,
        hospital,
        distributor_id=distributor.org_id,  # type: ignore[arg-type]
        lines=[LineRequest((listing or m.listing).id, packs)],
        urgency=Urgency.NORMAL,
        now=NOW,
    )
    line_id = order.lines[0].id
    ordering.decide_order(m.session, distributor, order.id, accept=True, reason=None, now=NOW)
    shipped = ordering.ship(
        m.session, distributor, order.id, lines=[ShipRequest(line_id, ship or packs, "B1", EXPIRY)], now=NOW
    )
    receipt = ordering.confirm_receipt(
        m.session,
        hospital,
        shipped.lines[0].id,
        accepted=ship or packs,
        rejected=0,
        reason_code=None,
        now=received_at,
    )
    return Bought(order.id, line_id, receipt)


def stent_listing(m: Market) -> Listing:
    """A high-value consumable the hospital buys on the platform through a filed (备案) listing."""
    product = catalogue.create_product(
        m.session,
        m.world.bureau,
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
            "mah_uscc": m.world.manufacturer("A").uscc,
            "originator": False,
            "reference_listed": False,
            "consistency_evaluated": False,
            "registration_no": "国械注准20223130001",
        },
        now=T0,
    )
    return listings.file_purchase(
        m.session, m.hospital_actor, product_id=product.id, pack_price_fen=STENT, reason="临床急需", now=NOW
    )


def off_platform(m: Market, category: PurchaseCategory, yuan: int, actor: Actor | None = None) -> None:
    purchases.report_off_platform(
        m.session, actor or m.hospital_actor, month=MAY, category=category, amount_fen=yuan * YUAN, now=NOW
    )


def report(m: Market, actor: Actor | None = None, **kw: Any) -> IndicatorReport:
    if "period_from" not in kw:
        kw.setdefault("months", [MAY])
    kw.setdefault("as_of", date(2026, 6, 30))
    return compute_indicators(m.session, actor or m.world.bureau, **kw)


def online_case(m: Market, *, drugs: int, tcm: int, drugs_off: int, stents: int, hvc_off: int) -> None:
    """Platform purchases in yuan (drug packs at 20.00, stents at 1,000.00) and off-platform reports."""
    if drugs:
        buy(m, drugs // 20)
    if stents:
        buy(m, stents // 1_000, listing=stent_listing(m))
    off_platform(m, PurchaseCategory.TCM_PIECES, tcm)
    off_platform(m, PurchaseCategory.DRUGS, drugs_off)
    off_platform(m, PurchaseCategory.HIGH_VALUE_CONSUMABLES, hvc_off)


# --- online procurement rate --------------------------------------------------------------------


def test_e10_online_procurement_rate(market: Market) -> None:
    # E10: drugs 10,000,000 of which 中药饮片 1,500,000 (off-platform) and 7,900,000 on the platform;
    # high-value consumables 3,000,000 of which 2,300,000 online.
    online_case(market, drugs=7_900_000, tcm=1_500_000, drugs_off=600_000, stents=2_300_000, hvc_off=700_000)
    result = report(market)
    t = result.total
    assert (t.drug_platform_fen, t.drug_off_platform_fen) == (7_900_000 * YUAN, 600_000 * YUAN)
    assert t.drug_platform_fen + t.drug_off_platform_fen + 1_500_000 * YUAN == 10_000_000 * YUAN
    assert t.drug_online_rate == Decimal(7_900_000) / Decimal(8_500_000)
    assert quantize(t.drug_online_rate, Decimal("0.0001")) == Decimal("0.9294")  # 92.94 % ≥ 90 %
    assert t.drug_online_pass is True
    assert (t.hvc_platform_fen, t.hvc_off_platform_fen) == (2_300_000 * YUAN, 700_000 * YUAN)
    assert t.hvc_online_rate == Decimal(23) / Decimal(30)
    assert t.hvc_online_pass is False  # 76.67 % < 80 %
    body = indicators.to_json(result)
    assert body["total"]["drug_online_rate"] == "0.9294"
    assert body["total"]["hvc_online_rate"] == "0.7667"
    assert (body["drug_online_pass"], body["hvc_online_pass"]) == (True, False)
    assert body["total"]["drug_platform"] == "7900000.00"
    assert body["targets"] == {"drug_online_rate": "0.90", "hvc_online_rate": "0.80"}


@pytest.mark.parametrize(
    ("drugs", "tcm", "drugs_off", "stents", "hvc_off", "drug_pass", "hvc_pass"),
    [
        (900, 5_000, 100, 8_000, 2_000, True, True),  # exactly on both targets: pass
        (1_234_560, 999_999, 150_001, 79_000, 21_000, False, False),  # 89.16 %, 79.00 %
        (20, 0, 0, 0, 0, True, None),  # all online; no consumables at all: no rate
    ],
)
def test_online_rate_with_other_numbers(
    market: Market,
    drugs: int,
    tcm: int,
    drugs_off: int,
    stents: int,
    hvc_off: int,
    drug_pass: bool,
    hvc_pass: bool | None,
) -> None:
    online_case(market, drugs=drugs, tcm=tcm, drugs_off=drugs_off, stents=stents, hvc_off=hvc_off)
    t = report(market).total
    assert t.drug_online_rate == Decimal(drugs) / Decimal(drugs + drugs_off)  # 饮片 in neither
    assert t.drug_online_pass is drug_pass
    expected_hvc = Decimal(stents) / Decimal(stents + hvc_off) if stents + hvc_off else None
    assert (t.hvc_online_rate, t.hvc_online_pass) == (expected_hvc, hvc_pass)


def test_returns_subtract_in_the_month_of_return(market: Market, session: Session) -> None:
    bought = buy(market, 100)  # accepted 9 May: 2,000.00
    ordering.record_return(
        session,
        market.hospital_actor,
        bought.receipt.id,
        quantity=5,
        reason="破损",
        now=NOW + timedelta(days=3),
    )
    june = datetime(2026, 6, 15, 2, 0, tzinfo=NOW.tzinfo)
    ordering.record_return(
        session, market.hospital_actor, bought.receipt.id, quantity=10, reason="过期", now=june
    )
    off_platform(market, PurchaseCategory.DRUGS, 100)
    may = report(market).total
    assert may.drug_platform_fen == 95 * PACK  # the May return nets in May
    assert may.drug_online_rate == Decimal(1_900) / Decimal(2_000)
    assert may.winner_units == 95 * 100
    june_total = report(market, months=[JUNE]).total
    assert june_total.drug_platform_fen == -10 * PACK  # the June return lands in June, not May
    assert june_total.drug_online_rate is None  # nothing bought in June: no meaningful rate
    both = report(market, period_from=MAY, period_to=JUNE)
    assert both.months == (MAY, JUNE)
    assert both.total.drug_platform_fen == 85 * PACK
    by_month = report(market, period_from=MAY, period_to=JUNE, group_by="month")
    assert [(r.key, r.drug_platform_fen) for r in by_month.rows] == [
        ("2026-05", 95 * PACK),
        ("2026-06", -10 * PACK),
    ]


# --- payment ------------------------------------------------------------------------------------


def _invoice_and_settle(m: Market, distributor: Actor, bought: Bought, packs: int, paid_on: date) -> None:
    """Invoice the receipt, confirm it, file May's application, and the hospital pays it itself."""
    invoice = invoicing.record_invoice(
        m.session,
        distributor,
        hospital_id=m.hospital.id,
        invoice_code="",
        invoice_number=f"{bought.line_id:08d}",
        issued_on=NOW.date(),
        tax_rate=Decimal("0.13"),
        now=NOW,
        lines=[invoicing.InvoiceLineRequest(bought.receipt.id, packs, packs * PACK)],
    )
    for line in invoice.lines:
        invoicing.decide_invoice_line(
            m.session, m.hospital_actor, line.id, confirm=True, reason=None, now=NOW
        )
    filed = datetime(2026, 6, 3, 2, 0, tzinfo=NOW.tzinfo)
    app = settlement.file_application(
        m.session, distributor, hospital_id=m.hospital.id, period_month=MAY, now=filed
    )
    settlement.confirm_application(m.session, m.hospital_actor, app.id, disputes={}, now=filed)
    settlement_payments.pay_application(
        m.session,
        m.hospital_actor,
        app.id,
        bank_reference=f"SELF-{bought.line_id}",
        paid_on=paid_on,
        now=datetime(2026, 6, 20, 2, 0, tzinfo=NOW.tzinfo),
        source=PaymentSource.SELF_PAY,
    )


def second_distributor(m: Market) -> Actor:
    org = make_org(m.session, OrgKind.DISTRIBUTOR, region_code="510100")
    authorizations.authorize_distributor(
        m.session,
        m.world.actor(m.world.manufacturer("A")),
        distributor_id=org.id,
        product_id=None,
        region_code="510100",
        now=NOW,
    )
    return actor_of(make_user(m.session, org, Role.OPERATOR))


def test_on_time_payment_with_one_late_payment(market: Market) -> None:
    # Both accepted 9 May → due 8 June (§4.1: +30 days). 200.00 paid 5 June; 600.00 paid 10 June, late.
    late_distributor = second_distributor(market)
    on_time = buy(market, 10)
    late = buy(market, 30, distributor=late_distributor)
    _invoice_and_settle(market, market.distributor_actor, on_time, 10, date(2026, 6, 5))
    _invoice_and_settle(market, late_distributor, late, 30, date(2026, 6, 10))
    t = report(market, months=[JUNE]).total
    assert (t.due_lines, t.on_time_lines) == (2, 1)
    assert (t.due_fen, t.on_time_fen, t.paid_fen) == (40 * PACK, 10 * PACK, 40 * PACK)
    assert t.on_time_count_rate == Decimal("0.5")
    assert t.on_time_amount_rate == Decimal("0.25")
    assert t.payment_rate == 1
    assert t.average_days_to_payment == Decimal("29.5")  # (27 + 32) ÷ 2
    # Judged on 9 June, the late line is due and not yet paid.
    early = report(market, months=[JUNE], as_of=date(2026, 6, 9)).total
    assert (early.due_lines, early.on_time_lines, early.paid_fen) == (2, 1, 10 * PACK)
    assert early.payment_rate == Decimal("0.25")
    # Judged on 7 June, nothing is due yet: no rate rather than 0 %.
    assert report(market, months=[JUNE], as_of=date(2026, 6, 7)).total.on_time_count_rate is None
    # In May nothing fell due.
    assert report(market).total.due_lines == 0
    by_enterprise = report(market, months=[JUNE], group_by=GroupBy.ENTERPRISE)
    rates = {r.key: r.on_time_count_rate for r in by_enterprise.rows if r.due_lines}
    assert rates == {str(market.distributor.id): 1, str(late_distributor.org_id): 0}


# --- delivery -----------------------------------------------------------------------------------


def test_delivery_rate_with_a_partial_and_a_late_delivery(market: Market, session: Session) -> None:
    buy(market, 10, ship=4)  # 4 of 10 delivered
    buy(market, 20, received_at=NOW + timedelta(hours=30))  # the 24 h deadline has passed
    cancelled = market.order(5)
    ordering.cancel_order(session, market.hospital_actor, cancelled.id, reason="不再需要", now=NOW)  # type: ignore[attr-defined]
    t = report(market).total
    assert (t.ordered_qty, t.delivered_qty) == (30, 24)  # the cancelled order is left out
    assert t.delivery_rate == Decimal("0.8")
    assert (t.arrived_lines, t.on_time_arrived_lines) == (2, 1)
    assert t.on_time_arrival_rate == Decimal("0.5")


# --- winner share, savings, agreed volumes ------------------------------------------------------


def test_winner_share_and_savings_against_pre_vbp_prices(market: Market) -> None:
    item = market.world.items[0]
    item.pre_vbp_unit_price_e4 = 5_000  # 0.50 a tablet before VBP; the winner sells at 0.20
    buy(market, 30)  # 3,000 winner tablets
    other = market.world.product("A", item, units=50)  # same generic, not the awarded product
    filed = listings.file_purchase(
        market.session,
        market.hospital_actor,
        product_id=other,
        pack_price_fen=4_000,
        reason="临床需要",
        now=NOW,
    )
    buy(market, 20, listing=filed)  # 1,000 non-winner tablets
    t = report(market).total
    assert (t.winner_units, t.generic_units) == (3_000, 4_000)
    assert t.winner_share == Decimal("0.75")
    assert t.pre_vbp_fen == 1_500 * YUAN  # 3,000 × 0.50
    assert t.savings_fen == 900 * YUAN  # 3,000 × (0.50 − 0.20)
    assert t.savings_rate == Decimal("0.6")
    body = indicators.to_json(report(market))
    assert (body["total"]["savings"], body["total"]["winner_share"]) == ("900.00", "0.7500")


def _agreed(m: Market, hospital_id: int) -> int:
    return int(
        m.session.scalar(
            select(func.sum(VolumeAllocation.agreed_quantity)).where(
                VolumeAllocation.hospital_id == hospital_id
            )
        )
    )


def test_agreed_volume_completion_against_time_elapsed(market: Market) -> None:
    buy(market, 50)  # 5,000 tablets of the award
    as_of = date(2026, 7, 31)
    agreed = _agreed(market, market.hospital.id)
    mine = report(market, market.hospital_actor, as_of=as_of).total
    assert (mine.agreed_units, mine.completed_units) == (agreed, 5_000)
    assert mine.completion_rate == Decimal(5_000) / agreed
    elapsed = time_elapsed_pct(date(2026, 5, 1), date(2027, 4, 30), as_of) / 100
    assert mine.time_elapsed == elapsed
    assert mine.completion_on_track is (mine.completion_rate >= elapsed)
    # The province adds the other hospital's agreed volume (nothing bought there yet).
    province = report(market, as_of=as_of).total
    assert province.agreed_units == agreed + _agreed(market, market.other_hospital.id)
    assert province.completed_units == 5_000
    by_hospital = {r.key: r for r in report(market, as_of=as_of, group_by="hospital").rows}
    assert by_hospital[str(market.other_hospital.id)].completion_rate == 0
    # Judged before the acceptance (9 May), nothing counts yet.
    assert report(market, as_of=date(2026, 5, 8)).total.completed_units == 0


def test_retained_savings_with_a_formula(market: Market) -> None:
    item = market.world.items[0]
    item.pre_vbp_unit_price_e4 = 5_000
    buy(market, 50)  # 5,000 tablets at 0.20 = 1,000.00
    formula = SavingsFormula(
        fund_payment_ratio=Decimal("0.70"), insured_share=Decimal("0.90"), require_completion=False
    )
    agreed = _agreed(market, market.hospital.id)
    mine = report(market, market.hospital_actor, savings_formula=formula).total
    budget = to_fen(Decimal(agreed) * Decimal("0.50") * Decimal("0.63"))
    actual = to_fen(Decimal("1000.00") * Decimal("0.63"))
    assert mine.retained_savings_fen == to_fen(Decimal(budget - actual) / 100 * Decimal("0.50"))
    assert report(market, market.hospital_actor).total.retained_savings_fen is None  # no formula given
    # Volume not completed and the formula requires it: nothing retained.
    strict = SavingsFormula(fund_payment_ratio=Decimal("0.70"), insured_share=Decimal("0.90"))
    assert report(market, market.hospital_actor, savings_formula=strict).total.retained_savings_fen == 0


# --- scoping ------------------------------------------------------------------------------------


def test_a_hospital_sees_only_its_own_numbers(market: Market) -> None:
    buy(market, 10)
    off_platform(market, PurchaseCategory.DRUGS, 500)
    buy(market, 7, hospital=market.other_hospital_actor)
    off_platform(market, PurchaseCategory.DRUGS, 9_999, actor=market.other_hospital_actor)
    mine = report(market, market.hospital_actor)
    theirs = report(market, market.other_hospital_actor).total
    assert (mine.total.drug_platform_fen, mine.total.drug_off_platform_fen) == (10 * PACK, 500 * YUAN)
    assert (theirs.drug_platform_fen, theirs.drug_off_platform_fen) == (7 * PACK, 9_999 * YUAN)
    assert (mine.total.ordered_qty, theirs.ordered_qty) == (10, 7)
    assert mine.total.drug_online_rate == Decimal(200) / Decimal(700)
    assert mine.scope == market.hospital.name
    # Even grouped by hospital, the other hospital's row does not leak.
    grouped = report(market, market.hospital_actor, group_by=GroupBy.HOSPITAL)
    assert [r.key for r in grouped.rows] == [str(market.hospital.id)]
    province = report(market, group_by=GroupBy.HOSPITAL)
    assert {r.label: r.drug_platform_fen for r in province.rows} == {
        market.hospital.name: 10 * PACK,
        market.other_hospital.name: 7 * PACK,
    }
    assert province.total.drug_off_platform_fen == 10_499 * YUAN


def test_enterprises_see_their_own_flows_and_no_online_rate(market: Market) -> None:
    buy(market, 10)
    off_platform(market, PurchaseCategory.DRUGS, 500)
    distributor = report(market, market.distributor_actor).total
    assert (distributor.drug_platform_fen, distributor.drug_off_platform_fen) == (10 * PACK, 0)
    assert distributor.drug_online_rate is None  # off-platform purchases have no enterprise
    stranger = actor_of(make_user(market.session, market.stranger_distributor, Role.OPERATOR))
    assert report(market, stranger).total.drug_platform_fen == 0
    maker = report(market, market.world.actor(market.world.manufacturer("A"))).total
    assert maker.drug_platform_fen == 10 * PACK
    other_maker = report(market, market.world.actor(market.world.manufacturer("B"))).total
    assert (other_maker.drug_platform_fen, other_maker.ordered_qty) == (0, 0)


def test_grouping_by_region_and_enterprise(market: Market) -> None:
    buy(market, 10)
    off_platform(market, PurchaseCategory.DRUGS, 100)
    region = report(market, group_by="region")
    assert [(r.key, r.drug_platform_fen, r.drug_off_platform_fen) for r in region.rows] == [
        ("510100", 10 * PACK, 100 * YUAN)  # 510104 belongs to the prefecture 510100
    ]
    enterprise = report(market, group_by="enterprise")
    rows = {r.key: r for r in enterprise.rows}
    maker = str(market.world.manufacturer("A").id)
    assert rows[maker].drug_platform_fen == 10 * PACK  # purchases count for the manufacturer
    assert rows[str(market.distributor.id)].delivered_qty == 10  # deliveries for the distributor
    assert rows[maker].drug_online_rate is None
    assert enterprise.total.drug_off_platform_fen == 100 * YUAN  # the province total keeps them
    assert enterprise.total.drug_online_rate == Decimal(200) / Decimal(300)


# --- outputs ------------------------------------------------------------------------------------


def _no_floats(value: object) -> None:
    assert not isinstance(value, float)
    if isinstance(value, dict):
        for v in value.values():
            _no_floats(v)
    elif isinstance(value, list):
        for v in value:
            _no_floats(v)


def test_outputs_json_xlsx_and_document(market: Market) -> None:
    online_case(market, drugs=7_900_000, tcm=1_500_000, drugs_off=600_000, stents=2_300_000, hvc_off=700_000)
    result = report(market, months=[MAY, JULY], group_by=GroupBy.MONTH)
    assert [r.key for r in result.rows] == ["2026-05", "2026-07"]  # the months asked, not June
    body = indicators.to_json(result)
    _no_floats(body)
    assert body["months"] == ["2026-05", "2026-07"]
    assert body["rows"][1]["drug_online_rate"] is None

    sheet = load_workbook(io.BytesIO(indicators.to_xlsx(result)))["采购监测指标"]
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["月份", "名称", "药品线上采购率(不含中药饮片)"]
    assert sheet.cell(row=2, column=1).value == "2026-05"
    assert Decimal(str(sheet.cell(row=2, column=3).value)) == Decimal("0.9294")

    document = indicators.to_document(result, generated_at=NOW)
    assert isinstance(document, ReportDocument)
    charts = {c.title: c for s in document.sections for c in s.charts}
    online = charts["药品线上采购率"]
    assert isinstance(online, BarChart)
    assert (online.target, charts["高值耗材线上采购率"].target) == (Decimal("0.90"), Decimal("0.80"))
    assert online.labels == ["2026年05月"]  # July has no data: left off the chart, not drawn as 0 %
    assert online.series[0][1] == [Decimal(7_900_000) / Decimal(8_500_000)]
    assert "完成率与序时进度" in charts
    text = " ".join(p for s in document.sections for p in s.paragraphs)
    assert "92.94%，目标 90.00%，达标" in text
    assert "76.67%，目标 80.00%，未达标" in text
    assert render_report(document).startswith(b"%PDF")


def test_period_arguments() -> None:
    assert indicators.months_of(None, MAY, JULY, None) == (MAY, JUNE, JULY)
    assert indicators.months_of(None, date(2026, 5, 17), None, JULY) == (MAY, JUNE)
    assert indicators.months_of([JULY, MAY, date(2026, 5, 20)], None, None, None) == (MAY, JULY)
    with pytest.raises(ValueError, match="no month"):
        indicators.months_of(None, JULY, MAY, None)


def test_indicator_report_over_http(
    market: Market, session: Session, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("core.clock.now", lambda: datetime(2026, 6, 3, 2, 0, tzinfo=NOW.tzinfo))
    buy(market, 50)
    bureau = bearer(session, session.get_one(User, market.world.bureau.user_id))
    other = bearer(session, session.get_one(User, market.other_hospital_actor.user_id))
    url = "/api/v1/reports/indicators?period_from=2026-05"
    assert client.get(url, headers=bureau).get_json()["total"]["drug_platform"] == "1000.00"
    assert client.get(url, headers=other).get_json()["total"]["drug_platform"] == "0.00"
    xlsx = client.get(url + "&format=xlsx&group_by=hospital", headers=bureau)
    assert (xlsx.status_code, xlsx.data[:2]) == (200, b"PK")
    pdf = client.get(url + "&format=pdf&group_by=month", headers=bureau)
    assert (pdf.status_code, pdf.data[:4]) == (200, b"%PDF")
