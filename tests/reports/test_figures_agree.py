"""Cross-check: for one small market with three hospitals, two distributors, two cycle years and
every payment outcome (paid early, paid on the due date, paid late, left pending, disputed, unpaid,
overpaid after a return), the API's agreed-volume progress, retained savings, overdue list and
reconciliation agree with the indicator report to the unit and the fen — and with sums worked out
by hand from the scenario. The winner sells packs of 100 tablets at 20.00; the agreed volumes are
60,000 (hospital 1) and 30,000 (hospital 2) tablets a cycle year; hospital 3 has none."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.actors import Actor, OrgKind
from core.money import fen_to_str, to_fen
from core.organizations import User
from ledger.models import InvoiceKind
from ledger.money_rules import PaymentItem, on_time_rate
from ledger.services import invoicing, listings, ordering
from tests.factories import bearer, make_org
from tests.flows import Bought, another_distributor, at, buy, invoice, self_pay
from tests.ordering import Market, make_market

MAY9 = date(2026, 5, 9)  # acceptance: due 8 June
JUDGED = date(2026, 6, 20)
YEAR_TWO = date(2027, 6, 20)
PACK = 2_000
FORMULA = "fund_payment_ratio=0.70&insured_share=0.90&reduced_share_if_incomplete=0.20"


@dataclass
class Scenario:
    m: Market
    h3: Actor
    lines: dict[str, Bought]
    invoices: dict[str, int]


@pytest.fixture
def scenario(session: Session) -> Scenario:
    m = make_market(session)
    m.world.batch.cycle_end_on = date(2028, 4, 30)  # a two-year cycle
    m.world.items[0].pre_vbp_unit_price_e4 = 5_000  # 0.50 a tablet before VBP
    h3 = m.world.actor(make_org(session, OrgKind.HOSPITAL, region_code="510104"))
    d2 = another_distributor(m)
    h2 = m.other_hospital_actor
    other = m.world.product("A", m.world.items[0], units=7)  # same generic name, not the award
    filed = listings.file_purchase(
        session, h2, product_id=other, pack_price_fen=3_333, reason="临床需要", now=at(MAY9)
    )
    lines = {
        "h1_d1": buy(m, 60, on=MAY9),
        "h1_d2": buy(m, 20, on=MAY9, distributor=d2),
        "h2_d1": buy(m, 25, on=MAY9, hospital=h2),
        "h2_other": buy(m, 10, on=MAY9, hospital=h2, listing=filed),
        "h3": buy(m, 5, on=MAY9, hospital=h3),
    }
    inv = {
        "h1_d1": invoice(m, lines["h1_d1"], 60, on=MAY9),
        "h1_d2": invoice(m, lines["h1_d2"], 20, on=MAY9, distributor=d2),
        "h2_paid_late": invoice(m, lines["h2_d1"], 15, on=MAY9, hospital=h2),
        "h2_pending": invoice(m, lines["h2_d1"], 10, on=date(2026, 6, 2), hospital=h2, confirm=None),
        "h2_disputed": invoice(m, lines["h2_other"], 10, on=MAY9, hospital=h2, confirm=False),
        "h3_unpaid": invoice(m, lines["h3"], 5, on=MAY9, hospital=h3),
    }
    may = date(2026, 5, 1)
    self_pay(m, may, filed_on=date(2026, 6, 3), paid_on=date(2026, 6, 5))  # early
    self_pay(m, may, filed_on=date(2026, 6, 3), paid_on=date(2026, 6, 8), distributor=d2)  # on the due date
    self_pay(m, may, filed_on=date(2026, 6, 3), paid_on=date(2026, 6, 12), hospital=h2)  # late
    # Hospital 1 returns 5 packs after paying; the red-letter line credits them (overpaid).
    ordering.record_return(
        session,
        m.hospital_actor,
        lines["h1_d1"].receipt.id,
        quantity=5,
        reason="近效期",
        now=at(date(2026, 6, 10)),
    )
    blue = inv["h1_d1"]
    invoicing.record_invoice(
        session,
        m.distributor_actor,
        hospital_id=m.hospital.id,
        invoice_code="",
        invoice_number="79000001",
        issued_on=date(2026, 6, 10),
        tax_rate=Decimal("0.13"),
        now=at(date(2026, 6, 10)),
        kind=InvoiceKind.RED,
        original_invoice_id=blue.invoice_id,
        lines=[invoicing.InvoiceLineRequest(blue.receipt_line_id, -5, -5 * PACK, blue.id)],
    )
    lines["h1_year_two"] = buy(m, 30, on=date(2027, 5, 10))
    return Scenario(m, h3, lines, {k: v.id for k, v in inv.items()})


def _get(client: FlaskClient, headers: dict[str, str], url: str) -> Any:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, (url, response.get_json())
    return response.get_json()


def _indicators(client: FlaskClient, headers: dict[str, str], months: str, on: date) -> dict[str, Any]:
    return _get(
        client,
        headers,
        f"/api/v1/reports/indicators?{months}&group_by=hospital&as_of={on}&{FORMULA}",
    )


def test_progress_savings_overdue_reconciliation_and_indicators_agree(
    client: FlaskClient, scenario: Scenario
) -> None:
    m = scenario.m
    h1, h2, h3 = m.hospital.id, m.other_hospital.id, scenario.h3.org_id
    headers = bearer(m.session, m.session.get_one(User, m.world.bureau.user_id))

    # --- completed units and retained savings, in each cycle year ---
    by_hand = {
        JUDGED: {h1: (60 + 20 - 5) * 100, h2: 25 * 100},  # the non-winner and hospital 3 do not count
        YEAR_TWO: {h1: 30 * 100, h2: 0},
    }
    retained_by_hand = {
        # budget 60,000 × 0.50 × 0.63 = 18,900.00; spend 75 packs × 20.00 × 0.63 = 945.00; 20 % kept
        h1: to_fen(Decimal("17955.00") * Decimal("0.20")),
        # budget 9,450.00; spend (25 × 20.00 + 10 × 33.33) × 0.63 = 524.98; 20 % kept
        h2: to_fen((Decimal("9450.00") - Decimal("524.98")) * Decimal("0.20")),
    }
    for on, expected in by_hand.items():
        report = _indicators(client, headers, f"period_from={on:%Y-%m}", on)
        rows = {r["key"]: r for r in report["rows"]}
        for hospital, units in expected.items():
            progress = _get(client, headers, f"/api/v1/agreed-volume-progress?hospital_id={hospital}&on={on}")
            assert [p["accepted_quantity"] for p in progress] == [units]
            assert rows[str(hospital)]["completed_units"] == units
            savings = _get(
                client,
                headers,
                f"/api/v1/retained-savings?hospital_id={hospital}&batch_id={m.world.batch.id}&on={on}&{FORMULA}",
            )
            assert savings["completed_units"] == units
            assert savings["retained"] == rows[str(hospital)]["retained_savings"]
            if on == JUDGED:
                assert savings["retained"] == fen_to_str(retained_by_hand[hospital])
        assert str(h3) not in rows or rows[str(h3)]["completed_units"] == 0

    # --- the payment clock on the day judged ---
    overdue = _get(client, headers, f"/api/v1/invoice-lines/overdue?on={JUDGED}")
    assert sorted(x["id"] for x in overdue) == sorted(
        [scenario.invoices["h2_pending"], scenario.invoices["h3_unpaid"]]
    )
    overdue_fen = sum(int(Decimal(x["amount"]) * 100) for x in overdue)
    assert overdue_fen == 15 * PACK
    # Days late by money_rules.days_late (MAY9 + 30 = 8 June due; judged 20 June).
    assert {x["days_late"] for x in overdue} == {
        (JUDGED - date.fromisoformat(x["due_on"])).days for x in overdue
    }
    assert all(x["days_late"] > 0 for x in overdue)

    as_of = f"{JUDGED}T02%3A00%3A00%2B00%3A00"
    recon = _get(client, headers, f"/api/v1/reconciliation/lines?as_of={as_of}&page_size=100")
    status = {x["order_line_id"]: (x["status"], x["difference"]) for x in recon}
    lines = scenario.lines
    assert status[lines["h1_d1"].line_id] == ("overpaid", fen_to_str(5 * PACK))
    assert status[lines["h1_d2"].line_id] == ("complete", "0.00")
    assert status[lines["h2_d1"].line_id] == ("payment_overdue", fen_to_str(10 * PACK))
    assert status[lines["h2_other"].line_id][0] == "disputed"
    assert status[lines["h3"].line_id] == ("payment_overdue", fen_to_str(5 * PACK))
    overdue_lines = {x["order_line_id"] for x in overdue}
    assert {k for k, (s, _) in status.items() if s == "payment_overdue"} == overdue_lines
    assert sum(int(Decimal(d) * 100) for s, d in status.values() if s == "payment_overdue") == overdue_fen

    total = _indicators(client, headers, "period_from=2026-05&period_to=2026-06", JUDGED)["total"]
    # Judged: h1 (55 packs net of the credit, early), h1/d2 (on its due date), h2 (late), and the
    # two overdue lines; the disputed one waits.
    items = [
        PaymentItem(date(2026, 6, 8), 55 * PACK, MAY9, date(2026, 6, 5)),
        PaymentItem(date(2026, 6, 8), 20 * PACK, MAY9, date(2026, 6, 8)),
        PaymentItem(date(2026, 6, 8), 15 * PACK, MAY9, date(2026, 6, 12)),
        PaymentItem(date(2026, 6, 8), 10 * PACK, MAY9, None),
        PaymentItem(date(2026, 6, 8), 5 * PACK, MAY9, None),
    ]
    rule = on_time_rate(items)
    assert (total["due_lines"], total["on_time_lines"]) == (rule.lines_due, rule.lines_on_time) == (5, 2)
    assert (total["due"], total["on_time"]) == (
        fen_to_str(rule.amount_due_fen),
        fen_to_str(rule.amount_on_time_fen),
    )
    unpaid = int(Decimal(total["due"]) * 100) - int(Decimal(total["paid"]) * 100)
    assert unpaid == overdue_fen
    assert total["due_lines"] - len(overdue) == 3  # the paid ones
