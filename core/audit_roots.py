"""Daily roots of the audit trail: once a business day (province time, core/clock.py) the heads of
every lane are digested together with the previous day's root, and the root is published (public
page, statement PDFs). Whoever kept a printed root can later ask `flask audit verify` to show that
the events up to those heads are still the ones that were there that day.

One root per day, computed once: computing it again returns the stored one. Roots chain in day
order, so a day before the latest root cannot be added afterwards, and a day is rooted only once
it has ended.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import clock, crypto_suites
from core.actors import Actor
from core.audit import GENESIS_HASH, AuditDailyRoot, canonical, lane_heads, record
from core.errors import InvalidState


def root_digest(root: AuditDailyRoot) -> str:
    """Digest of the root's canonical content under the root's own suite."""
    content: dict[str, Any] = {
        "day": root.day.isoformat(),
        "heads": [list(h) for h in root.heads],
        "prev": root.prev_root_hash,
        "created_at": root.created_at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
    }
    suite = root.suite or crypto_suites.STANDARD
    if suite != crypto_suites.STANDARD:
        content["suite"] = suite
    return crypto_suites.get(suite).digest(canonical(content))


def compute_root(session: Session, day: dt.date, *, now: dt.datetime) -> tuple[AuditDailyRoot, bool]:
    """The root of `day` and whether it was made now (False: it existed already)."""
    existing = session.get(AuditDailyRoot, day)
    if existing is not None:
        return existing, False
    if day >= clock.business_date(now):
        raise InvalidState(
            f"{day.isoformat()} 尚未结束，不能计算日根 (the day has not ended yet)",
            fields={"day": ["not ended"]},
        )
    latest = session.scalars(select(AuditDailyRoot).order_by(AuditDailyRoot.day.desc()).limit(1)).first()
    if latest is not None and latest.day > day:
        raise InvalidState(
            f"已有 {latest.day.isoformat()} 的日根，日根按日期链接，不能补算更早的日期 "
            f"(roots chain by day: a root for {latest.day.isoformat()} exists already)",
            fields={"day": ["before the latest root"]},
        )
    root = AuditDailyRoot(
        day=day,
        # Read without locking any lane: each head row is committed together with its events.
        heads=[[lane, seq, last_hash] for lane, seq, last_hash in lane_heads(session)],
        prev_root_hash=latest.root_hash if latest is not None else GENESIS_HASH,
        suite=crypto_suites.current().name,
        created_at=now.astimezone(dt.UTC),
    )
    root.root_hash = root_digest(root)
    session.add(root)
    session.flush()
    record(
        session,
        Actor.system(),
        "audit.daily_root",
        subject_type="audit_daily_root",
        subject_id=day.isoformat(),
        after={"root_hash": root.root_hash, "lanes": len(root.heads)},
        now=now,
    )
    return root, True


def latest_root_before(session: Session, at: dt.datetime) -> AuditDailyRoot | None:
    """The newest root that existed at `at` for a day before `at`'s business day: what a document
    made at `at` can print (rendering it again later prints the same root)."""
    return session.scalars(
        select(AuditDailyRoot)
        .where(AuditDailyRoot.day < clock.business_date(at), AuditDailyRoot.created_at <= at)
        .order_by(AuditDailyRoot.day.desc())
        .limit(1)
    ).first()


def root_page(session: Session, *, page: int, page_size: int) -> tuple[list[AuditDailyRoot], int]:
    """Roots newest first, one page, and how many there are."""
    total = session.scalar(select(func.count()).select_from(AuditDailyRoot)) or 0
    rows = session.scalars(
        select(AuditDailyRoot)
        .order_by(AuditDailyRoot.day.desc())
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).all()
    return list(rows), total
