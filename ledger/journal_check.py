"""The journal against the flows: per order line and per party, every account's balance must equal
what the flows say, derived here from the flow records alone (never from postings).

Per order line (hospital H, its distributor E, compared by the database and reported only where
they differ, so a province is checked without loading it):

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
from typing import Any

from sqlalchemy import Select, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from ledger import money_rules
from ledger.models import (
    Account,
    AccountPurpose,
    FundSettlement,
    InvoiceLine,
    InvoiceLineStatus,
    OrderLine,
    Payment,
    PaymentSource,
    Posting,
    Prepayment,
    SettlementLine,
    SettlementLineStatus,
)

P = AccountPurpose
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


def _per_line_flows() -> Select[Any]:
    """Per order line, from the flow records alone: confirmed invoice money and money paid by
    each source, with the line's hospital and distributor."""
    confirmed = (
        select(InvoiceLine.order_line_id.label("olid"), func.sum(InvoiceLine.amount_fen).label("fen"))
        .where(InvoiceLine.status == InvoiceLineStatus.CONFIRMED)
        .group_by(InvoiceLine.order_line_id)
        .subquery("confirmed")
    )

    def paid_by(source: PaymentSource | None) -> Any:
        amount = SettlementLine.amount_fen
        return func.sum(amount if source is None else case((Payment.source == source, amount), else_=0))

    paid = (
        select(
            SettlementLine.order_line_id.label("olid"),
            paid_by(None).label("all_fen"),
            paid_by(PaymentSource.FUND).label("fund_fen"),
            paid_by(PaymentSource.PREPAYMENT).label("prepayment_fen"),
            paid_by(PaymentSource.SELF_PAY).label("self_fen"),
        )
        .join(Payment, Payment.application_id == SettlementLine.application_id)
        .where(SettlementLine.status == SettlementLineStatus.CONFIRMED)
        .group_by(SettlementLine.order_line_id)
        .subquery("paid")
    )
    zero = func.coalesce
    return (
        select(
            OrderLine.id.label("olid"),
            OrderLine.hospital_id,
            OrderLine.distributor_id,
            zero(confirmed.c.fen, 0).label("confirmed"),
            zero(paid.c.all_fen, 0).label("paid"),
            zero(paid.c.fund_fen, 0).label("fund"),
            zero(paid.c.prepayment_fen, 0).label("prepayment"),
            zero(paid.c.self_fen, 0).label("self"),
        )
        .outerjoin(confirmed, confirmed.c.olid == OrderLine.id)
        .outerjoin(paid, paid.c.olid == OrderLine.id)
    )


#: Per order line: (purpose, the party column it belongs to, the expected balance in terms of the
#: flows' columns confirmed / paid / fund / prepayment / self).
LINE_ACCOUNTS: tuple[tuple[AccountPurpose, str, Any], ...] = (
    (P.HOSPITAL_PURCHASES, "hospital", lambda f: f.confirmed),
    (P.HOSPITAL_PAYABLE, "hospital", lambda f: f.paid - f.confirmed),
    (P.ENTERPRISE_RECEIVABLE, "distributor", lambda f: f.confirmed - f.paid),
    (P.ENTERPRISE_SALES, "distributor", lambda f: -f.confirmed),
    (P.ENTERPRISE_CASH, "distributor", lambda f: f.paid),
    (P.FUND_CASH, "fund", lambda f: -f.fund),
    (P.HOSPITAL_PREPAYMENT, "hospital", lambda f: -f.prepayment),
    (P.HOSPITAL_CASH, "hospital", lambda f: -f.self),
)


def _party_of(line: Any, side: str) -> Any:
    return {"hospital": line.hospital_id, "distributor": line.distributor_id, "fund": literal(0)}[side]


def _posted_per_line() -> Any:
    """Per order line, in one pass over the postings: the balance of each of the line's own
    accounts (LINE_ACCOUNTS at the line's parties) and the number of postings to any other."""
    own = [
        and_(Account.purpose == purpose, Account.party_key == _party_of(OrderLine, side))
        for purpose, side, _ in LINE_ACCOUNTS
    ]
    return (
        select(
            Posting.order_line_id.label("olid"),
            *[
                func.sum(case((mine, Posting.amount_fen), else_=0)).label(purpose.value)
                for (purpose, _, _), mine in zip(LINE_ACCOUNTS, own, strict=True)
            ],
            func.sum(case((or_(*own), 0), else_=1)).label("stray"),
        )
        .join(Account, Account.id == Posting.account_id)
        .join(OrderLine, OrderLine.id == Posting.order_line_id)
        .group_by(Posting.order_line_id)
        .subquery("posted")
    )


