import itertools

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from core import audit, clock
from core.actors import Actor
from core.audit import AuditEvent
from tests.factories import make_org


def _disable_append_only(session: Session, dialect: str) -> None:
    """What an attacker with database access would do first (rolled back with the test)."""
    if dialect == "postgresql":
        session.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
    else:
        session.execute(text("DROP TRIGGER audit_events_no_update"))
        session.execute(text("DROP TRIGGER audit_events_no_delete"))


def test_records_chain_in_order_and_verify(session: Session) -> None:
    make_org(session)
    make_org(session)
    report = audit.verify_chain(session)
    assert report.ok
    events = session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert report.checked == len(events) >= 2
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))


def test_record_many_continues_the_one_chain_between_single_records(session: Session) -> None:
    """Several events appended in two statements are numbered and chained exactly as one-by-one
    records would be, and a record after them chains on the last of them."""
    make_org(session)
    now = clock.now()
    many = audit.record_many(
        session,
        Actor.system(),
        [audit.Entry("test.many", "thing", i, after={"i": i}) for i in range(3)],
        now=now,
    )
    audit.record(session, Actor.system(), "test.after", subject_type="thing", subject_id=9, now=now)
    assert audit.record_many(session, Actor.system(), [], now=now) == []
    session.flush()
    events = session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(events))
    assert [e.action for e in events[-4:]] == ["test.many"] * 3 + ["test.after"]
    assert [e.seq for e in many] == [e.seq for e in events[-4:-1]]
    assert audit.verify_chain(session).ok


def test_database_refuses_to_edit_an_audit_row(session: Session) -> None:
    make_org(session)
    with pytest.raises(DatabaseError, match="append-only"):
        session.execute(text("UPDATE audit_events SET action = 'x'"))


def test_edited_row_breaks_the_chain_and_the_cli_fails(app: Flask, session: Session, dialect: str) -> None:
    org = make_org(session, name="原名")
    make_org(session)
    session.commit()
    _disable_append_only(session, dialect)
    target = session.scalars(select(AuditEvent).where(AuditEvent.subject_id == str(org.id))).one()
    session.execute(
        text("UPDATE audit_events SET after = :after WHERE seq = :seq"),
        {"after": '{"name": "篡改"}', "seq": target.seq},
    )
    session.commit()
    session.expire_all()

    report = audit.verify_chain(session)
    assert not report.ok
    assert report.first_bad_seq == target.seq

    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"seq {target.seq}" in result.output


def test_deleted_last_row_is_detected(session: Session, dialect: str) -> None:
    make_org(session)
    session.commit()
    _disable_append_only(session, dialect)
    session.execute(text("DELETE FROM audit_events WHERE seq = (SELECT MAX(seq) FROM audit_events)"))
    report = audit.verify_chain(session)
    assert not report.ok
    assert report.problem == "events after the last stored one were deleted"


def test_payload_refuses_floats(session: Session) -> None:
    with pytest.raises(TypeError, match="floats"):
        audit.record(
            session,
            Actor.system(),
            "x.y",
            subject_type="x",
            subject_id=1,
            after={"amount": 1.5},
            now=clock.now(),
        )


def test_cli_reports_intact_chain(app: Flask, session: Session) -> None:
    make_org(session)
    session.commit()
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "audit chain intact" in result.output
