"""Pure money rules: worked examples E8, E9, E11 (vbp-rules.md §11) and the calendar edges around them."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from ledger.money_rules import (
    DayKind,
    Deduction,
    PaymentItem,
    PaymentTerms,
    SavingsFormula,
    SettlementCalendar,
    add_working_days,
    confirmation_deadline,
    days_late,
    deduct,
    due_date,
    filing_deadline,
    is_working_day,
    net_application,
    on_time_rate,
    prepayment_fen,
    retained_savings,
)

# 国庆/中秋 2025: 10-01..10-08 off; Sun 09-28 and Sat 10-11 are 调休 working days.
NATIONAL_DAY_2025 = frozenset(date(2025, 10, d) for d in range(1, 9))
NATIONAL_DAY_2025_WORKING = frozenset({date(2025, 9, 28), date(2025, 10, 11)})
# 清明 2025: Fri 04-04 .. Sun 04-06 off.
QINGMING_2025 = frozenset({date(2025, 4, 4), date(2025, 4, 5), date(2025, 4, 6)})

E9 = SavingsFormula(fund_payment_ratio=Decimal("0.70"), insured_share=Decimal("0.90"))


# --- E8: due dates and on-time rate ---------------------------------------------------------------


def test_e8_acceptance_on_10_march_is_due_on_9_april_with_thirty_calendar_days() -> None:
    assert due_date(date(2025, 3, 10), PaymentTerms()) == date(2025, 4, 9)


def test_e8_payment_on_the_due_date_is_on_time_and_a_day_later_is_one_day_late() -> None:
    due = date(2025, 4, 9)
    assert days_late(due, date(2025, 4, 9)) == 0
    assert days_late(due, date(2025, 4, 10)) == 1
    assert days_late(due, date(2025, 3, 20)) == 0


def test_e8_eight_lines_due_seven_on_time_give_87_50_by_count_and_92_00_by_amount() -> None:
    accepted, due = date(2025, 3, 10), date(2025, 4, 9)
    items = [PaymentItem(due, 14_000_00, accepted, due - timedelta(days=1)) for _ in range(4)]
    items += [PaymentItem(due, 12_000_00, accepted, due) for _ in range(3)]
    items += [PaymentItem(due, 8_000_00, accepted, due + timedelta(days=1))]
    rate = on_time_rate(items)
    assert (rate.lines_due, rate.lines_on_time) == (8, 7)
    assert (rate.amount_due_fen, rate.amount_on_time_fen) == (100_000_00, 92_000_00)
    assert (rate.count_pct, rate.amount_pct) == (Decimal("87.50"), Decimal("92.00"))
    # (4 × 29 + 3 × 30 + 31) / 8 = 29.625 → 29.63 half-up
    assert rate.average_days_to_payment == Decimal("29.63")


def test_unpaid_lines_count_as_due_and_late_and_are_left_out_of_the_average() -> None:
    due, accepted = date(2025, 4, 9), date(2025, 3, 10)
    rate = on_time_rate(
        [
            PaymentItem(due, 100, accepted, None),
            PaymentItem(due, 200, accepted, None),
            PaymentItem(due, 300, accepted, date(2025, 4, 1)),
        ]
    )
    assert (rate.lines_due, rate.lines_on_time) == (3, 1)
    assert (rate.amount_due_fen, rate.amount_on_time_fen) == (600, 300)
    assert (rate.count_pct, rate.amount_pct) == (Decimal("33.33"), Decimal("50.00"))
    assert rate.average_days_to_payment == Decimal("22.00")


def test_all_lines_unpaid_give_zero_percent_and_no_average() -> None:
    rate = on_time_rate([PaymentItem(date(2025, 4, 9), 500, date(2025, 3, 10), None)])
    assert (rate.count_pct, rate.amount_pct, rate.average_days_to_payment) == (
        Decimal("0.00"),
        Decimal("0.00"),
        None,
    )


def test_zero_lines_due_give_no_rate_rather_than_zero_or_a_division_error() -> None:
    rate = on_time_rate([])
    assert (rate.lines_due, rate.lines_on_time, rate.amount_due_fen, rate.amount_on_time_fen) == (0, 0, 0, 0)
    assert (rate.count_pct, rate.amount_pct, rate.average_days_to_payment) == (None, None, None)


# --- working days and leap years -------------------------------------------------------------------


def test_working_day_terms_skip_a_plain_weekend() -> None:
    terms = PaymentTerms(days=3, day_kind=DayKind.WORKING)
    # Fri 2025-03-07 → Mon 10, Tue 11, Wed 12
    assert due_date(date(2025, 3, 7), terms) == date(2025, 3, 12)


def test_working_day_terms_skip_the_national_day_holiday_and_count_the_adjusted_saturday() -> None:
    terms = PaymentTerms(
        days=10,
        day_kind=DayKind.WORKING,
        holidays=NATIONAL_DAY_2025,
        extra_working_days=NATIONAL_DAY_2025_WORKING,
    )
    assert is_working_day(date(2025, 10, 11), terms)  # 调休 Saturday
    assert not is_working_day(date(2025, 10, 6), terms)  # Monday inside the holiday
    assert not is_working_day(date(2025, 10, 12), terms)  # ordinary Sunday
    # Tue 09-30 → Thu 10-09 (1), Fri 10-10 (2), Sat 10-11 (3), 10-13..10-17 (4–8), 10-20 (9), 10-21 (10)
    assert due_date(date(2025, 9, 30), terms) == date(2025, 10, 21)


def test_working_day_terms_count_an_adjusted_sunday_before_the_holiday() -> None:
    terms = PaymentTerms(
        days=5,
        day_kind=DayKind.WORKING,
        holidays=NATIONAL_DAY_2025,
        extra_working_days=NATIONAL_DAY_2025_WORKING,
    )
    # Fri 09-26 → Sun 09-28 (1), 09-29 (2), 09-30 (3), 10-09 (4), 10-10 (5)
    assert due_date(date(2025, 9, 26), terms) == date(2025, 10, 10)


def test_zero_working_days_is_the_start_and_negative_is_refused() -> None:
    assert add_working_days(date(2025, 3, 8), 0, PaymentTerms()) == date(2025, 3, 8)
    with pytest.raises(ValueError, match="n must be"):
        add_working_days(date(2025, 3, 8), -1, PaymentTerms())


def test_thirty_calendar_days_land_on_29_february_in_a_leap_year_and_1_march_otherwise() -> None:
    assert due_date(date(2024, 1, 30), PaymentTerms()) == date(2024, 2, 29)
    assert due_date(date(2023, 1, 30), PaymentTerms()) == date(2023, 3, 1)
    assert due_date(date(2024, 2, 29), PaymentTerms()) == date(2024, 3, 30)


def test_working_days_count_29_february_as_a_working_day() -> None:
    terms = PaymentTerms(days=2, day_kind=DayKind.WORKING)
    # Wed 2024-02-28 → Thu 02-29, Fri 03-01
    assert due_date(date(2024, 2, 28), terms) == date(2024, 3, 1)


def test_days_late_across_the_end_of_february_counts_the_leap_day() -> None:
    assert days_late(date(2024, 2, 28), date(2024, 3, 1)) == 2
    assert days_late(date(2023, 2, 28), date(2023, 3, 1)) == 1


# --- E9: retained savings ---------------------------------------------------------------------------


def test_e9_completed_agreed_volume_retains_half_of_94_500_savings() -> None:
    result = retained_savings(
        agreed_quantity=100_000,
        pre_vbp_unit_price_e4=2_0000,
        purchased=[(100_000, 5000)],
        completion_pct=Decimal("100.00"),
        formula=E9,
    )
    assert result.budget_fen == 126_000_00
    assert result.actual_fund_spend_fen == 31_500_00
    assert result.savings_fen == 94_500_00
    assert result.retained_fen == 47_250_00
    assert result.completed is True


def test_e9_incomplete_agreed_volume_retains_nothing_by_default() -> None:
    result = retained_savings(
        agreed_quantity=100_000,
        pre_vbp_unit_price_e4=2_0000,
        purchased=[(100_000, 5000)],
        completion_pct=Decimal("99.99"),
        formula=E9,
    )
    assert (result.savings_fen, result.retained_fen, result.completed) == (94_500_00, 0, False)


def test_non_winners_bought_raise_actual_spend_and_lower_savings() -> None:
    result = retained_savings(
        agreed_quantity=100_000,
        pre_vbp_unit_price_e4=2_0000,
        purchased=[(60_000, 5000), (40_000, 2_0000)],
        completion_pct=Decimal("100"),
        formula=E9,
    )
    # (60,000 × 0.50 + 40,000 × 2.00) × 0.70 × 0.90 = 110,000 × 0.63 = 69,300.00
    assert result.actual_fund_spend_fen == 69_300_00
    assert result.savings_fen == 56_700_00
    assert result.retained_fen == 28_350_00


def test_savings_are_floored_at_zero_when_actual_spend_exceeds_the_budget() -> None:
    result = retained_savings(
        agreed_quantity=1_000,
        pre_vbp_unit_price_e4=1_0000,
        purchased=[(2_000, 1_0000)],
        completion_pct=Decimal("200"),
        formula=E9,
    )
    assert (result.budget_fen, result.actual_fund_spend_fen) == (630_00, 1_260_00)
    assert (result.savings_fen, result.retained_fen) == (0, 0)


def test_incomplete_agreed_volume_retains_a_configured_reduced_share() -> None:
    formula = SavingsFormula(
        fund_payment_ratio=Decimal("0.70"),
        insured_share=Decimal("0.90"),
        reduced_share_if_incomplete=Decimal("0.20"),
    )
    result = retained_savings(
        agreed_quantity=100_000,
        pre_vbp_unit_price_e4=2_0000,
        purchased=[(90_000, 5000)],
        completion_pct=Decimal("90"),
        formula=formula,
    )
    # actual 45,000 × 0.63 = 28,350.00; savings 97,650.00; 20 % = 19,530.00
    assert (result.actual_fund_spend_fen, result.savings_fen) == (28_350_00, 97_650_00)
    assert (result.retained_fen, result.completed) == (19_530_00, False)


def test_without_the_completion_requirement_the_full_share_applies_to_an_incomplete_hospital() -> None:
    formula = SavingsFormula(
        fund_payment_ratio=Decimal("0.70"), insured_share=Decimal("0.90"), require_completion=False
    )
    result = retained_savings(
        agreed_quantity=100_000,
        pre_vbp_unit_price_e4=2_0000,
        purchased=[(90_000, 5000)],
        completion_pct=Decimal("90"),
        formula=formula,
    )
    assert (result.retained_fen, result.completed) == (48_825_00, False)


def test_each_figure_is_rounded_half_up_once_and_retained_derives_from_rounded_savings() -> None:
    result = retained_savings(
        agreed_quantity=1,
        pre_vbp_unit_price_e4=125,  # 0.0125 × 0.63 = 0.007875 yuan → 1 fen
        purchased=[],
        completion_pct=Decimal("100"),
        formula=E9,
    )
    # savings 1 fen × 50 % = 0.5 fen → 1 fen half-up
    assert (result.budget_fen, result.actual_fund_spend_fen, result.savings_fen, result.retained_fen) == (
        1,
        0,
        1,
        1,
    )


# --- §4.2 prepayment --------------------------------------------------------------------------------


def test_national_prepayment_is_thirty_percent_of_the_annual_agreed_amount() -> None:
    assert prepayment_fen(1_000_000_00) == 300_000_00


def test_prepayment_share_is_configurable_and_rounds_half_up_to_the_fen() -> None:
    assert prepayment_fen(1_000_000_00, Decimal("0.50")) == 500_000_00
    assert prepayment_fen(5) == 2  # 1.5 fen → 2
    assert prepayment_fen(1) == 0  # 0.3 fen → 0


def test_prepayment_share_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        prepayment_fen(100, Decimal("1.5"))


# --- E11: Jiangsu direct settlement -----------------------------------------------------------------


def test_e11_march_data_is_filed_by_5_april() -> None:
    # 2025-04-05 is a Saturday but not a listed holiday: the 5th is kept.
    assert filing_deadline(date(2025, 3, 1), SettlementCalendar()) == date(2025, 4, 5)


def test_e11_when_5_april_falls_in_qingming_the_deadline_is_the_second_working_day_after_it() -> None:
    cal = SettlementCalendar(holidays=QINGMING_2025)
    # holiday ends Sun 04-06 → Mon 04-07 (1), Tue 04-08 (2)
    assert filing_deadline(date(2025, 3, 31), cal) == date(2025, 4, 8)


def test_september_data_filed_in_october_move_past_the_national_day_holiday() -> None:
    cal = SettlementCalendar(holidays=NATIONAL_DAY_2025, extra_working_days=NATIONAL_DAY_2025_WORKING)
    # 10-05 inside 10-01..10-08 → Thu 10-09 (1), Fri 10-10 (2)
    assert filing_deadline(date(2025, 9, 15), cal) == date(2025, 10, 10)


def test_december_data_are_filed_by_5_january_of_the_next_year() -> None:
    assert filing_deadline(date(2025, 12, 31), SettlementCalendar()) == date(2026, 1, 5)


def test_leap_february_data_are_filed_by_5_march() -> None:
    assert filing_deadline(date(2024, 2, 29), SettlementCalendar()) == date(2024, 3, 5)


def test_calendar_can_share_the_payment_terms_holidays() -> None:
    terms = PaymentTerms(holidays=NATIONAL_DAY_2025, extra_working_days=NATIONAL_DAY_2025_WORKING)
    cal = SettlementCalendar.from_terms(terms)
    assert (cal.holidays, cal.extra_working_days, cal.filing_day) == (
        NATIONAL_DAY_2025,
        NATIONAL_DAY_2025_WORKING,
        5,
    )
    assert filing_deadline(date(2025, 9, 1), cal) == date(2025, 10, 10)


def test_hospital_confirmation_is_due_five_working_days_after_filing_across_a_weekend() -> None:
    # Thu 2025-04-10 → Fri 11, Mon 14, Tue 15, Wed 16, Thu 17
    assert confirmation_deadline(date(2025, 4, 10), SettlementCalendar()) == date(2025, 4, 17)


def test_confirmation_deadline_skips_the_holiday_and_counts_the_adjusted_sunday() -> None:
    cal = SettlementCalendar(holidays=NATIONAL_DAY_2025, extra_working_days=NATIONAL_DAY_2025_WORKING)
    # Fri 09-26 → Sun 09-28 (1), 09-29 (2), 09-30 (3), 10-09 (4), 10-10 (5)
    assert confirmation_deadline(date(2025, 9, 26), cal) == date(2025, 10, 10)


def test_e11_s1_application_nets_the_12_000_return_to_400_000() -> None:
    assert net_application([412_000_00], [12_000_00]) == 400_000_00
    assert net_application([88_000_00], []) == 88_000_00


def test_e11_confirmed_480_000_reduces_the_2_000_000_fund_settlement_to_1_520_000() -> None:
    confirmed = net_application([412_000_00], [12_000_00]) + net_application([88_000_00], [8_000_00])
    assert confirmed == 480_000_00
    assert deduct(2_000_000_00, confirmed).net_fen == 1_520_000_00


def test_deduction_equal_to_the_settlement_leaves_zero() -> None:
    assert deduct(480_000_00, 480_000_00) == Deduction(net_fen=0, covered_fen=480_000_00, shortfall_fen=0)


def test_deduction_above_the_settlement_nets_to_zero_and_leaves_a_shortfall_to_collect() -> None:
    assert deduct(400_000_00, 480_000_00) == Deduction(
        net_fen=0, covered_fen=400_000_00, shortfall_fen=80_000_00
    )


def test_a_refund_that_makes_the_months_deductions_negative_covers_nothing() -> None:
    assert deduct(100_00, -30_00) == Deduction(net_fen=100_00, covered_fen=0, shortfall_fen=0)


def test_negative_invoice_or_credit_amounts_are_refused() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        net_application([100], [-5])