def _line_mismatches(session: Session, limit: int) -> list[Mismatch]:
    """Order lines whose postings differ from their flows, compared by the database in a few
    set-based passes (a province of a million lines is checked without loading it): per line and
    account, the postings to the line's own parties must equal the flows' figure, and no posting
    of the line may name another party (a stray posting)."""
    flows = _per_line_flows().subquery("flows")
    posted = _posted_per_line()
    actual = {purpose: func.coalesce(posted.c[purpose.value], 0) for purpose, _, _ in LINE_ACCOUNTS}
    stray = func.coalesce(posted.c.stray, 0)
    rows = session.execute(
        select(flows, *[actual[p].label(p.value) for p, _, _ in LINE_ACCOUNTS], stray.label("stray"))
        .outerjoin(posted, posted.c.olid == flows.c.olid)
        .where(or_(stray > 0, *[actual[p] != expected(flows.c) for p, _, expected in LINE_ACCOUNTS]))
        .order_by(flows.c.olid)
        .limit(limit)
    ).mappings()
    found: list[Mismatch] = []
    for row in rows:
        parties = {"hospital": row["hospital_id"], "distributor": row["distributor_id"], "fund": 0}
        expected_here = {(p, int(parties[side])) for p, side, _ in LINE_ACCOUNTS}
        for purpose, side, expected in LINE_ACCOUNTS:
            want, have = int(expected(_Row(row))), int(row[purpose.value])
            if want != have:
                found.append(Mismatch(purpose, int(parties[side]), int(row["olid"]), want, have))
        if row["stray"]:
            for purpose, party, fen in session.execute(
                select(Account.purpose, Account.party_key, func.sum(Posting.amount_fen))
                .join(Account, Account.id == Posting.account_id)
                .where(Posting.order_line_id == row["olid"])
                .group_by(Account.purpose, Account.party_key)
            ):
                if (purpose, int(party)) not in expected_here:
                    found.append(Mismatch(purpose, int(party), int(row["olid"]), 0, int(fen)))
    return found


class _Row:
    """Attribute access to a result row's flow columns (the expectations are written over them)."""

    def __init__(self, row: Any) -> None:
        self._row = row

    def __getattr__(self, name: str) -> int:
        return int(self._row[name])


def _party_mismatches(session: Session) -> list[Mismatch]:
    """Accounts checked per party: the fund's settlements, claims and shortfalls, prepayments and
    the totals of the accounts that also carry line money (fund cash, a hospital's prepayment and
    cash); and money on the goods accounts that names no order line."""
    want: dict[tuple[AccountPurpose, int], int] = defaultdict(int)
    for row in session.scalars(select(FundSettlement)):
        d = money_rules.deduct(row.gross_fen or 0, row.deducted_fen)
        h, owed, to_collect = (
            row.hospital_id,
            (row.gross_fen or 0) - d.covered_fen,
            d.shortfall_fen - row.collected_fen,
        )
        want[(P.HOSPITAL_FUND_CLAIM, h)] += owed
        want[(P.FUND_SETTLEMENTS, h)] -= owed
        want[(P.HOSPITAL_FUND_SHORTFALL, h)] -= to_collect
        want[(P.FUND_SHORTFALL_RECEIVABLE, h)] += to_collect
        want[(P.HOSPITAL_CASH, h)] -= row.collected_fen
        want[(P.FUND_CASH, 0)] += row.collected_fen
    for prepayment in session.scalars(select(Prepayment)):
        kept = prepayment.amount_fen - (prepayment.cleared_fen or 0)
        want[(P.HOSPITAL_PREPAYMENT, prepayment.hospital_id)] += kept
        want[(P.FUND_CASH, 0)] -= kept
    for source, party_column in (
        (PaymentSource.FUND, None),
        (PaymentSource.PREPAYMENT, SettlementLine.hospital_id),
        (PaymentSource.SELF_PAY, SettlementLine.hospital_id),
    ):
        party = literal(0) if party_column is None else party_column
        for key, fen in session.execute(
            select(party, func.sum(SettlementLine.amount_fen))
            .join(Payment, Payment.application_id == SettlementLine.application_id)
            .where(SettlementLine.status == SettlementLineStatus.CONFIRMED, Payment.source == source)
            .group_by(party)
        ):
            want[(SOURCE_ACCOUNT[source], int(key))] -= int(fen)
    party_level = frozenset(
        {P.HOSPITAL_FUND_CLAIM, P.FUND_SETTLEMENTS, P.HOSPITAL_FUND_SHORTFALL, P.FUND_SHORTFALL_RECEIVABLE}
    ) | frozenset(SOURCE_ACCOUNT.values())
    have: dict[tuple[AccountPurpose, int], int] = defaultdict(int)
    unattributed: list[Mismatch] = []
    for purpose, party, line, fen in session.execute(
        select(
            Account.purpose, Account.party_key, Posting.order_line_id.is_(None), func.sum(Posting.amount_fen)
        )
        .join(Account, Account.id == Posting.account_id)
        .group_by(Account.purpose, Account.party_key, Posting.order_line_id.is_(None))
    ):
        if purpose in party_level:
            have[(purpose, int(party))] += int(fen)
        elif line and int(fen):
            unattributed.append(Mismatch(purpose, int(party), None, 0, int(fen)))
    problems = [
        Mismatch(purpose, party, None, want.get((purpose, party), 0), have.get((purpose, party), 0))
        for purpose, party in sorted(set(want) | set(have), key=lambda k: (k[0].value, k[1]))
        if want.get((purpose, party), 0) != have.get((purpose, party), 0)
    ]
    return unattributed + problems


def actual_balances(session: Session) -> dict[Key, int]:
    """Account balances from the postings, per order line where the posting names one (for tests
    and small slices: a province's verify uses `journal_versus_flows`)."""
    rows = session.execute(
        select(Account.purpose, Account.party_key, Posting.order_line_id, func.sum(Posting.amount_fen))
        .join(Account, Account.id == Posting.account_id)
        .group_by(Account.purpose, Account.party_key, Posting.order_line_id)
    )
    return {(purpose, int(party), line): int(fen) for purpose, party, line, fen in rows if int(fen)}


def journal_versus_flows(session: Session, *, limit: int = 1000) -> list[Mismatch]:
    """Every (account, order line) and every party-level account whose journal balance differs from
    the flows' figure (at most `limit` order lines are reported)."""
    return _line_mismatches(session, limit) + _party_mismatches(session)
