"""E8 (due dates, on-time rate) and E9 (retained savings), vbp-rules.md §11."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from ledger.money_rules import (
    DayKind,
    PaymentItem,
    PaymentTerms,
    SavingsFormula,
    days_late,
    due_date,
    on_time_rate,
    retained_savings,
)


def test_e8_due_date_is_acceptance_plus_thirty_calendar_days() -> None:
    due = due_date(date(2025, 3, 10), PaymentTerms())
    assert due == date(2025, 4, 9)
    assert (days_late(due, date(2025, 4, 9)), days_late(due, date(2025, 4, 10))) == (0, 1)


def test_working_day_terms_skip_weekends_and_holidays_and_count_adjusted_saturdays() -> None:
    terms = PaymentTerms(
        days=5,
        day_kind=DayKind.WORKING,
        holidays=frozenset({date(2025, 10, 1), date(2025, 10, 2)}),
        extra_working_days=frozenset({date(2025, 9, 28)}),
    )
    # From Fri 9/26: Sun 9/28 (调休 working day), Mon 9/29, Tue 9/30, [10/1–10/2 holiday], Fri 10/3, Mon 10/6.
    assert due_date(date(2025, 9, 26), terms) == date(2025, 10, 6)
    assert due_date(date(2025, 3, 7), PaymentTerms(days=2, day_kind=DayKind.WORKING)) == date(2025, 3, 11)


def test_e8_on_time_rate_by_count_and_amount() -> None:
    accepted = date(2025, 3, 10)
    due = date(2025, 4, 9)
    # 8 lines due: 7 paid on time, one (8,000.00) paid a day late; 100,000.00 due, 92,000.00 on time.
    items = [PaymentItem(due, 14_000_00, accepted, due - timedelta(days=1)) for _ in range(4)]
    items += [PaymentItem(due, 12_000_00, accepted, due) for _ in range(3)]
    items += [PaymentItem(due, 8_000_00, accepted, due + timedelta(days=1))]
    rate = on_time_rate(items)
    assert (rate.lines_due, rate.lines_on_time) == (8, 7)
    assert (rate.amount_due_fen, rate.amount_on_time_fen) == (100_000_00, 92_000_00)
    assert (rate.count_pct, rate.amount_pct) == (Decimal("87.50"), Decimal("92.00"))
    assert rate.average_days_to_payment == Decimal("29.63")  # (4×29 + 3×30 + 31) / 8 = 29.625


def test_unpaid_lines_are_late_and_nothing_due_has_no_rate() -> None:
    due = date(2025, 4, 9)
    rate = on_time_rate(
        [PaymentItem(due, 100, date(2025, 3, 10), None), PaymentItem(due, 300, date(2025, 3, 10), due)]
    )
    assert (rate.count_pct, rate.amount_pct) == (Decimal("50.00"), Decimal("75.00"))
    empty = on_time_rate([])
    assert (empty.count_pct, empty.amount_pct, empty.average_days_to_payment) == (None, None, None)


E9 = SavingsFormula(fund_payment_ratio=Decimal("0.70"), insured_share=Decimal("0.90"))


def test_e9_retained_savings() -> None:
    result = retained_savings(
        agreed_quantity=100_000,
        pre_vbp_unit_price_e4=20_000,
        purchased=[(100_000, 5_000)],
        completion_pct=Decimal("100.00"),
        formula=E9,
    )
    assert (result.budget_fen, result.actual_fund_spend_fen) == (126_000_00, 31_500_00)
    assert (result.savings_fen, result.retained_fen, result.completed) == (94_500_00, 47_250_00, True)


@pytest.mark.parametrize(("reduced", "retained"), [(Decimal("0"), 0), (Decimal("0.25"), 22_050_00)])
def test_incomplete_agreed_volume_retains_nothing_or_a_reduced_share(reduced: Decimal, retained: int) -> None:
    formula = SavingsFormula(Decimal("0.70"), Decimal("0.90"), reduced_share_if_incomplete=reduced)
    result = retained_savings(
        agreed_quantity=100_000,
        pre_vbp_unit_price_e4=20_000,
        purchased=[(80_000, 5_000), (10_000, 20_000)],
        completion_pct=Decimal("80.00"),
        formula=formula,
    )
    # actual = (80,000 × 0.50 + 10,000 × 2.00) × 0.63 = 37,800.00; savings 88,200.00
    assert (result.actual_fund_spend_fen, result.savings_fen, result.retained_fen) == (
        37_800_00,
        88_200_00,
        retained,
    )


def test_savings_never_go_negative() -> None:
    result = retained_savings(
        agreed_quantity=1_000,
        pre_vbp_unit_price_e4=10_000,
        purchased=[(2_000, 10_000)],
        completion_pct=Decimal("200"),
        formula=E9,
    )
    assert (result.savings_fen, result.retained_fen) == (0, 0)
