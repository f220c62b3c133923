"""Partitioned trace codes (PostgreSQL: core/partitions.py): a code is live on one line only
whatever month its lines were attached in, and archiving keeps a month that holds a live code."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from core import clock, partitions
from ledger.trace.attach import attach_codes
from ledger.trace.models import TraceCode
from tests.core.test_partitions import FAR, key_record, refused
from tests.ordering import NOW, Market
from tests.trace.conftest import domestic
from tests.trace.test_trace_api import Ship


def _archived(session: Session) -> set[str]:
    rows = session.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'archive'")).scalars()
    return set(rows)


@pytest.mark.postgresql_only
def test_archiving_detaches_only_what_retention_allows(
    session: Session, market: Market, shipped: Ship
) -> None:
    line = shipped(2)
    attach_codes(session, market.distributor_actor, line.id, codes=domestic(2), now=NOW)
    old = clock.month_start(clock.business_date(NOW))
    session.add(key_record(8, "old-key", old))
    session.flush()
    cutoff = clock.next_month(old)

    report = partitions.maintain(session, months_ahead=0, archive_before=cutoff)

    archived = _archived(session)
    assert partitions.month_name("idempotency_keys", old) in archived
    assert partitions.month_name("reconciliation_findings", old) in archived  # no finding of a recent run
    # Live codes keep their month attached; the audit trail and the journal are kept whole.
    assert partitions.month_name("trace_codes", old) not in archived
    assert (
        f"trace_codes: kept {partitions.month_name('trace_codes', old)} (live_code still needed)"
        in report.lines
    )
    assert not {n for n in archived if n.startswith(("audit_events", "postings"))}
    assert (
        session.scalar(
            select(func.count()).select_from(TraceCode).where(TraceCode.shipment_line_id == line.id)
        )
        == 2
    )
    assert session.execute(text("SELECT count(*) FROM gu_one_per_user WHERE key = 'old-key'")).scalar() == 0
    listing = list(partitions.listing(session))
    assert f"  archive.{partitions.month_name('idempotency_keys', old):<32} (archived)" in listing


def test_a_code_stays_live_on_one_line_whatever_the_month(
    session: Session, market: Market, shipped: Ship
) -> None:
    line = shipped(1)
    attach_codes(session, market.distributor_actor, line.id, codes=domestic(1), now=NOW)
    live = session.scalars(select(TraceCode).where(TraceCode.shipment_line_id == line.id)).one()
    twin = {
        c.key: getattr(live, c.key)
        for c in TraceCode.__mapper__.column_attrs
        if c.key not in {"id", "sync_xid", "sync_seq"}
    }
    for day in (live.attached_on, FAR):  # the same day (same partition) and another month
        conflict = refused(session, TraceCode(**{**twin, "attached_on": day}))
        assert conflict is not None
        assert (conflict.table, conflict.constraint) == ("trace_codes", "one_live_line")
    twin["attached_on"] = FAR
    # Released (no longer live), the code may go live on another line.
    session.execute(update(TraceCode).where(TraceCode.id == live.id).values(live_code=None))
    session.add(TraceCode(**twin))
    session.flush()
