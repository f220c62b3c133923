"""One derivation per figure (ledger.figures): the cycle year, completed units, retained savings and
the payment clock (due / overdue / on time), each read alike by the API, reconciliation and the
indicator report. The market's winner sells packs of 100 tablets at 20.00; the hospital's agreed
volume of it is 60,000 tablets a cycle year (2026-05-01 to 2027-04-30 unless a test stretches it)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from flask.testing import FlaskClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from bidding.models import VolumeAllocation
from core.money import to_fen
from core.organizations import User
from ledger import queries, reconcile
from ledger.models import ReceiptLine
from ledger.money_rules import SavingsFormula
from ledger.reconcile import Slice, Status
from ledger.services import invoicing, listings, ordering
from reports.indicators import GroupBy, compute_indicators
from tests.factories import bearer
from tests.flows import Bought, at, buy, invoice, self_pay
from tests.ordering import Market, make_market

MAY9 = date(2026, 5, 9)  # acceptance day of most purchases here: payment due 8 June (§4.1, +30 days)
DUE = date(2026, 6, 8)
PACK = 2_000


@pytest.fixture
def market(session: Session) -> Market:
    return make_market(session)


def _bureau_headers(m: Market) -> dict[str, str]:
    return bearer(m.session, m.session.get_one(User, m.world.bureau.user_id))


# --- defect 8: agreed-volume progress is counted in the cycle year, as of the day ---------------


def _two_year_cycle(m: Market) -> None:
    m.world.batch.cycle_end_on = date(2028, 4, 30)
    m.session.flush()


def _progress_units(m: Market, on: date) -> int:
    rows = queries.agreed_volume_progress(m.session, m.hospital_actor, on=on)
    return next(p.accepted_quantity for p in rows if p.award_id == m.award.id)


def test_progress_counts_the_cycle_year_containing_the_day_and_nothing_after_it(market: Market) -> None:
    _two_year_cycle(market)
    buy(market, 50, on=MAY9)  # 5,000 tablets in year 1
    year_two = date(2027, 6, 1)
    assert _progress_units(market, year_two) == 0
    indicator = compute_indicators(
        market.session, market.hospital_actor, months=[date(2027, 6, 1)], as_of=year_two
    ).total
    assert indicator.completed_units == 0
    # As of the day before the purchase, nothing; on its day, all of it.
    assert _progress_units(market, MAY9 - timedelta(days=1)) == 0
    assert _progress_units(market, MAY9) == 5_000
    buy(market, 20, on=date(2027, 5, 3))  # 2,000 tablets in year 2
    assert _progress_units(market, year_two) == 2_000
    assert _progress_units(market, date(2027, 4, 30)) == 5_000


def test_progress_over_http_takes_the_day_to_judge_on(client: FlaskClient, market: Market) -> None:
    _two_year_cycle(market)
    buy(market, 50, on=MAY9)
    headers = _bureau_headers(market)
    url = f"/api/v1/agreed-volume-progress?hospital_id={market.hospital.id}"
    year_one = client.get(url + "&on=2026-06-01", headers=headers)
    assert year_one.status_code == 200, year_one.get_json()
    assert [p["accepted_quantity"] for p in year_one.get_json()] == [5_000]
    year_two = client.get(url + "&on=2027-06-01", headers=headers).get_json()
    assert [(p["accepted_quantity"], p["completion_pct"]) for p in year_two] == [(0, "0.00")]


# --- defect 7: retained savings, one derivation for the API and the indicator report ------------


def test_retained_savings_agree_between_the_api_and_the_indicator_report(
    client: FlaskClient, market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A price that does not divide into units (33.33 for 7 tablets), a return, and a completion
    of 99.997 %: exact money and an exact completion test, the same in both views."""
    m, session = market, market.session
    m.world.items[0].pre_vbp_unit_price_e4 = 5_000  # 0.50 a tablet before VBP
    session.execute(
        update(VolumeAllocation)
        .where(VolumeAllocation.hospital_id == m.hospital.id)
        .values(agreed_quantity=100_003)
    )
    winner = buy(m, 1_005, on=MAY9)  # 100,500 tablets at 20.00 a pack
    ordering.record_return(
        session, m.hospital_actor, winner.receipt.id, quantity=5, reason="破损", now=at(date(2026, 6, 10))
    )
    other = m.world.product("A", m.world.items[0], units=7)  # same generic name, not the award
    filed = listings.file_purchase(
        session, m.hospital_actor, product_id=other, pack_price_fen=3_333, reason="临床需要", now=at(MAY9)
    )
    buy(m, 300, on=MAY9, listing=filed)  # 2,100 tablets for 9,999.00
    buy(m, 10, on=date(2026, 7, 15))  # after the day judged: not counted
    as_of = date(2026, 6, 30)
    formula = SavingsFormula(
        fund_payment_ratio=Decimal("0.70"),
        insured_share=Decimal("0.90"),
        reduced_share_if_incomplete=Decimal("0.20"),
    )
    budget = to_fen(Decimal("100003") * Decimal("0.50") * Decimal("0.63"))
    actual = to_fen((Decimal("20000.00") + Decimal("9999.00")) * Decimal("0.63"))
    # 100,000 of 100,003 tablets: not completed, so the reduced share applies.
    expected = to_fen(Decimal(budget - actual) * Decimal("0.20") / 100)
    assert (budget, actual, expected) == (3_150_095, 1_889_937, 252_032)

    report = compute_indicators(
        session,
        m.world.bureau,
        months=[date(2026, 6, 1)],
        as_of=as_of,
        group_by=GroupBy.HOSPITAL,
        savings_formula=formula,
    )
    row = next(r for r in report.rows if r.key == str(m.hospital.id))
    assert row.retained_savings_fen == expected

    monkeypatch.setattr("core.clock.now", lambda: at(as_of))
    headers = _bureau_headers(m)
    query = (
        f"/api/v1/retained-savings?hospital_id={m.hospital.id}&batch_id={m.world.batch.id}"
        "&year_start=2026-05-01&year_end=2027-04-30&fund_payment_ratio=0.70&insured_share=0.90"
        "&reduced_share_if_incomplete=0.20"
    )
    body = client.get(query, headers=headers).get_json()
    assert (body["budget"], body["actual_fund_spend"], body["retained"], body["completed"]) == (
        "31500.95",
        "18899.37",
        "2520.32",
        False,
    )
    by_day = client.get(
        f"/api/v1/retained-savings?hospital_id={m.hospital.id}&batch_id={m.world.batch.id}"
        "&on=2026-06-30&fund_payment_ratio=0.70&insured_share=0.90&reduced_share_if_incomplete=0.20",
        headers=headers,
    ).get_json()
    assert by_day["retained"] == "2520.32"


