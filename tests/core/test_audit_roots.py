"""Daily roots of the audit trail (core/audit_roots.py): one per day, chained, checked by
`flask audit verify` against the events at the positions they recorded; computed by the scheduler
and by `flask audit root`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.scheduler import JOBS
from core import audit, clock
from core.audit import AuditDailyRoot, AuditEvent
from core.audit_roots import compute_root, latest_root_before
from core.errors import InvalidState
from tests.core.test_audit import _disable_append_only
from tests.core.test_audit_lanes import _write


def _yesterday() -> Any:
    return clock.business_date(clock.now()) - timedelta(days=1)


def test_a_root_then_more_events_still_verifies_and_a_second_computation_is_the_same_root(
    session: Session,
) -> None:
    for org_id in range(1, 6):
        _write(session, org_id, 2)
    day = _yesterday()
    root, made = compute_root(session, day, now=clock.now())
    session.commit()
    assert made
    assert len(root.heads) == 16
    assert [h[0] for h in root.heads] == list(range(16))
    assert root.prev_root_hash == audit.GENESIS_HASH
    again, made_again = compute_root(session, day, now=clock.now() + timedelta(hours=1))
    assert (again.root_hash, made_again) == (root.root_hash, False)
    for org_id in range(1, 6):
        _write(session, org_id)
    report = audit.verify_chain(session)
    assert (report.ok, report.roots) == (True, 1)


def test_roots_chain_by_day_and_a_day_is_rooted_once_it_has_ended(session: Session) -> None:
    now = clock.now()
    today = clock.business_date(now)
    with pytest.raises(InvalidState):
        compute_root(session, today, now=now)
    first, _ = compute_root(session, today - timedelta(days=3), now=now)
    _write(session, 3)
    second, _ = compute_root(session, today - timedelta(days=1), now=now)
    assert second.prev_root_hash == first.root_hash
    with pytest.raises(InvalidState):
        compute_root(session, today - timedelta(days=2), now=now)
    assert latest_root_before(session, now + timedelta(days=1)) is not None
    assert latest_root_before(session, now - timedelta(seconds=1)) is None  # made after that moment
    assert audit.verify_chain(session).roots == 2


def test_a_tampered_root_fails_verification_naming_its_day(app: Flask, session: Session) -> None:
    _write(session, 4)
    now = clock.now()
    day = _yesterday()
    compute_root(session, day - timedelta(days=1), now=now)
    compute_root(session, day, now=now)
    session.commit()
    for change in (
        "root_hash = '" + "1" * 64 + "'",
        "prev_root_hash = '" + "2" * 64 + "'",
        "created_at = created_at",  # unchanged: a control
    ):
        savepoint = session.begin_nested()
        session.execute(text(f"UPDATE audit_daily_roots SET {change} WHERE day = :day"), {"day": day})  # noqa: S608
        session.expire_all()
        report = audit.verify_chain(session)
        if change.startswith("created_at"):
            assert report.ok
        else:
            assert (report.ok, report.day) == (False, day), change
        savepoint.rollback()
    session.execute(
        text("UPDATE audit_daily_roots SET root_hash = :h WHERE day = :day"), {"h": "3" * 64, "day": day}
    )
    session.commit()
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"daily root {day.isoformat()}" in result.output


def test_rewriting_a_lane_behind_its_head_is_caught_by_the_root(session: Session, dialect: str) -> None:
    """A thorough attacker deletes a lane's last event and winds its head back: the lane alone
    verifies again, but the published root still names the deleted event."""
    first, last = _write(session, 9, 2)
    compute_root(session, _yesterday(), now=clock.now())
    session.commit()
    _disable_append_only(session, dialect)
    session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": last.id})
    session.execute(
        text("UPDATE audit_lane_heads SET seq = :seq, last_hash = :h WHERE lane = :lane"),
        {"seq": first.seq, "h": first.hash, "lane": first.lane},
    )
    report = audit.verify_chain(session)
    assert (report.ok, report.day) == (False, _yesterday())
    assert report.problem == f"lane {last.lane} seq {last.seq} is not the event the root recorded"


def test_the_cli_and_the_scheduler_compute_yesterdays_root(app: Flask, session: Session) -> None:
    _write(session, 2)
    runner = app.test_cli_runner()
    day = _yesterday()
    result = runner.invoke(args=["audit", "root", "--day", (day - timedelta(days=1)).isoformat()])
    assert result.exit_code == 0, result.output
    assert "root computed" in result.output
    assert (
        runner.invoke(args=["audit", "root", "--day", clock.business_date(clock.now()).isoformat()]).exit_code
        == 1
    )
    job = JOBS["audit_daily_root"]
    out = job.run(session, clock.now(), cast(Any, None))
    assert (out["day"], out["computed"]) == (day.isoformat(), True)
    assert job.run(session, clock.now(), cast(Any, None))["computed"] is False
    session.commit()
    again = runner.invoke(args=["audit", "root"])
    assert "root exists" in again.output
    assert out["root_hash"] in again.output
    verified = runner.invoke(args=["audit", "verify"])
    assert verified.exit_code == 0, verified.output
    assert "16 lanes, 2 daily roots" in verified.output
    assert session.scalar(select(AuditEvent.action).where(AuditEvent.action == "audit.daily_root").limit(1))
    assert len(session.scalars(select(AuditDailyRoot)).all()) == 2
