"""Messages and notices through the HTTP API: an order placed over the API reaches the
distributor's inbox, read state is per user, other organizations' ids answer 404, and notices
are written and published by the bureau only."""

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.actors import OrgKind, Role
from core.organizations import User
from tests.factories import actor_of, bearer, make_org, make_user
from tests.ordering import NOW, Market, make_market


@pytest.fixture
def market(session: Session, monkeypatch: pytest.MonkeyPatch) -> Market:
    monkeypatch.setattr("core.clock.now", lambda: NOW)
    return make_market(session)


def _headers(session: Session, actor: Any) -> dict[str, str]:
    return bearer(session, session.get_one(User, actor.user_id))


def _place(client: FlaskClient, session: Session, market: Market) -> int:
    body = {
        "distributor_id": market.distributor.id,
        "lines": [{"listing_id": market.listing.id, "quantity": 3}],
    }
    placed = client.post("/api/v1/orders", json=body, headers=_headers(session, market.hospital_actor))
    assert placed.status_code == 201, placed.get_json()
    return int(placed.get_json()["id"])


def test_an_order_placed_reaches_the_distributor_unread_then_read(
    client: FlaskClient, session: Session, market: Market
) -> None:
    order_id = _place(client, session, market)
    headers = _headers(session, market.distributor_actor)
    unread = client.get("/api/v1/messages?unread=true", headers=headers)
    assert unread.status_code == 200
    [message] = unread.get_json()
    assert (message["kind"], message["link_kind"], message["link_id"], message["read_at"]) == (
        "order_received",
        "order",
        order_id,
        None,
    )
    read = client.post(f"/api/v1/messages/{message['id']}/read", headers=headers)
    assert read.status_code == 200
    assert read.get_json()["read_at"] is not None
    assert client.get("/api/v1/messages?unread=true", headers=headers).get_json() == []
    colleague = make_user(session, market.distributor, Role.AUDITOR)
    theirs = client.get("/api/v1/messages?unread=true", headers=_headers(session, actor_of(colleague)))
    assert [m["id"] for m in theirs.get_json()] == [message["id"]]
    marked = client.post("/api/v1/messages/read-all", headers=_headers(session, actor_of(colleague)))
    assert marked.get_json() == {"marked": 1}


def test_another_organizations_message_answers_404(
    client: FlaskClient, session: Session, market: Market
) -> None:
    _place(client, session, market)
    [message] = client.get("/api/v1/messages", headers=_headers(session, market.distributor_actor)).get_json()
    stranger = make_user(session, market.stranger_distributor, Role.OPERATOR)
    answer = client.post(
        f"/api/v1/messages/{message['id']}/read", headers=_headers(session, actor_of(stranger))
    )
    assert answer.status_code == 404
    assert client.get("/api/v1/messages", headers=_headers(session, actor_of(stranger))).get_json() == []


def test_the_bureau_publishes_a_notice_that_a_hospital_then_reads(
    client: FlaskClient, session: Session
) -> None:
    bureau = _headers(session, actor_of(make_user(session, make_org(session, OrgKind.BUREAU), Role.OPERATOR)))
    hospital = _headers(session, actor_of(make_user(session, make_org(session, OrgKind.HOSPITAL))))
    created = client.post(
        "/api/v1/notices",
        json={"title": "关于执行第十批集采结果的通知", "body": "各医疗机构："},
        headers=bureau,
    )
    assert created.status_code == 201, created.get_json()
    notice_id = created.get_json()["id"]
    assert created.get_json()["status"] == "draft"
    assert client.get(f"/api/v1/notices/{notice_id}", headers=hospital).status_code == 404
    assert client.post(f"/api/v1/notices/{notice_id}/publish", headers=hospital).status_code == 403
    published = client.post(f"/api/v1/notices/{notice_id}/publish", headers=bureau)
    assert published.get_json()["status"] == "published"
    assert client.post(f"/api/v1/notices/{notice_id}/publish", headers=bureau).status_code == 409
    listed = client.get("/api/v1/notices", headers=hospital).get_json()
    assert [(n["id"], n["title"]) for n in listed] == [(notice_id, "关于执行第十批集采结果的通知")]
    client.post(f"/api/v1/notices/{notice_id}/withdraw", headers=bureau)
    assert client.get("/api/v1/notices", headers=hospital).get_json() == []


def test_a_notice_without_a_title_names_the_field(client: FlaskClient, session: Session) -> None:
    bureau = _headers(session, actor_of(make_user(session, make_org(session, OrgKind.BUREAU), Role.OPERATOR)))
    answer = client.post("/api/v1/notices", json={"body": "x"}, headers=bureau)
    assert answer.status_code == 422
    assert "title" in answer.get_json()["error"]["fields"]