def test_retained_savings_refuse_a_year_that_is_not_a_cycle_year(client: FlaskClient, market: Market) -> None:
    market.world.items[0].pre_vbp_unit_price_e4 = 5_000
    response = client.get(
        f"/api/v1/retained-savings?hospital_id={market.hospital.id}&batch_id={market.world.batch.id}"
        "&year_start=2026-01-01&year_end=2026-12-31&fund_payment_ratio=0.70&insured_share=0.90",
        headers=_bureau_headers(market),
    )
    assert response.status_code == 422
    assert "year_start" in response.get_json()["error"]["fields"]


# --- defects 9 and 10: one payment clock for the overdue list, reconciliation and the indicator --


def _status(m: Market, line_id: int, on: date) -> Status:
    results = reconcile.reconcile_lines(
        m.session, m.world.bureau, Slice(order_line_ids=[line_id]), as_of=at(on)
    )
    return results[0].status


def _overdue_ids(m: Market, on: date) -> list[int]:
    return [x.id for x in invoicing.overdue_lines(m.session, m.world.bureau, on=on)]


def _on_time(m: Market, on: date) -> tuple[int, int]:
    t = compute_indicators(m.session, m.world.bureau, months=[date(2026, 6, 1)], as_of=on).total
    return t.due_lines, t.on_time_lines


def test_a_line_pending_confirmation_runs_the_payment_clock_in_every_view(market: Market) -> None:
    bought = buy(market, 10, on=MAY9)
    line = invoice(market, bought, 10, on=MAY9, confirm=None)  # the hospital has not confirmed it
    assert line.due_on == DUE
    # The day after its due date, every view calls it overdue.
    after = DUE + timedelta(days=1)
    assert _overdue_ids(market, after) == [line.id]
    assert _status(market, bought.line_id, after) is Status.PAYMENT_OVERDUE
    assert _on_time(market, after) == (1, 0)
    # On its due date it is due, not overdue.
    assert _overdue_ids(market, DUE) == []
    assert _status(market, bought.line_id, DUE) is Status.AWAITING_PAYMENT
    assert _on_time(market, DUE) == (0, 0)


def test_a_disputed_line_waits_for_its_resolution_in_every_view(market: Market) -> None:
    bought = buy(market, 10, on=MAY9)
    invoice(market, bought, 10, on=MAY9, confirm=False)
    later = DUE + timedelta(days=20)
    assert _overdue_ids(market, later) == []
    assert _status(market, bought.line_id, later) is Status.DISPUTED
    assert _on_time(market, later) == (0, 0)


def test_paid_on_the_due_date_is_on_time_and_unpaid_on_it_is_not_yet_late(market: Market) -> None:
    """E8: due 2025-04-09, paid 2025-04-09 → on time; the indicator must not call a line late on
    its own due date either."""
    on_time = buy(market, 10, on=MAY9)
    invoice(market, on_time, 10, on=MAY9)
    self_pay(market, date(2026, 5, 1), filed_on=date(2026, 6, 3), paid_on=DUE)
    unpaid = buy(market, 5, on=MAY9, hospital=market.other_hospital_actor)
    invoice(market, unpaid, 5, on=MAY9, hospital=market.other_hospital_actor)
    assert _on_time(market, DUE) == (1, 1)
    assert _status(market, on_time.line_id, DUE) is Status.COMPLETE
    assert _status(market, unpaid.line_id, DUE) is Status.AWAITING_PAYMENT
    assert _on_time(market, DUE + timedelta(days=1)) == (2, 1)


