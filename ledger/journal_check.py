"""The journal against the flows: per order line and per party, every account's balance must equal
what the flows say, derived here from the flow records alone (never from postings).

Per order line (hospital H, the enterprise E that invoiced it):

* confirmed = Σ confirmed invoice lines (blue positive, red-letter credits negative);
* paid = Σ confirmed settlement lines of applications with a payment (refunds negative), by source;
* H purchases = confirmed; H payable = paid − confirmed; E receivable = confirmed − paid;
  E sales = −confirmed; E cash = paid; the paying account (fund cash, H's prepayment, H's cash) = −paid.

Per hospital (postings that belong to no order line):

* fund settlements: H's fund claim = Σ months (gross − covered), the fund's settlements owed the same
  negative; the shortfall still to collect = Σ months (shortfall − collected), on both sides;
* prepayments: H's prepayment = Σ (granted − cleared) less what payments drew; fund cash moves the
  other way; H's cash pays collections.

Unattributed postings of the goods accounts are themselves a finding: money that belongs to an
order line must say which (three-flows.md, "the journal knows the order line").
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger import money_rules
from ledger.models import (
    Account,
    AccountPurpose,
    FundSettlement,
    InvoiceLine,
    InvoiceLineStatus,
    Payment,
    PaymentSource,
    Posting,
    Prepayment,
    SettlementLine,
    SettlementLineStatus,
)

P = AccountPurpose
#: Accounts whose every posting belongs to an order line.
PER_LINE = frozenset(
    {P.HOSPITAL_PURCHASES, P.HOSPITAL_PAYABLE, P.ENTERPRISE_RECEIVABLE, P.ENTERPRISE_SALES, P.ENTERPRISE_CASH}
)
SOURCE_ACCOUNT = {
    PaymentSource.FUND: P.FUND_CASH,
    PaymentSource.PREPAYMENT: P.HOSPITAL_PREPAYMENT,
    PaymentSource.SELF_PAY: P.HOSPITAL_CASH,
}

#: (purpose, party id or 0 for the fund's own accounts, order line id or None).
Key = tuple[AccountPurpose, int, int | None]


@dataclass(frozen=True)
class Mismatch:
    purpose: AccountPurpose
    party_id: int
    order_line_id: int | None
    expected_fen: int
    actual_fen: int

    def __str__(self) -> str:
        where = f"订单行 {self.order_line_id}" if self.order_line_id is not None else "机构合计"
        return (
            f"{self.purpose.value}[{self.party_id}] {where}: 流水应为 {self.expected_fen} 分，"
            f"账簿为 {self.actual_fen} 分 (flows say {self.expected_fen}, journal says {self.actual_fen})"
        )


def expected_balances(session: Session) -> dict[Key, int]:
    """Every account balance the flows imply, per order line for goods money, per party otherwise."""
    want: dict[Key, int] = defaultdict(int)
    confirmed = session.execute(
        select(
            InvoiceLine.order_line_id,
            InvoiceLine.hospital_id,
            InvoiceLine.enterprise_id,
            func.sum(InvoiceLine.amount_fen),
        )
        .where(InvoiceLine.status == InvoiceLineStatus.CONFIRMED)
        .group_by(InvoiceLine.order_line_id, InvoiceLine.hospital_id, InvoiceLine.enterprise_id)
    )
    for line, h, e, amount in confirmed:
        fen = int(amount)
        want[(P.HOSPITAL_PURCHASES, h, line)] += fen
        want[(P.HOSPITAL_PAYABLE, h, line)] -= fen
        want[(P.ENTERPRISE_RECEIVABLE, e, line)] += fen
        want[(P.ENTERPRISE_SALES, e, line)] -= fen
    paid = session.execute(
        select(
            SettlementLine.order_line_id,
            SettlementLine.hospital_id,
            SettlementLine.enterprise_id,
            Payment.source,
            func.sum(SettlementLine.amount_fen),
        )
        .join(Payment, Payment.application_id == SettlementLine.application_id)
        .where(SettlementLine.status == SettlementLineStatus.CONFIRMED)
        .group_by(
            SettlementLine.order_line_id,
            SettlementLine.hospital_id,
            SettlementLine.enterprise_id,
            Payment.source,
        )
    )
    for line, h, e, source, amount in paid:
        fen = int(amount)
        want[(P.HOSPITAL_PAYABLE, h, line)] += fen
        want[(P.ENTERPRISE_RECEIVABLE, e, line)] -= fen
        want[(P.ENTERPRISE_CASH, e, line)] += fen
        want[(SOURCE_ACCOUNT[source], 0 if source is PaymentSource.FUND else h, line)] -= fen
    for row in session.scalars(select(FundSettlement)):
        d = money_rules.deduct(row.gross_fen or 0, row.deducted_fen)
        h, owed, to_collect = (
            row.hospital_id,
            (row.gross_fen or 0) - d.covered_fen,
            d.shortfall_fen - row.collected_fen,
        )
        want[(P.HOSPITAL_FUND_CLAIM, h, None)] += owed
        want[(P.FUND_SETTLEMENTS, h, None)] -= owed
        want[(P.HOSPITAL_FUND_SHORTFALL, h, None)] -= to_collect
        want[(P.FUND_SHORTFALL_RECEIVABLE, h, None)] += to_collect
        want[(P.HOSPITAL_CASH, h, None)] -= row.collected_fen
        want[(P.FUND_CASH, 0, None)] += row.collected_fen
    for prepayment in session.scalars(select(Prepayment)):
        kept = prepayment.amount_fen - (prepayment.cleared_fen or 0)
        want[(P.HOSPITAL_PREPAYMENT, prepayment.hospital_id, None)] += kept
        want[(P.FUND_CASH, 0, None)] -= kept
    return {key: fen for key, fen in want.items() if fen}


def actual_balances(session: Session) -> dict[Key, int]:
    """Account balances from the postings, per order line where the posting names one."""
    rows = session.execute(
        select(Account.purpose, Account.party_key, Posting.order_line_id, func.sum(Posting.amount_fen))
        .join(Account, Account.id == Posting.account_id)
        .group_by(Account.purpose, Account.party_key, Posting.order_line_id)
    )
    return {(purpose, int(party), line): int(fen) for purpose, party, line, fen in rows if int(fen)}


def _fold_by_party(balances: dict[Key, int], purposes: frozenset[AccountPurpose]) -> dict[Key, int]:
    """Balances of `purposes` summed over order lines (for accounts checked per party)."""
    folded: dict[Key, int] = defaultdict(int)
    for (purpose, party, line), fen in balances.items():
        folded[(purpose, party, line if purpose in PER_LINE or purpose not in purposes else None)] += fen
    return {k: v for k, v in folded.items() if v}


def journal_versus_flows(session: Session) -> list[Mismatch]:
    """Every (account, order line) whose journal balance differs from the flows' figure; accounts
    that mix goods payments and party-level money (fund cash, a hospital's prepayment and cash)
    are compared per order line for the payments and per party in total."""
    want, have = expected_balances(session), actual_balances(session)
    mixed = frozenset(SOURCE_ACCOUNT.values())
    problems: list[Mismatch] = []
    # Goods accounts and payment sources: per order line.
    for key in sorted(set(want) | set(have), key=_order):
        purpose, party, line = key
        if line is None and purpose not in PER_LINE:
            continue  # party totals are compared below
        if want.get(key, 0) != have.get(key, 0):
            problems.append(Mismatch(purpose, party, line, want.get(key, 0), have.get(key, 0)))
    # Party-level accounts: the total over every posting of the party (lines included for the
    # mixed accounts).
    want_total, have_total = _fold_by_party(want, mixed), _fold_by_party(have, mixed)
    for key in sorted(set(want_total) | set(have_total), key=_order):
        purpose, party, line = key
        if line is not None or purpose in PER_LINE:
            continue
        if want_total.get(key, 0) != have_total.get(key, 0):
            problems.append(Mismatch(purpose, party, None, want_total.get(key, 0), have_total.get(key, 0)))
    return problems


def _order(key: Key) -> tuple[str, int, int]:
    purpose, party, line = key
    return (purpose.value, party, -1 if line is None else line)
