"""The warning engine (ledger/supervision/warnings.py): one live warning per rule × subject, the
daily computation's idempotency, clearing and recurrence, the state table, who sees and answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.actors import Actor, OrgKind, Role
from core.audit import AuditEvent
from core.errors import InvalidState, NotFound, PermissionDenied, ValidationFailed
from ledger.supervision import warnings as engine
from ledger.supervision.models import Severity, SupervisionWarning, WarningState
from ledger.supervision.settings import DEFAULTS
from tests.factories import actor_of, make_org, make_user

NOW = datetime(2026, 9, 1, 2, 0, tzinfo=UTC)
RULE = "engine_test"


class Parties:
    def __init__(self, session: Session) -> None:
        self.hospital = make_org(session, OrgKind.HOSPITAL)
        self.other = make_org(session, OrgKind.HOSPITAL)
        self.bureau_org = make_org(session, OrgKind.BUREAU)
        self.hospital_actor = actor_of(make_user(session, self.hospital, Role.OPERATOR))
        self.other_actor = actor_of(make_user(session, self.other, Role.OPERATOR))
        self.bureau = actor_of(make_user(session, self.bureau_org, Role.OPERATOR))
        #: The subjects the fake rule finds today.
        self.found: list[int] = []


@pytest.fixture
def parties(session: Session, monkeypatch: pytest.MonkeyPatch) -> Parties:
    p = Parties(session)

    def compute(_s: Session, _now: datetime, _settings: object) -> list[engine.Finding]:
        return [
            engine.Finding("thing", i, p.hospital.id, "510104", Severity.MEDIUM, value=str(i), threshold="1")
            for i in p.found
        ]

    monkeypatch.setitem(engine.RULES, RULE, engine.Rule(RULE, "测试 (test)", True, compute))
    return p


def _run(session: Session, now: datetime = NOW) -> engine.ComputeSummary:
    return engine.compute_warnings(session, now=now, settings=DEFAULTS, rules=[RULE])


def _all(session: Session) -> list[SupervisionWarning]:
    return list(
        session.scalars(
            select(SupervisionWarning).where(SupervisionWarning.rule == RULE).order_by(SupervisionWarning.id)
        )
    )


def test_the_same_day_twice_creates_nothing_new(session: Session, parties: Parties) -> None:
    parties.found = [1, 2]
    assert _run(session).raised == {RULE: 2}
    events = session.scalar(select(func.count()).select_from(AuditEvent))
    assert _run(session).raised == {RULE: 0}
    assert len(_all(session)) == 2
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == events


def test_the_next_day_moves_last_seen_only(session: Session, parties: Parties) -> None:
    parties.found = [1]
    _run(session)
    _run(session, NOW + timedelta(days=1))
    (warning,) = _all(session)
    assert (warning.first_seen_on, warning.last_seen_on) == (NOW.date(), NOW.date() + timedelta(days=1))


def test_a_cleared_subject_is_resolved_and_a_recurrence_is_a_new_record(
    session: Session, parties: Parties
) -> None:
    parties.found = [1, 2]
    _run(session)
    parties.found = [2]
    assert _run(session, NOW + timedelta(days=1)).cleared == {RULE: 1}
    first, second = _all(session)
    assert (first.state, first.live_key, first.resolved_by) == (WarningState.RESOLVED, None, None)
    assert first.resolution_note
    assert second.state is WarningState.RAISED
    parties.found = [1, 2]
    _run(session, NOW + timedelta(days=2))
    records = _all(session)
    assert len(records) == 3
    assert records[2].subject_key == first.subject_key
    assert records[2].state is WarningState.RAISED


def test_the_state_table_refuses_illegal_moves(session: Session, parties: Parties) -> None:
    parties.found = [1]
    _run(session)
    (warning,) = _all(session)
    engine.acknowledge(session, parties.bureau, warning.id, now=NOW)
    with pytest.raises(InvalidState):
        engine.acknowledge(session, parties.bureau, warning.id, now=NOW)
    engine.resolve(session, parties.bureau, warning.id, note="已约谈 (talked to them)", now=NOW)
    with pytest.raises(InvalidState):
        engine.resolve(session, parties.bureau, warning.id, note="again", now=NOW)
    with pytest.raises(InvalidState):
        engine.answer(session, parties.hospital_actor, warning.id, text="late", now=NOW)


def test_a_party_sees_and_answers_only_its_own(session: Session, parties: Parties) -> None:
    parties.found = [1]
    _run(session)
    (warning,) = _all(session)
    assert session.scalars(engine.warnings_visible_to(parties.other_actor)).all() == []
    with pytest.raises(NotFound):
        engine.get_warning(session, parties.other_actor, warning.id)
    with pytest.raises(NotFound):
        engine.answer(session, parties.other_actor, warning.id, text="not mine", now=NOW)
    with pytest.raises(PermissionDenied):
        engine.answer(session, parties.bureau, warning.id, text="bureau", now=NOW)
    with pytest.raises(PermissionDenied):
        engine.acknowledge(session, parties.hospital_actor, warning.id, now=NOW)
    engine.answer(session, parties.hospital_actor, warning.id, text="已补货 (restocked)", now=NOW)
    assert warning.answer == "已补货 (restocked)"
    assert engine.get_warning(session, Actor.system(), warning.id) is warning


def test_resolve_needs_a_note(session: Session, parties: Parties) -> None:
    parties.found = [1]
    _run(session)
    (warning,) = _all(session)
    for note in (None, "", "   ", "x" * 1001):
        with pytest.raises(ValidationFailed) as err:
            engine.resolve(session, parties.bureau, warning.id, note=note, now=NOW)
        assert "note" in err.value.fields
    assert warning.state is WarningState.RAISED


def test_an_unknown_rule_is_refused(session: Session, parties: Parties) -> None:
    with pytest.raises(ValidationFailed):
        engine.compute_warnings(session, now=NOW, settings=DEFAULTS, rules=["no_such_rule"])
