"""The publicity period over HTTP, the CLI and the scheduler: proposing with the configured period,
objections with Idempotency-Key and attachments (sniffed, size-limited), the answer, who sees what,
finality refused early and done by `flask batch finalize-due` and by the job."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.scheduler import JOBS, JobContext
from bidding.models import BatchStatus
from core.actors import OrgKind, Role
from core.organizations import Organization, User
from tests.api.test_tendering import Api, Clock
from tests.factories import make_org, make_user
from tests.publicity.scenario import DAYS, opened_world
from tests.tendering import AT_OPENING, SEALING_KEY, World

PROPOSED_AT = AT_OPENING + timedelta(hours=2)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def clock_at(monkeypatch: pytest.MonkeyPatch) -> Clock:
    state = {"now": PROPOSED_AT}
    monkeypatch.setattr("core.clock.now", lambda: state["now"])
    return lambda value: state.update(now=value)


@pytest.fixture
def seven_days(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app.config["VBP"], "publicity_days", DAYS)


def _user(session: Session, org_id: int | None) -> User:
    return make_user(session, session.get_one(Organization, org_id), Role.OPERATOR)


@pytest.fixture
def proposed(
    client: FlaskClient, session: Session, clock_at: Clock, seven_days: None
) -> tuple[Api, World, dict[str, User]]:
    world = opened_world(session)
    users = {name: _user(session, org.id) for name, org in world.manufacturers.items()}
    users["bureau"] = _user(session, world.bureau.org_id)
    users["hospital"] = _user(session, world.hospitals[0].id)
    users["stranger"] = _user(session, make_org(session, OrgKind.MANUFACTURER, name="企业Z").id)
    api = Api(client, session)
    clock_at(PROPOSED_AT)
    api.as_(users["bureau"]).call("POST", f"/api/v1/batches/{world.batch.id}/publish", 200)
    return api, world, users


def _proposal(api: Api, world: World) -> dict[str, Any]:
    return api.call("GET", f"/api/v1/batches/{world.batch.id}/proposals", 200).get_json()[-1]


def test_an_objection_lodged_attached_answered_and_the_new_proposal_over_http(
    proposed, clock_at: Clock
) -> None:  # type: ignore[no-untyped-def]
    api, world, users = proposed
    first = _proposal(api.as_(users["hospital"]), world)
    assert (first["status"], first["seq"]) == ("proposed", 1)
    assert first["period_ends_at"].startswith((PROPOSED_AT + timedelta(days=DAYS)).date().isoformat())
    assert [w["manufacturer"] for w in first["snapshot"]["items"][0]["winners"]] == ["企业A", "企业B"]
    item = world.items[0].id
    clock_at(PROPOSED_AT + timedelta(days=1))
    body = {"item_ids": [item], "reasons": "A的资质证明已过期"}
    url = f"/api/v1/proposals/{first['id']}/objections"
    headers = {**api.as_(users["C"]).headers[users["C"].id], "Idempotency-Key": "objection-1"}
    lodged = api.client.post(url, json=body, headers=headers)
    replay = api.client.post(url, json=body, headers=headers)
    assert (lodged.status_code, replay.status_code) == (201, 201), lodged.get_data(as_text=True)
    assert replay.headers.get("Idempotent-Replayed") == "true"
    objection = lodged.get_json()
    assert replay.get_json()["id"] == objection["id"]
    files = f"/api/v1/objections/{objection['id']}/attachments"
    attached = api.call("POST", files, 201, data={"file": (io.BytesIO(PDF), "证明.pdf")}).get_json()
    assert (attached["content_type"], attached["filename"]) == ("application/pdf", "证明.pdf")
    api.call("POST", files, 415, data={"file": (io.BytesIO(b"MZ\x90\x00 not a document"), "x.pdf")})
    api.call("POST", files, 422, data={"file": (io.BytesIO(PDF), "证明.png")})
    # Only the objector and the bureau see the objection and its attachments.
    api.as_(users["A"]).call("GET", f"/api/v1/objections/{objection['id']}", 404)
    api.as_(users["hospital"]).call("GET", f"/api/v1/objections/{objection['id']}", 403)
    got = api.as_(users["bureau"]).call("GET", f"{files}/{attached['id']}", 200)
    assert got.data == PDF
    bid_a = next(
        r["bid_id"]
        for r in api.call("GET", f"/api/v1/batches/{world.batch.id}/results", 200).get_json()["bids"]
        if r["manufacturer_id"] == world.manufacturers["A"].id and r["item_id"] == item
    )
    clock_at(PROPOSED_AT + timedelta(days=2))
    answer = {
        "decision": "sustained",
        "reasons": "经核查成立",
        "correction": [{"action": "exclude", "bid_id": bid_a, "reason": "资质证明过期"}],
    }
    answered = api.call("POST", f"/api/v1/objections/{objection['id']}/answer", 200, json=answer).get_json()
    assert answered["status"] == "sustained"
    proposals = api.call("GET", f"/api/v1/batches/{world.batch.id}/proposals", 200).get_json()
    assert [(p["seq"], p["status"]) for p in proposals] == [(1, "void"), (2, "proposed")]
    assert answered["new_proposal_id"] == proposals[1]["id"]
    assert [w["manufacturer"] for w in proposals[1]["snapshot"]["items"][0]["winners"]] == ["企业B", "企业C"]
    # The excluded bid and its reason are shown to the bureau and to A, not to other bidders.
    assert proposals[1]["snapshot"]["items"][0]["excluded"][0]["reason"] == "资质证明过期"
    seen_by_a = api.as_(users["A"]).call("GET", f"/api/v1/proposals/{proposals[1]['id']}", 200).get_json()
    assert len(seen_by_a["snapshot"]["items"][0]["excluded"]) == 1
    seen_by_c = api.as_(users["C"]).call("GET", f"/api/v1/proposals/{proposals[1]['id']}", 200).get_json()
    assert seen_by_c["snapshot"]["items"][0]["excluded"] == []
    assert api.call("GET", "/api/v1/objections", 200).get_json()[0]["status"] == "sustained"


def test_late_objections_non_bidders_and_early_finality_are_refused_over_http(
    proposed, clock_at: Clock
) -> None:  # type: ignore[no-untyped-def]
    api, world, users = proposed
    first = _proposal(api.as_(users["bureau"]), world)
    body = {"item_ids": [world.items[0].id], "reasons": "理由"}
    url = f"/api/v1/proposals/{first['id']}/objections"
    api.as_(users["stranger"]).call("POST", url, 403, json=body)
    api.as_(users["hospital"]).call("POST", url, 403, json=body)
    api.as_(users["bureau"]).call("POST", f"/api/v1/proposals/{first['id']}/finalize", 409)
    clock_at(PROPOSED_AT + timedelta(days=DAYS))
    late = api.as_(users["B"]).call("POST", url, 409, json=body).get_json()
    assert late["error"]["code"] == "publicity_period_over"
    final = api.as_(users["bureau"]).call("POST", f"/api/v1/proposals/{first['id']}/finalize", 200).get_json()
    assert final["status"] == "final"
    world.session.refresh(world.batch)
    assert world.batch.status is BatchStatus.RESULTS_PUBLISHED


def test_the_cli_and_the_job_make_due_results_final(
    proposed, app: Flask, session: Session, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    _, world, _ = proposed
    runner = app.test_cli_runner()
    early = runner.invoke(args=["batch", "finalize-due", "--at", "2026-03-12T12:00"])
    assert early.exit_code == 0, early.output
    assert "无 (none)" in early.output
    ends = PROPOSED_AT + timedelta(days=DAYS)
    ctx = JobContext(app.config["VBP"], tmp_path, lambda: SEALING_KEY)
    assert JOBS["finalize_publicity"].run(session, ends - timedelta(minutes=1), ctx) == {
        "finalized_batches": []
    }
    done = runner.invoke(args=["batch", "finalize-due", "--at", "2026-03-30T12:00"])
    assert done.exit_code == 0, done.output
    assert str(world.batch.id) in done.output
    session.expire_all()
    assert world.batch.status is BatchStatus.RESULTS_PUBLISHED
