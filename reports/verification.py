"""What the public verification page shows of a statement: who and when, which version and
whether it is still the current one, each party's decision. Never amounts or dispute reasons
(the JSON endpoint shows no amounts either); whoever holds the PDF holds the code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger import statements
from ledger.models import PartyDecision, Statement


@dataclass(frozen=True)
class Verification:
    number: str
    period: date
    hospital: str
    enterprise: str
    version: int
    latest_version: int
    current: bool
    state: PartyDecision
    hospital_decision: PartyDecision
    hospital_decided_at: datetime | None
    enterprise_decision: PartyDecision
    enterprise_decided_at: datetime | None
    generated_at: datetime
    code: str


def verification(session: Session, code: str) -> Verification | None:
    """The statement a printed code belongs to, as the page shows it; None for an unknown code."""
    statement = statements.verify(session, code)
    if statement is None:
        return None
    latest = session.scalar(
        select(func.max(Statement.version)).where(
            Statement.hospital_id == statement.hospital_id,
            Statement.enterprise_id == statement.enterprise_id,
            Statement.period_month == statement.period_month,
        )
    )
    p = statement.payload
    return Verification(
        number=p["number"],
        period=statement.period_month,
        hospital=p["hospital"]["name"],
        enterprise=p["enterprise"]["name"],
        version=statement.version,
        latest_version=latest or statement.version,
        current=latest == statement.version,
        state=statement.state,
        hospital_decision=statement.hospital_decision,
        hospital_decided_at=statement.hospital_decided_at,
        enterprise_decision=statement.enterprise_decision,
        enterprise_decided_at=statement.enterprise_decided_at,
        generated_at=statement.generated_at,
        code=statement.digest,
    )
