"""Procurement-rate indicators a bureau monitors monthly (vbp-rules.md §6; targets from
policy-basis.md), grouped by province, region, hospital, enterprise or month, computed set-based
(one GROUP BY per indicator family, integer sums only, so SQLite and PostgreSQL agree) and scoped
to what the caller may see (ledger.scoping.party_scope). Each figure that other views show too is
read from its one derivation in ledger.figures.

Definitions, fixed once (§6: "definitions to fix once and test on both databases"):

* Period = calendar months; amounts tax-inclusive integer fen; rates exact Decimal ratios, None when
  the denominator is 0. A rate meets its target when rate ≥ target exactly; exports print rates to 4
  places (92.94 %), more when a verdict needs them (ledger.figures.rates).
* Online procurement rate (线上采购率) = platform ÷ (platform + off-platform). Platform = the goods
  flow in money (ledger.figures.purchases: accepted packs × frozen pack price by acceptance month,
  minus returned packs × price by return month; §6: returns subtract in the month of return).
  Off-platform = the hospitals' monthly reports. Drugs leave 中药饮片 out of numerator and
  denominator (never listed on the platform, and their off-platform reports are not counted);
  high-value consumables separately.
* Agreed-volume completion (约定采购量完成率) = completed units (ledger.figures.completed_units:
  the hospital's allocated winners, accepted net of returns, in the cycle year containing `as_of`,
  up to it) ÷ agreed units; time elapsed (序时进度) = agreed-weighted time_elapsed_pct at `as_of`.
* On-time payment (按时回款率) over invoice lines due in the period and judged on `as_of` by the
  one payment clock (ledger.figures.payments: payable lines, net of red-letter credits, paid or
  overdue; a line unpaid on its own due date is not yet late): paid on or before the due date ÷
  judged, by count and by amount. Payment rate (回款率) = paid ÷ judged amount. Average days =
  acceptance → payment over the paid ones.
* Delivery rate (配送率) = shipped ÷ (ordered − cancelled) packs of lines ordered in the period.
* On-time arrival rate (及时到货率) = received shipment lines confirmed by the order's deadline ÷
  received shipment lines, by acceptance month (the receipt is the only arrival record we hold).
* Winner usage share (中选产品使用占比) = winner (award-linked) units ÷ all platform units of the
  generic names that have a winner, same month rules as the platform amount.
* Savings (节约金额) = Σ (pre-VBP unit price × units − winning pack price × packs) over winner
  lines, rounded to the fen once; retained savings (结余留用) per hospital by
  ledger.figures.batch_retained_savings when a SavingsFormula is given (its ratios are provincial
  parameters, §4.4).

Modules: `definitions` (targets, rows, months), `builder` (grouping), one module per family of
queries (`online`, `payments`, `deliveries`, `volumes`), `compute`, and the outputs (`output`: JSON
and xlsx; `document`: the PDF's sections; `overview`: its summary page, rankings and monthly trend).
"""

from reports.indicators.compute import compute_indicators
from reports.indicators.definitions import (
    DRUG_ONLINE_TARGET,
    HVC_ONLINE_TARGET,
    GroupBy,
    IndicatorReport,
    IndicatorRow,
    months_of,
    next_month,
)
from reports.indicators.document import to_document
from reports.indicators.output import to_json, to_xlsx
from reports.indicators.overview import monthly_trend

__all__ = [
    "DRUG_ONLINE_TARGET",
    "HVC_ONLINE_TARGET",
    "GroupBy",
    "IndicatorReport",
    "IndicatorRow",
    "compute_indicators",
    "monthly_trend",
    "months_of",
    "next_month",
    "to_document",
    "to_json",
    "to_xlsx",
]
