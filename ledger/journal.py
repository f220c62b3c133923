"""Double-entry journal: balanced, immutable entries, idempotent on a business key.

Every money event posts one entry whose postings sum to zero (debit > 0, credit < 0, fen).
Entries are never edited: a correction is a reversal entry. Balances are sums of postings.
The unique business key is what makes a retried or concurrent posting of the same event
(the same payment, say) land exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.errors import Conflict, ValidationFailed
from ledger.models import Account, AccountPurpose, JournalEntry, Posting


@dataclass(frozen=True)
class Leg:
    """One posting to be made: account, signed amount in fen, and the order line it belongs to."""

    account: Account
    amount_fen: int
    order_line_id: int | None = None


def net_legs(legs: Sequence[Leg]) -> list[Leg]:
    """The legs summed per account and order line, zeros dropped (one posting each)."""
    sums: dict[tuple[int, int | None], int] = {}
    accounts: dict[int, Account] = {}
    for leg in legs:
        key = (leg.account.id, leg.order_line_id)
        sums[key] = sums.get(key, 0) + leg.amount_fen
        accounts[leg.account.id] = leg.account
    return [Leg(accounts[a], amount, line) for (a, line), amount in sums.items() if amount]


def account(
    session: Session, purpose: AccountPurpose, party_id: int | None = None, *, now: datetime
) -> Account:
    """The account of a party for a purpose, created on first use (safe under concurrency)."""
    key = party_id or 0
    stmt = select(Account).where(Account.purpose == purpose, Account.party_key == key)
    found = session.scalars(stmt).first()
    if found is not None:
        return found
    try:
        with session.begin_nested():
            created = Account(purpose=purpose, party_id=party_id, party_key=key, created_at=now)
            session.add(created)
        return created
    except IntegrityError:
        return session.scalars(stmt).one()


def post(
    session: Session,
    *,
    business_key: str,
    kind: str,
    description: str,
    occurred_on: date,
    legs: Sequence[Leg],
    now: datetime,
    reversal_of_id: int | None = None,
) -> tuple[JournalEntry, bool]:
    """Post a balanced entry once per business key; returns (entry, created)."""
    if len(legs) < 2 or any(leg.amount_fen == 0 for leg in legs):
        raise ValidationFailed(fields={"legs": ["至少两笔非零分录 (at least two non-zero postings)"]})
    if sum(leg.amount_fen for leg in legs) != 0:
        raise ValidationFailed(fields={"legs": ["借贷不平衡 (debits and credits do not balance)"]})
    existing = session.scalars(select(JournalEntry).where(JournalEntry.business_key == business_key)).first()
    if existing is not None:
        return existing, False
    try:
        with session.begin_nested():
            entry = JournalEntry(
                business_key=business_key,
                kind=kind,
                description=description[:300],
                occurred_on=occurred_on,
                reversal_of_id=reversal_of_id,
                created_at=now,
            )
            session.add(entry)
            session.flush()  # the unique business key is claimed here; a concurrent twin waits or fails
            session.add_all(
                Posting(
                    entry_id=entry.id,
                    account_id=leg.account.id,
                    amount_fen=leg.amount_fen,
                    order_line_id=leg.order_line_id,
                    occurred_on=occurred_on,
                )
                for leg in legs
            )
            session.flush()
    except IntegrityError:
        twin = session.scalars(select(JournalEntry).where(JournalEntry.business_key == business_key)).first()
        if twin is None:
            raise
        return twin, False
    return entry, True


def reverse(
    session: Session, entry_id: int, *, reason: str, occurred_on: date, now: datetime
) -> JournalEntry:
    """Correct an entry by posting its mirror image (the original stays as it was)."""
    original = session.get_one(JournalEntry, entry_id)
    if original.reversal_of_id is not None:
        raise Conflict("冲销分录不能再冲销 (a reversal is not reversed)", code="reversal_of_reversal")
    legs = [
        Leg(session.get_one(Account, p.account_id), -p.amount_fen, p.order_line_id) for p in original.postings
    ]
    entry, created = post(
        session,
        business_key=f"reversal:{original.id}",
        kind=f"reversal:{original.kind}",
        description=f"冲销 {original.business_key}: {reason}",
        occurred_on=occurred_on,
        legs=legs,
        now=now,
        reversal_of_id=original.id,
    )
    if not created:
        raise Conflict("该分录已冲销 (already reversed)", code="already_reversed")
    return entry


def balance_fen(session: Session, account_id: int) -> int:
    """An account's balance: the sum of its postings (debit-positive)."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Posting.amount_fen), 0)).where(Posting.account_id == account_id)
        )
        or 0
    )


@dataclass(frozen=True)
class JournalReport:
    entries: int
    postings: int
    unbalanced_entries: list[int]
    entries_without_postings: list[int]
    total_fen: int

    @property
    def ok(self) -> bool:
        return not self.unbalanced_entries and not self.entries_without_postings and self.total_fen == 0


def verify_journal(session: Session) -> JournalReport:
    """Every entry balances, every entry has postings, and all balances sum to zero (set-based)."""
    unbalanced = session.scalars(
        select(Posting.entry_id).group_by(Posting.entry_id).having(func.sum(Posting.amount_fen) != 0)
    ).all()
    empty = session.scalars(
        select(JournalEntry.id).where(~select(Posting.id).where(Posting.entry_id == JournalEntry.id).exists())
    ).all()
    total = session.scalar(select(func.coalesce(func.sum(Posting.amount_fen), 0))) or 0
    return JournalReport(
        entries=session.scalar(select(func.count()).select_from(JournalEntry)) or 0,
        postings=session.scalar(select(func.count()).select_from(Posting)) or 0,
        unbalanced_entries=list(unbalanced),
        entries_without_postings=list(empty),
        total_fen=int(total),
    )
