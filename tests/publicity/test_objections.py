"""The publicity period and its objections, through the services: lodging within and after the
period, who may object, the bureau's answers (sustained, partly sustained, dismissed), the
re-derivation a correction leads to, finality, messages and audit rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bidding import objections, opening, publicity
from bidding.models import BatchStatus, BidResult
from bidding.publicity_models import ObjectionStatus, ProposalStatus
from core.actors import OrgKind
from core.audit import AuditEvent
from core.errors import InvalidState, PermissionDenied, ValidationFailed
from core.messages import Message
from ledger.services import listings
from tests.factories import make_org
from tests.publicity.scenario import (
    DURING_PERIOD,
    PERIOD_ENDS,
    PROPOSED_AT,
    Scene,
    opened_world,
    proposed_scene,
)

ANSWERED_AT = DURING_PERIOD + timedelta(days=1)


@pytest.fixture
def scene(session: Session) -> Scene:
    return proposed_scene(session)


def _object(scene: Scene, name: str = "C", items: tuple[int, ...] = (0,), now=DURING_PERIOD):  # type: ignore[no-untyped-def]
    return objections.lodge_objection(
        scene.session,
        scene.actor(name),
        scene.current().id,
        item_ids=[scene.world.items[i].id for i in items],
        reasons="中选企业A的资质证明已过期 (A's certificate had expired)",
        now=now,
    )


def _exclude(scene: Scene, name: str, item_no: int = 0) -> dict[str, object]:
    return {
        "action": "exclude",
        "bid_id": scene.bid_of(name, item_no).id,
        "reason": "资质证明过期 (expired certificate)",
    }


def _messages(session: Session, kind: str) -> set[int]:
    return set(session.scalars(select(Message.org_id).where(Message.kind == kind)))


def _actions(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_opened_results_are_proposed_for_the_period_and_not_yet_published(scene: Scene) -> None:
    batch = scene.world.batch
    assert (batch.status, batch.published_at) == (BatchStatus.RESULTS_PROPOSED, None)
    assert (scene.proposal.seq, scene.proposal.status) == (1, ProposalStatus.PROPOSED)
    assert scene.proposal.period_ends_at == PERIOD_ENDS
    assert scene.winners() == ["企业A", "企业B"]
    bidders = {scene.maker(n).id for n in "ABC"}
    assert _messages(scene.session, "results_proposal") == bidders
    assert "proposal.propose" in _actions(scene.session)


def test_a_batch_rule_set_may_set_its_own_period_and_zero_days_is_final_at_once(session: Session) -> None:
    three = opened_world(session, publicity_days=3)
    opening.publish_results(session, three.bureau, three.batch.id, now=PROPOSED_AT, days=7)
    proposal = publicity.current_proposal(session, three.batch.id)
    assert proposal is not None
    assert proposal.period_ends_at == PROPOSED_AT + timedelta(days=3)
    at_once = opened_world(session)
    opening.publish_results(session, at_once.bureau, at_once.batch.id, now=PROPOSED_AT, days=0)
    assert (at_once.batch.status, at_once.batch.published_at) == (BatchStatus.RESULTS_PUBLISHED, PROPOSED_AT)
    (final,) = publicity.proposals_of(session, at_once.bureau, at_once.batch.id)
    assert (final.status, final.period_ends_at) == (ProposalStatus.FINAL, PROPOSED_AT)


def test_nothing_acts_on_proposed_results_before_they_are_final(scene: Scene) -> None:
    with pytest.raises(InvalidState):
        listings.create_vbp_listings(
            scene.session, scene.world.bureau, scene.world.batch.id, now=DURING_PERIOD
        )


def test_a_bidder_objects_within_the_period_and_the_objector_and_bureau_hear_of_it(scene: Scene) -> None:
    objection = _object(scene)
    assert (objection.status, objection.item_ids) == (ObjectionStatus.LODGED, [scene.world.items[0].id])
    assert _messages(scene.session, "objection_lodged") == {scene.maker("C").id, scene.world.bureau.org_id}
    assert _actions(scene.session)[-1] == "objection.lodge"


def test_an_objection_after_the_period_is_refused(scene: Scene) -> None:
    with pytest.raises(InvalidState) as refused:
        _object(scene, now=PERIOD_ENDS)
    assert refused.value.code == "publicity_period_over"
    assert "公示期已于" in refused.value.message


def test_only_bidders_of_the_batch_may_object_and_only_to_items_they_bid_on(scene: Scene) -> None:
    stranger = scene.world.actor(make_org(scene.session, OrgKind.MANUFACTURER, name="企业Z"))
    with pytest.raises(PermissionDenied):
        objections.lodge_objection(
            scene.session,
            stranger,
            scene.proposal.id,
            item_ids=[scene.world.items[0].id],
            reasons="x",
            now=DURING_PERIOD,
        )
    hospital = scene.world.actor(scene.world.hospitals[0])
    with pytest.raises(PermissionDenied):
        objections.lodge_objection(
            scene.session,
            hospital,
            scene.proposal.id,
            item_ids=[scene.world.items[0].id],
            reasons="x",
            now=DURING_PERIOD,
        )
    with pytest.raises(ValidationFailed) as wrong_item:
        _object(scene, "C", items=(1,))  # C did not bid on the second item
    assert "item_ids" in wrong_item.value.fields


def test_a_sustained_objection_re_derives_and_proposes_again_with_its_own_period(scene: Scene) -> None:
    session, first = scene.session, scene.proposal
    objection = _object(scene)
    objections.answer_objection(
        session,
        scene.world.bureau,
        objection.id,
        decision=ObjectionStatus.SUSTAINED,
        reasons="经核查，A的资质证明已过期 (checked: expired)",
        correction=[_exclude(scene, "A")],
        now=ANSWERED_AT,
        days=7,
    )
    second = scene.current()
    assert (first.status, first.decided_at) == (ProposalStatus.VOID, ANSWERED_AT)
    assert (second.seq, second.supersedes_id, objection.new_proposal_id) == (2, first.id, second.id)
    assert (second.period_starts_at, second.period_ends_at) == (ANSWERED_AT, ANSWERED_AT + timedelta(days=7))
    # A is out as ineligible: the winners come from B and C, and A's excluded bid says why.
    assert scene.winners(proposal=first) == ["企业A", "企业B"]
    assert scene.winners() == ["企业B", "企业C"]
    excluded = second.snapshot["items"][0]["excluded"]
    assert [(e["manufacturer_id"], e["reason"]) for e in excluded] == [
        (scene.maker("A").id, "资质证明过期 (expired certificate)")
    ]
    # The second item was not corrected and is derived as before.
    assert scene.winners(1, first) == scene.winners(1) == ["企业A", "企业B"]
    assert scene.world.batch.status is BatchStatus.RESULTS_PROPOSED
    assert _messages(session, "proposal_void") == {scene.maker(n).id for n in "ABC"}
    assert _messages(session, "objection_answered") == {scene.maker("C").id, scene.world.bureau.org_id}
    assert {"objection.answer", "batch.rederive", "proposal.void", "proposal.propose"} <= set(
        _actions(session)
    )
    # The old period's end no longer makes anything final; the new one's does.
    assert publicity.finalize_due(session, first.period_ends_at) == []
    assert publicity.finalize_due(session, second.period_ends_at) == [scene.world.batch.id]
    assert scene.world.batch.status is BatchStatus.RESULTS_PUBLISHED


def test_the_re_derivation_is_reproducible(scene: Scene) -> None:
    session, batch, item = scene.session, scene.world.batch, scene.world.items[0]
    assert opening.rederive_item(session, item.id) == []
    original = publicity.snapshot_of(session, batch)
    # The same inputs, derived again, give the same result.
    opening.rederive_items(session, batch, [item.id], excluded={})
    assert publicity.snapshot_of(session, batch) == original
    excluded = {scene.bid_of("A").id: "资质证明过期"}
    opening.rederive_items(session, batch, [item.id], excluded=excluded)
    corrected = publicity.snapshot_of(session, batch)
    opening.rederive_items(session, batch, [item.id], excluded=excluded)
    assert publicity.snapshot_of(session, batch) == corrected != original
    assert opening.rederive_item(session, item.id) == []
    prices = dict(session.execute(select(BidResult.bid_id, BidResult.pack_price_fen)).all())
    assert prices[scene.bid_of("A").id] == 2000  # a correction never touches a price


def test_a_partly_sustained_objection_corrects_only_what_it_upholds(scene: Scene) -> None:
    objection = _object(scene, "B", items=(0, 1))
    objections.answer_objection(
        scene.session,
        scene.world.bureau,
        objection.id,
        decision=ObjectionStatus.PARTLY_SUSTAINED,
        reasons="第一个品种成立，第二个品种不成立 (upheld for the first item only)",
        correction=[_exclude(scene, "A", 0)],
        now=ANSWERED_AT,
    )
    assert objection.status is ObjectionStatus.PARTLY_SUSTAINED
    assert scene.winners(0) == ["企业B", "企业C"]
    assert scene.winners(1) == ["企业A", "企业B"]
    assert scene.current().seq == 2


def test_a_later_sustained_objection_can_reinstate_an_excluded_bid(scene: Scene) -> None:
    first = _object(scene)
    bureau = scene.world.bureau
    objections.answer_objection(
        scene.session, bureau, first.id, decision=ObjectionStatus.SUSTAINED, reasons="成立",
        correction=[_exclude(scene, "A")], now=ANSWERED_AT,
    )  # fmt: skip
    again = _object(scene, "A", now=ANSWERED_AT + timedelta(days=1))
    objections.answer_objection(
        scene.session, bureau, again.id, decision=ObjectionStatus.SUSTAINED, reasons="A补交了有效证明",
        correction=[{"action": "reinstate", "bid_id": scene.bid_of("A").id, "reason": "证明有效"}],
        now=ANSWERED_AT + timedelta(days=2),
    )  # fmt: skip
    assert scene.current().seq == 3
    assert scene.winners() == ["企业A", "企业B"]
    assert scene.current().snapshot["items"][0]["excluded"] == []


def test_answers_need_reasons_and_a_sustained_one_its_correction(scene: Scene) -> None:
    objection = _object(scene)
    bureau = scene.world.bureau
    with pytest.raises(ValidationFailed) as no_reasons:
        objections.answer_objection(
            scene.session,
            bureau,
            objection.id,
            decision=ObjectionStatus.DISMISSED,
            reasons="  ",
            now=ANSWERED_AT,
        )
    assert "reasons" in no_reasons.value.fields
    with pytest.raises(ValidationFailed) as no_correction:
        objections.answer_objection(
            scene.session,
            bureau,
            objection.id,
            decision=ObjectionStatus.SUSTAINED,
            reasons="成立",
            now=ANSWERED_AT,
        )
    assert "correction" in no_correction.value.fields
    with pytest.raises(PermissionDenied):
        objections.answer_objection(
            scene.session,
            scene.actor("A"),
            objection.id,
            decision=ObjectionStatus.DISMISSED,
            reasons="x",
            now=ANSWERED_AT,
        )
    assert objection.status is ObjectionStatus.LODGED


def test_a_dismissed_objection_lets_the_period_run_out_to_finality(scene: Scene) -> None:
    session, batch = scene.session, scene.world.batch
    objection = _object(scene)
    objections.answer_objection(
        session, scene.world.bureau, objection.id, decision=ObjectionStatus.DISMISSED,
        reasons="资质证明在有效期内 (the certificate was valid)", now=ANSWERED_AT,
    )  # fmt: skip
    assert (objection.status, scene.current().id) == (ObjectionStatus.DISMISSED, scene.proposal.id)
    assert publicity.finalize_due(session, PERIOD_ENDS - timedelta(seconds=1)) == []
    assert batch.status is BatchStatus.RESULTS_PROPOSED
    assert publicity.finalize_due(session, PERIOD_ENDS) == [batch.id]
    assert (scene.proposal.status, batch.status, batch.published_at) == (
        ProposalStatus.FINAL,
        BatchStatus.RESULTS_PUBLISHED,
        PERIOD_ENDS,
    )
    assert publicity.finalize_due(session, PERIOD_ENDS + timedelta(days=1)) == []  # idempotent
    assert _messages(session, "results_final") == {scene.world.bureau.org_id}
    assert scene.maker("A").id in _messages(session, "batch_published")
    assert _actions(session)[-1] == "proposal.finalize"


def test_an_unanswered_objection_blocks_finality_even_after_the_end(scene: Scene) -> None:
    session, batch = scene.session, scene.world.batch
    objection = _object(scene)
    assert publicity.finalize_due(session, PERIOD_ENDS + timedelta(days=3)) == []
    with pytest.raises(InvalidState) as blocked:
        publicity.finalize_proposal(
            session, scene.world.bureau, scene.proposal.id, now=PERIOD_ENDS + timedelta(days=3)
        )
    assert blocked.value.code == "objections_open"
    assert batch.status is BatchStatus.RESULTS_PROPOSED
    objections.answer_objection(
        session, scene.world.bureau, objection.id, decision=ObjectionStatus.DISMISSED, reasons="不成立",
        now=PERIOD_ENDS + timedelta(days=4),
    )  # fmt: skip
    assert publicity.finalize_due(session, PERIOD_ENDS + timedelta(days=4)) == [batch.id]


def test_the_bureau_cannot_finalize_while_the_period_runs(scene: Scene) -> None:
    with pytest.raises(InvalidState) as running:
        publicity.finalize_proposal(scene.session, scene.world.bureau, scene.proposal.id, now=DURING_PERIOD)
    assert running.value.code == "publicity_period_running"
    publicity.finalize_proposal(scene.session, scene.world.bureau, scene.proposal.id, now=PERIOD_ENDS)
    assert scene.world.batch.status is BatchStatus.RESULTS_PUBLISHED


def test_an_objector_may_withdraw_before_the_answer_but_not_after(scene: Scene) -> None:
    objection = _object(scene)
    objections.withdraw_objection(scene.session, scene.actor("C"), objection.id, now=DURING_PERIOD)
    assert objection.status is ObjectionStatus.WITHDRAWN
    assert _messages(scene.session, "objection_withdrawn") == {scene.maker("C").id, scene.world.bureau.org_id}
    with pytest.raises(InvalidState):
        objections.answer_objection(
            scene.session, scene.world.bureau, objection.id, decision=ObjectionStatus.DISMISSED, reasons="x",
            now=ANSWERED_AT,
        )  # fmt: skip
    assert publicity.finalize_due(scene.session, PERIOD_ENDS) == [scene.world.batch.id]


def test_public_proposals_show_winners_and_prices_but_no_exclusions(scene: Scene) -> None:
    assert publicity.public_proposals(scene.session, PROPOSED_AT - timedelta(seconds=1)) == []
    objection = _object(scene)
    objections.answer_objection(
        scene.session, scene.world.bureau, objection.id, decision=ObjectionStatus.SUSTAINED, reasons="成立",
        correction=[_exclude(scene, "A")], now=ANSWERED_AT,
    )  # fmt: skip
    (shown,) = publicity.public_proposals(scene.session, ANSWERED_AT)
    assert (shown.batch_id, shown.seq, shown.period_ends_at) == (
        scene.world.batch.id,
        2,
        ANSWERED_AT + timedelta(days=7),
    )
    first = shown.items[0]
    assert set(first) == {"item_id", "generic_name", "winners"}
    assert [(w["manufacturer"], w["unit_price"]) for w in first["winners"]] == [
        ("企业B", "0.3000"),
        ("企业C", "0.3300"),
    ]
    publicity.finalize_due(scene.session, shown.period_ends_at)
    assert publicity.public_proposals(scene.session, shown.period_ends_at) == []
