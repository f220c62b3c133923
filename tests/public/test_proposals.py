"""Proposed results in their publicity period (公示) are public without login: winners, prices,
regions and the period's end; never the excluded bids, objections or reasons. A void proposal
disappears with its replacement shown; a final one leaves the list for the batch's own page."""

from __future__ import annotations

import json

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.public.guard import CACHE
from bidding import objections, publicity
from bidding.publicity_models import ObjectionStatus
from tests.publicity.scenario import DURING_PERIOD, proposed_scene


def _api(visitor: FlaskClient, app: Flask) -> dict:  # type: ignore[type-arg]
    app.extensions[CACHE].clear()
    answer = visitor.get("/api/v1/public/proposals")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


def test_a_proposal_is_public_during_its_period_and_its_corrections_are_not(
    app: Flask, visitor: FlaskClient, session: Session
) -> None:
    scene = proposed_scene(session)
    session.commit()
    first = _api(visitor, app)
    assert first["total"] == 1
    shown = first["items"][0]
    assert (shown["batch_name"], shown["seq"]) == (scene.world.batch.name, 1)
    item = shown["items"][0]
    assert [w["manufacturer"] for w in item["winners"]] == scene.winners()
    snapshot_winner = scene.proposal.snapshot["items"][0]["winners"][0]
    assert item["winners"][0]["unit_price"] == snapshot_winner["unit_price"]
    assert item["winners"][0]["pack_price"] == snapshot_winner["pack_price"]
    page = visitor.get("/public/proposals").get_data(as_text=True)
    assert scene.world.batch.name in page
    assert snapshot_winner["unit_price"] in page

    # A sustained objection: the first proposal is void, the second is shown; the objection, its
    # reasons and the excluded bid are not.
    objection = objections.lodge_objection(
        session,
        scene.actor("C"),
        scene.current().id,
        item_ids=[scene.world.items[0].id],
        reasons="异议理由不公开 (objection reasons stay private)",
        now=DURING_PERIOD,
    )
    objections.answer_objection(
        session,
        scene.world.bureau,
        objection.id,
        decision=ObjectionStatus.SUSTAINED,
        reasons="答复理由不公开 (answer reasons stay private)",
        correction=[{"action": "exclude", "bid_id": scene.bid_of("A").id, "reason": "排除理由不公开"}],
        now=DURING_PERIOD,
        days=7,
    )
    session.commit()
    second = _api(visitor, app)
    assert [p["seq"] for p in second["items"]] == [2]
    assert [w["manufacturer"] for w in second["items"][0]["items"][0]["winners"]] == scene.winners()
    body = json.dumps(second, ensure_ascii=False) + visitor.get("/public/proposals").get_data(as_text=True)
    private_words = ("异议理由不公开", "答复理由不公开", "排除理由不公开")
    private_words += ("bid_id", "manufacturer_id", "excluded")
    for private in private_words:
        assert private not in body, private

    # Final: the proposal leaves the list and the batch's own public page appears.
    assert publicity.finalize_due(session, scene.current().period_ends_at) == [scene.world.batch.id]
    session.commit()
    assert _api(visitor, app)["total"] == 0
    assert visitor.get(f"/public/batches/{scene.world.batch.id}").status_code == 200


def test_a_bad_page_size_is_a_400_naming_it(visitor: FlaskClient) -> None:
    answer = visitor.get("/api/v1/public/proposals?page_size=0")
    assert answer.status_code == 400
    assert "page_size" in answer.get_data(as_text=True)
