"""Migration 0025: a single-chain audit trail of 0024 becomes lane 0 and verifies unchanged; the
append-only triggers survive; downgrade works while only lane 0 is used and refuses otherwise."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DatabaseError
from sqlalchemy.orm import Session

from app.cli import alembic_config
from core import audit
from core.actors import Actor, OrgKind, Role
from core.audit import GENESIS_HASH, AuditEvent, _digest
from tests.conftest import Databases

AT = dt.datetime(2026, 11, 30, 4, 0, tzinfo=dt.UTC)


def _old_chain(url: str, n: int) -> str:
    """n events written as 0024 wrote them (one chain, one head row); the last hash."""
    engine = create_engine(url)
    prev = GENESIS_HASH
    with engine.begin() as conn:
        for seq in range(1, n + 1):
            event = AuditEvent(
                seq=seq, lane=0, at=AT, actor_user_id=None, actor_org_id=seq, actor_role="operator",
                action="old.event", subject_type="thing", subject_id=str(seq), subject_org_id=seq,
                before=None, after={"n": seq}, prev_hash=prev, suite="standard",
            )  # fmt: skip
            prev = _digest(event)
            conn.execute(
                text(
                    "INSERT INTO audit_events (seq, at, actor_org_id, actor_role, action, subject_type, "
                    "subject_id, subject_org_id, after, prev_hash, hash, suite) VALUES (:seq, :at, :org, "
                    "'operator', 'old.event', 'thing', :sid, :org, :after, :prev, :hash, 'standard')"
                ),
                {
                    "seq": seq, "at": AT if conn.dialect.name == "postgresql" else AT.replace(tzinfo=None),
                    "org": seq, "sid": str(seq), "after": f'{{"n": {seq}}}', "prev": event.prev_hash,
                    "hash": prev,
                },
            )  # fmt: skip
        conn.execute(text("UPDATE audit_chain_head SET seq = :n, last_hash = :h"), {"n": n, "h": prev})
    engine.dispose()
    return prev


def test_an_old_chain_becomes_lane_0_and_still_verifies_and_downgrades_back(databases: Databases) -> None:
    url = databases.new()
    cfg = alembic_config(url)
    command.upgrade(cfg, "0024")
    last = _old_chain(url, 5)
    command.upgrade(cfg, "head")
    engine = create_engine(url)
    try:
        with Session(engine) as session:
            assert audit.lane_heads(session)[0] == (0, 5, last)
            assert len(audit.lane_heads(session)) == 16
            report = audit.verify_chain(session)
            assert (report.ok, report.checked) == (True, 5)
            with pytest.raises(DatabaseError, match="append-only"):  # the triggers survived
                session.execute(text("UPDATE audit_events SET action = 'x'"))
            session.rollback()
            system = audit.record(
                session, Actor.system(), "new.event", subject_type="t", subject_id=1, now=AT
            )
            assert (system.lane, system.seq, system.prev_hash) == (0, 6, last)
            session.commit()
        command.downgrade(cfg, "0024")  # only lane 0 used: fine, the head carries over
        with engine.connect() as conn:
            assert conn.execute(text("SELECT seq FROM audit_chain_head")).scalar() == 6
        command.upgrade(cfg, "head")
        with Session(engine) as session:
            org = next(o for o in range(1, 99) if audit.lane_for(o, 16))
            actor = Actor(user_id=None, org_id=org, org_kind=OrgKind.HOSPITAL, role=Role.OPERATOR)
            audit.record(session, actor, "new.event", subject_type="t", subject_id=2, now=AT)
            session.commit()
            assert audit.verify_chain(session).ok
        with pytest.raises(RuntimeError, match="hold events"):
            command.downgrade(cfg, "0024")
    finally:
        engine.dispose()