def test_a_payment_counts_from_its_own_date(market: Market) -> None:
    bought = buy(market, 10, on=MAY9)
    line = invoice(market, bought, 10, on=MAY9)
    self_pay(market, date(2026, 5, 1), filed_on=date(2026, 6, 3), paid_on=date(2026, 6, 12))
    judged = date(2026, 6, 10)  # paid two days later: overdue on that day in every view
    assert _overdue_ids(market, judged) == [line.id]
    assert _status(market, bought.line_id, judged) is Status.PAYMENT_OVERDUE
    assert _on_time(market, judged) == (1, 0)
    assert _overdue_ids(market, date(2026, 6, 12)) == []
    assert _status(market, bought.line_id, date(2026, 6, 12)) is Status.COMPLETE


# --- defect 12: 超期未开票 is judged per receipt --------------------------------------------------


def _two_receipts(m: Market, old: int, new: int, judged: date) -> tuple[int, list[int]]:
    order = m.order(old + new)
    line_id = order.lines[0].id  # type: ignore[attr-defined]
    ordering.decide_order(m.session, m.distributor_actor, order.id, accept=True, reason=None, now=at(MAY9))  # type: ignore[attr-defined]
    receipts = []
    for qty, day in ((old, MAY9), (new, judged - timedelta(days=1))):
        shipped = ordering.ship(
            m.session,
            m.distributor_actor,
            order.id,  # type: ignore[attr-defined]
            lines=[ordering.ShipRequest(line_id, qty, "B1", date(2028, 12, 31))],
            now=at(day),
        )
        receipt = ordering.confirm_receipt(
            m.session,
            m.hospital_actor,
            shipped.lines[0].id,
            accepted=qty,
            rejected=0,
            reason_code=None,
            now=at(day),
        )
        receipts.append(receipt.id)
    return line_id, receipts


def test_an_old_uninvoiced_receipt_is_overdue_behind_a_newer_one(market: Market) -> None:
    judged = MAY9 + timedelta(days=41)
    line_id, _ = _two_receipts(market, 4, 6, judged)
    assert _status(market, line_id, judged) is Status.INVOICE_OVERDUE
    results = reconcile.reconcile_lines(
        market.session, market.world.bureau, Slice(order_line_ids=[line_id]), as_of=at(judged)
    )
    assert (results[0].diff_qty, results[0].diff_fen) == (10, 10 * PACK)


def test_a_receipt_invoiced_or_returned_in_full_is_not_overdue(market: Market) -> None:
    judged = MAY9 + timedelta(days=41)
    invoiced_line, (old, _) = _two_receipts(market, 4, 6, judged)
    receipt = market.session.get_one(ReceiptLine, old)
    invoice(market, Bought(0, invoiced_line, receipt), 4, on=MAY9)
    self_pay(market, date(2026, 5, 1), filed_on=date(2026, 6, 3), paid_on=date(2026, 6, 5))
    assert _status(market, invoiced_line, judged) is Status.AWAITING_INVOICE
    returned_line, (old, _) = _two_receipts(market, 4, 6, judged)
    ordering.record_return(
        market.session, market.hospital_actor, old, quantity=4, reason="过期", now=at(MAY9)
    )
    assert _status(market, returned_line, judged) is Status.AWAITING_INVOICE


def test_savings_parameters_that_do_not_fit_are_named(client: FlaskClient, market: Market) -> None:
    market.world.items[0].pre_vbp_unit_price_e4 = 5_000
    headers = _bureau_headers(market)
    base = (
        f"/api/v1/retained-savings?batch_id={market.world.batch.id}"
        "&fund_payment_ratio=0.70&insured_share=0.90"
    )
    cases = {
        f"&hospital_id={market.hospital.id}&year_end=2027-04-30": (422, "year_start"),
        f"&hospital_id={market.hospital.id}&year_start=2026-05-01&year_end=2027-05-01": (422, "year_end"),
        f"&hospital_id={market.hospital.id}&year_start=2026-05-01&on=2027-05-01": (422, "on"),
        f"&hospital_id={market.hospital.id}&retention_share=1.5": (422, "retention_share"),
        f"&hospital_id={market.distributor.id}": (404, None),
    }
    for query, (status, field) in cases.items():
        response = client.get(base + query, headers=headers)
        assert response.status_code == status, query
        if field:
            assert field in response.get_json()["error"]["fields"], query
    half = client.get(
        "/api/v1/reports/indicators?period_from=2026-05&fund_payment_ratio=0.70", headers=headers
    )
    assert half.status_code == 422
    assert "insured_share" in half.get_json()["error"]["fields"]
