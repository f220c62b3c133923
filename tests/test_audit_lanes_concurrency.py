"""On PostgreSQL, audited writes of organizations in different lanes no longer wait for each
other: one transaction holds its lane's head (written, not committed) while another
organization's audited write commits. Blocking is detected with lock_timeout, not with clocks."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.cli import alembic_config
from core import audit, clock
from tests.conftest import Databases
from tests.core.test_audit_lanes import org_actor

pytestmark = pytest.mark.postgresql_only


def _write(session: Session, org_id: int, *, lock_timeout: str) -> audit.AuditEvent:
    session.execute(text(f"SET LOCAL lock_timeout = '{lock_timeout}'"))
    return audit.record(
        session, org_actor(org_id), "test.concurrent", subject_type="t", subject_id=org_id, now=clock.now()
    )


def test_writers_of_different_lanes_do_not_block_each_other(databases: Databases) -> None:
    url = databases.new()
    command.upgrade(alembic_config(url), "head")
    engine = create_engine(url)
    a, b = 1, next(o for o in range(2, 99) if audit.lane_for(o, 16) not in (0, audit.lane_for(1, 16)))
    same_as_a = next(o for o in range(2, 999) if audit.lane_for(o, 16) == audit.lane_for(a, 16))
    try:
        with Session(engine) as holder, Session(engine) as other, Session(engine) as neighbour:
            held = _write(holder, a, lock_timeout="0")
            holder.flush()  # lane a's head is now locked until `holder` ends
            # Another lane: commits while `holder` is open (a wait would hit the timeout).
            passed = _write(other, b, lock_timeout="10s")
            other.commit()
            assert passed.lane != held.lane
            # The same lane still waits: the lock is real (control).
            with pytest.raises(OperationalError, match="lock timeout"):
                _write(neighbour, same_as_a, lock_timeout="100ms")
            neighbour.rollback()
            holder.commit()
        with Session(engine) as check:
            assert audit.verify_chain(check).ok
    finally:
        engine.dispose()
