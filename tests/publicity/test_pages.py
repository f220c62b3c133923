"""The publicity pages (Chinese first): a bidder sees the proposal and lodges an objection with an
attachment; the bureau sees it and sustains it with a correction; both see the new proposal and
the answer; the bureau cannot make the results final while the period runs."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from bidding import publicity
from bidding.publicity_models import Objection, ObjectionStatus
from core.actors import Role
from core.organizations import Organization
from tests.factories import make_user
from tests.publicity.scenario import DURING_PERIOD, proposed_scene
from tests.web.test_pages import csrf, web_login

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def at_period(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("core.clock.now", lambda: DURING_PERIOD)
    monkeypatch.setattr(app.config["VBP"], "publicity_days", 7)


def test_a_bidder_objects_on_the_page_and_the_bureau_sustains_it(
    app: Flask, session: Session, at_period: None
) -> None:
    scene = proposed_scene(session)
    batch = scene.world.batch
    bidder = make_user(session, scene.maker("C"), Role.OPERATOR)
    bureau = make_user(session, session.get_one(Organization, scene.world.bureau.org_id), Role.OPERATOR)
    session.commit()

    c = app.test_client()
    web_login(c, bidder.username)
    page = c.get(f"/enterprise/batches/{batch.id}/publicity").get_data(as_text=True)
    assert "拟中选结果（第 1 次公示）" in page
    assert "企业A" in page
    assert "提出异议" in page
    form = {
        "csrf_token": csrf(c),
        "item_ids": str(scene.world.items[0].id),
        "reasons": "A的资质证明已过期",
        "file": (io.BytesIO(PDF), "证明.pdf"),
    }
    sent = c.post(f"/enterprise/proposals/{scene.proposal.id}/objections", data=form)
    assert sent.status_code == 302
    objection = session.scalars(select(Objection)).one()
    assert (objection.status, [a.filename for a in objection.attachments]) == (
        ObjectionStatus.LODGED,
        ["证明.pdf"],
    )

    b = app.test_client()
    web_login(b, bureau.username)
    page = b.get(f"/bureau/batches/{batch.id}/publicity").get_data(as_text=True)
    assert "A的资质证明已过期" in page
    assert "证明.pdf" in page
    link = f"/api/v1/objections/{objection.id}/attachments/{objection.attachments[0].id}"
    assert link in page
    assert b.get(link).data == PDF  # the page's cookie session reads the API's file
    early = b.post(f"/bureau/proposals/{scene.proposal.id}/finalize", data={"csrf_token": csrf(b)})
    assert early.status_code == 302
    answer = {
        "csrf_token": csrf(b),
        "decision": "sustained",
        "reasons": "经核查成立",
        "action": "exclude",
        "bid_id": str(scene.bid_of("A").id),
        "correction_reason": "资质证明过期",
    }
    assert b.post(f"/bureau/objections/{objection.id}/answer", data=answer).status_code == 302
    session.expire_all()
    assert publicity.current_proposal(session, batch.id).seq == 2  # type: ignore[union-attr]
    page = b.get(f"/bureau/batches/{batch.id}/publicity").get_data(as_text=True)
    assert "拟中选结果（第 2 次公示）" in page
    assert "资质证明过期" in page
    assert "历次公示" in page
    seen = c.get(f"/enterprise/batches/{batch.id}/publicity").get_data(as_text=True)
    assert "经核查成立" in seen
    assert "异议成立" in seen
