"""A small generated province for the statement job's tests, and what its statements are."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bench import generate
from ledger.models import OrderLine, Statement

AS_OF = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
SEED = 3
#: Enough hospitals for a job of some ten units (two per hospital), every discrepancy kind present.
SCALE = generate.Scale(
    "jobs",
    hospitals=6,
    manufacturers=3,
    distributors=3,
    products=10,
    order_lines=300,
    months=3,
    shares=generate.SMALL.shares,
)


def seed_province(session: Session, scale: generate.Scale = SCALE) -> date:
    """Write the province; the month with the most orders (the one the job is run for)."""
    generate.generate(session, scale=scale, seed=SEED, as_of=AS_OF)
    month = (
        func.date_trunc("month", OrderLine.ordered_on)
        if session.bind.dialect.name == "postgresql"
        else (func.strftime("%Y-%m-01", OrderLine.ordered_on))
    )
    top = session.execute(
        select(month.label("m"), func.count()).group_by("m").order_by(func.count().desc(), "m")
    ).first()
    assert top is not None
    value = top[0]
    return value.date() if isinstance(value, datetime) else date.fromisoformat(str(value)[:10])


def statements_of(session: Session, period: date) -> dict[tuple[int, int], list[tuple[Any, ...]]]:
    """Every version of every pair's statement: (version, content digest, digest, lines, amount)."""
    found: dict[tuple[int, int], list[tuple[Any, ...]]] = {}
    rows = session.scalars(
        select(Statement)
        .where(Statement.period_month == period)
        .order_by(Statement.hospital_id, Statement.enterprise_id, Statement.version)
    )
    for s in rows:
        found.setdefault((s.hospital_id, s.enterprise_id), []).append(
            (s.version, s.content_digest, s.digest, s.line_count, s.order_amount_fen)
        )
    return found


def pdf_texts(folder: Path) -> dict[str, bytes]:
    """Each PDF's bytes without the parts reportlab varies per run (creation date, document id)."""
    import re

    return {
        p.name: re.sub(
            rb"/(CreationDate|ModDate) \(D:[^)]*\)|/ID\s*\[<[0-9a-f]+><[0-9a-f]+>\]", b"", p.read_bytes()
        )
        for p in sorted(folder.glob("*.pdf"))
    }
