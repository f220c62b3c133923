"""Audit lanes (core/audit.py): organizations spread over several chains, one transaction writes
into one lane, and editing or deleting any row of any lane still fails verification, naming the
lane and the seq."""

from __future__ import annotations

import itertools

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core import audit, clock
from core.actors import Actor, OrgKind, Role
from core.audit import AuditEvent
from core.errors import InvalidState
from tests.core.test_audit import _disable_append_only


def org_actor(org_id: int) -> Actor:
    return Actor(user_id=None, org_id=org_id, org_kind=OrgKind.HOSPITAL, role=Role.OPERATOR)


def _write(session: Session, org_id: int, n: int = 1) -> list[AuditEvent]:
    """One committed transaction of `n` events by an actor of organization `org_id`."""
    events = [
        audit.record(
            session, org_actor(org_id), "test.lane", subject_type="thing", subject_id=i, now=clock.now()
        )
        for i in range(n)
    ]
    session.commit()
    return events


def test_organizations_spread_over_the_lanes_and_each_lane_is_a_chain(session: Session) -> None:
    lanes = len(audit.lane_heads(session))
    assert lanes == 16  # the migration's default (VBP_AUDIT_LANES)
    for org_id in range(1, 41):
        _write(session, org_id)
    used = {e.lane for e in session.scalars(select(AuditEvent).where(AuditEvent.action == "test.lane"))}
    assert len(used) >= 8  # 40 organizations over 16 lanes
    assert {audit.lane_for(o, lanes) for o in range(1, 41)} == used
    assert audit.lane_for(None, lanes) == 0  # the platform itself
    for lane in used:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.lane == lane).order_by(AuditEvent.seq)
        ).all()
        assert [r.seq for r in rows] == list(range(1, len(rows) + 1))
        assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))
    report = audit.verify_chain(session)
    assert report.ok
    assert report.checked >= 40


def test_one_transaction_writes_into_one_lane_whoever_acts_in_it(session: Session) -> None:
    lanes = len(audit.lane_heads(session))
    first, other = next(
        (a, b)
        for a, b in itertools.pairwise(range(1, 99))
        if audit.lane_for(a, lanes) != audit.lane_for(b, lanes)
    )
    now = clock.now()
    a = audit.record(session, org_actor(first), "test.tx", subject_type="t", subject_id=1, now=now)
    b = audit.record(session, org_actor(other), "test.tx", subject_type="t", subject_id=2, now=now)
    many = audit.record_many(
        session, Actor.system(), [audit.Entry("test.tx", "t", 3), audit.Entry("test.tx", "t", 4)], now=now
    )
    assert {a.lane, b.lane, *(e.lane for e in many)} == {audit.lane_for(first, lanes)}
    assert [a.seq + 1, a.seq + 2, a.seq + 3] == [b.seq, many[0].seq, many[1].seq]
    session.commit()
    # The next transaction picks afresh: the other organization's lane.
    c = audit.record(session, org_actor(other), "test.tx", subject_type="t", subject_id=5, now=now)
    assert c.lane == audit.lane_for(other, lanes)
    session.rollback()
    assert audit.record(session, Actor.system(), "test.tx", subject_type="t", subject_id=6, now=now).lane == 0
    session.commit()
    assert audit.verify_chain(session).ok


def test_editing_any_row_of_any_lane_fails_verification_naming_lane_and_seq(
    app: Flask, session: Session, dialect: str
) -> None:
    for org_id in range(1, 13):
        _write(session, org_id, 2)
    rows = session.scalars(select(AuditEvent).where(AuditEvent.lane > 0).order_by(AuditEvent.id)).all()
    targets = [rows[0], rows[len(rows) // 2], rows[-1]]
    _disable_append_only(session, dialect)
    for target in targets:
        savepoint = session.begin_nested()
        session.execute(
            text("UPDATE audit_events SET subject_id = 'forged' WHERE id = :id"), {"id": target.id}
        )
        report = audit.verify_chain(session)
        assert (report.ok, report.lane, report.first_bad_seq) == (False, target.lane, target.seq)
        assert report.problem == "content does not match its hash (edited)"
        savepoint.rollback()
    session.execute(text("UPDATE audit_events SET lane = 0 WHERE id = :id"), {"id": targets[1].id})
    session.commit()
    report = audit.verify_chain(session)
    assert not report.ok
    assert report.lane is not None
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"lane {report.lane} seq {report.first_bad_seq}" in result.output


def test_deleting_the_last_row_of_a_lane_is_detected(session: Session, dialect: str) -> None:
    (last,) = _write(session, 7)
    assert last.lane == audit.lane_for(7, 16)
    _disable_append_only(session, dialect)
    session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": last.id})
    report = audit.verify_chain(session)
    assert (report.ok, report.lane, report.problem) == (
        False,
        last.lane,
        "events after the last stored one were deleted",
    )


def test_the_lane_count_changes_only_by_command_and_never_drops_a_used_lane(
    app: Flask, session: Session
) -> None:
    now = clock.now()
    assert audit.set_lane_count(session, 20, now=now) == (16, 20)
    session.commit()
    assert [h[0] for h in audit.lane_heads(session)] == list(range(20))
    used = next(o for o in range(1, 999) if audit.lane_for(o, 20) >= 16)
    _write(session, used)
    with pytest.raises(InvalidState):
        audit.set_lane_count(session, 16, now=now)
    session.rollback()
    result = app.test_cli_runner().invoke(args=["audit", "lanes"])
    assert result.exit_code == 0
    assert "lanes in use): 20" in result.output
    result = app.test_cli_runner().invoke(args=["audit", "lanes", "8"])
    assert result.exit_code == 1
    assert "hold events" in result.output
    assert audit.verify_chain(session).ok
