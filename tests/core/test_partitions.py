"""Monthly partitions of the history tables (core/partitions.py, migration 0029): a period query
reads only its months, a row beyond the last month waits in DEFAULT until `maintain` gives it its
month, archiving follows each table's retention, and the platform-wide keys still hold."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import Select, func, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from core import audit, audit_search, clock, partitions
from core.actors import Actor
from core.audit import AuditEvent
from core.idempotency import IdempotencyRecord
from core.integrity import ConstraintViolated, violation_conflict
from ledger.models import Posting, ReconciliationFinding
from ledger.trace.models import TraceCode

postgresql_only = pytest.mark.postgresql_only
FAR = date(2031, 5, 1)  # beyond any month the migration or a test run creates


def _relations(plan: Any) -> set[str]:
    if isinstance(plan, dict):
        found = {plan["Relation Name"]} if "Relation Name" in plan else set()
        return found.union(*(_relations(v) for v in plan.values()))
    if isinstance(plan, list):
        return set().union(*(_relations(v) for v in plan))
    return set()


def _scanned(session: Session, stmt: Select[Any]) -> set[str]:
    """The tables the plan of `stmt` reads, its parameters bound as the application binds them."""
    compiled = stmt.compile(dialect=session.get_bind().dialect)
    plan = session.connection().exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", compiled.params).scalar()
    return _relations(plan)


def _home(session: Session, table: str, row_id: int) -> str:
    """The partition a row is stored in."""
    sql = f"SELECT tableoid::regclass::text FROM {table} WHERE id = :id"  # noqa: S608
    return session.execute(text(sql), {"id": row_id}).scalar_one()


def refused(session: Session, row: object) -> ConstraintViolated | None:
    """The conflict the database answers to inserting `row` (rolled back to a savepoint)."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError as exc:
        return violation_conflict(exc)
    raise AssertionError("the row was accepted")


def key_record(user_id: int, key: str, day: date) -> IdempotencyRecord:
    return IdempotencyRecord(
        user_id=user_id,
        key=key,
        method="POST",
        path="/api/v1/orders",
        request_hash="0" * 64,
        status_code=201,
        response_body="v1:",
        created_at=clock.local(day) + timedelta(hours=9),
    )


@postgresql_only
def test_a_period_query_reads_only_the_partition_of_that_month(session: Session) -> None:
    month = clock.month_start(clock.business_date(clock.now()))
    after = clock.next_month(month)
    queries: dict[str, Select[Any]] = {
        # GET /api/v1/audit?since=&until= (app/api/audit.py reads this select)
        "audit_events": audit_search.search(
            Actor.system(), since=clock.local(month), until=clock.local(after)
        ),
        "postings": select(func.sum(Posting.amount_fen)).where(
            Posting.occurred_on >= month, Posting.occurred_on < after
        ),
        "reconciliation_findings": select(ReconciliationFinding.id).where(
            ReconciliationFinding.ordered_on >= month, ReconciliationFinding.ordered_on < after
        ),
        # the (hospital, attached_on) period index
        "trace_codes": select(TraceCode.code).where(
            TraceCode.hospital_id == 1, TraceCode.attached_on >= month, TraceCode.attached_on < after
        ),
        "idempotency_keys": select(IdempotencyRecord.id).where(
            IdempotencyRecord.created_at >= clock.local(month),
            IdempotencyRecord.created_at < clock.local(after),
        ),
    }
    for table, stmt in queries.items():
        assert _scanned(session, stmt) == {partitions.month_name(table, month)}, table
    whole = select(func.count()).select_from(AuditEvent)
    assert partitions.month_name("audit_events", month) in _scanned(session, whole)
    assert "audit_events_default" in _scanned(session, whole)


@postgresql_only
def test_a_row_beyond_the_last_month_waits_in_default_until_maintain_gives_it_its_month(
    session: Session,
) -> None:
    record = key_record(7, "far-future-key", FAR)
    session.add(record)
    event = audit.record(
        session,
        Actor.system(),
        "test.far",
        subject_type="test",
        subject_id=1,
        now=clock.local(FAR) + timedelta(days=3),
    )
    session.flush()
    assert _home(session, "idempotency_keys", record.id) == "idempotency_keys_default"
    assert _home(session, "audit_events", event.id) == "audit_events_default"

    report = partitions.maintain(session, months_ahead=0)

    assert "idempotency_keys: created idempotency_keys_p203105, moved 1 rows from DEFAULT" in report.lines
    assert "audit_events: created audit_events_p203105, moved 1 rows from DEFAULT" in report.lines
    assert _home(session, "idempotency_keys", record.id) == "idempotency_keys_p203105"
    assert _home(session, "audit_events", event.id) == "audit_events_p203105"
    with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
        session.execute(update(AuditEvent).where(AuditEvent.id == event.id).values(action="edited"))
    # The moved key still counts platform-wide: the same key in another month is refused.
    conflict = refused(session, key_record(7, "far-future-key", FAR - timedelta(days=400)))
    assert conflict is not None
    assert (conflict.table, conflict.constraint) == ("idempotency_keys", "one_per_user")


def test_maintain_and_list_say_what_they_did(session: Session, dialect: str) -> None:
    lines = list(partitions.listing(session))
    if dialect == "sqlite":
        assert partitions.maintain(session).lines == ["SQLite: history is not partitioned; nothing to do"]
        assert lines == ["SQLite: history is not partitioned; nothing to list"]
        return
    assert partitions.maintain(session, months_ahead=1).lines == []  # the migration made them
    assert "audit_events (by at, retention: kept whole)" in lines
    assert any(line.strip().startswith("audit_events_default") for line in lines)
