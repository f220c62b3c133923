"""The agreement's transition table: every state can end, either party may sign first, and a
signature tells the other party."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.errors import InvalidState
from core.glossary import term
from core.messages import Message
from ledger.contracts.models import AgreementStatus
from ledger.contracts.states import AGREEMENT, after_signature
from reports import agreement_signing
from reports.agreement_signing import Pki
from tests.agreements.conftest import NOW, Scene

A = AgreementStatus


def test_every_state_can_reach_an_end_and_has_words() -> None:
    assert AGREEMENT.dead_ends() == []
    assert AGREEMENT.terminal == {A.SUPERSEDED, A.TERMINATED}
    for state in A:
        assert AGREEMENT.label(state) == term(state) != state.value


@pytest.mark.parametrize(
    ("current", "party", "target"),
    [
        (A.GENERATED, "hospital", A.SIGNED_BY_HOSPITAL),
        (A.GENERATED, "enterprise", A.SIGNED_BY_ENTERPRISE),
        (A.SIGNED_BY_HOSPITAL, "enterprise", A.SIGNED),
        (A.SIGNED_BY_ENTERPRISE, "hospital", A.SIGNED),
    ],
)
def test_either_party_signs_first(current: A, party: str, target: A) -> None:
    assert after_signature(current, party) is target
    assert AGREEMENT.allows(current, target)


def test_a_superseded_agreement_cannot_be_signed_or_ended_again() -> None:
    for target in A:
        with pytest.raises(InvalidState):
            AGREEMENT.check(A.SUPERSEDED, target)


def test_the_other_party_hears_of_each_signature(scene: Scene, keys: Pki) -> None:
    agreement = agreement_signing.generate(scene.session, scene.bureau, scene.world.batch.id, now=NOW)[0]
    agreement_signing.sign(
        scene.session, scene.party(agreement.hospital_id), agreement.id, keys=keys, now=NOW
    )
    agreement_signing.sign(
        scene.session, scene.party(agreement.manufacturer_id), agreement.id, keys=keys, now=NOW
    )
    scene.session.flush()
    kinds = scene.session.execute(
        select(Message.org_id, Message.kind)
        .where(Message.link_kind == "procurement_agreement", Message.link_id == agreement.id)
        .order_by(Message.id)
    ).all()
    assert [tuple(k) for k in kinds] == [
        (agreement.hospital_id, "agreement_generated"),
        (agreement.manufacturer_id, "agreement_generated"),
        (agreement.manufacturer_id, "agreement_to_sign"),
        (agreement.hospital_id, "agreement_signed"),
    ]
