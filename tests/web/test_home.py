"""The 待办 home, messages and notices as pages: deadlines with the time left, a delivery message
that lands on its order and leaves the unread count, another organization's message answering
404, and a notice the bureau writes and publishes that a hospital reads."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actors import OrgKind, Role
from core.messages import Message
from core.notices import Notice, NoticeStatus
from ledger.models import Order
from tests.factories import make_org, make_user
from tests.ordering import NOW, make_market
from tests.web.test_pages import csrf, web_login


@pytest.fixture
def clock_at(monkeypatch: pytest.MonkeyPatch) -> Any:
    state = {"now": NOW}
    monkeypatch.setattr("core.clock.now", lambda: state["now"])

    def set_to(when: Any) -> None:
        state["now"] = when

    return set_to


def _badge(html: str) -> int:
    found = re.search(r'class="nav-messages">[^<]*(?:<span class="badge"[^>]*>(\d+)</span>)?', html)
    assert found is not None
    return int(found.group(1) or 0)


def test_the_home_shows_a_delivery_deadline_with_the_time_left_then_overdue(
    app: Flask, session: Session, clock_at: Any
) -> None:
    market = make_market(session)
    order: Any = market.order(10)
    deadline_at = session.get_one(Order, order.id).deadline_at
    user = make_user(session, market.hospital, Role.OPERATOR)
    session.commit()
    clock_at(deadline_at - timedelta(hours=5, minutes=30))
    client = app.test_client()
    web_login(client, user.username)
    home = client.get("/").get_data(as_text=True)
    assert 'data-deadline="delivery_deadline"' in home
    assert f'href="/orders/{order.id}"' in home
    assert "剩余 5 小时 30 分钟" in home
    clock_at(deadline_at + timedelta(days=2, hours=3))
    web_login(client, user.username)  # a new day, a new login (sessions expire when idle)
    home = client.get("/").get_data(as_text=True)
    assert "已逾期 2 天 3 小时" in home
    assert "1 项已逾期" in home


def test_a_delivery_reaches_the_hospital_and_opening_it_lands_on_the_order(
    app: Flask, session: Session, clock_at: Any
) -> None:
    market = make_market(session)
    order: Any = market.order(10)
    user = make_user(session, market.hospital, Role.OPERATOR)
    colleague = make_user(session, market.hospital, Role.AUDITOR)
    session.commit()
    client = app.test_client()
    web_login(client, user.username)
    before = _badge(client.get("/").get_data(as_text=True))
    market.accept_and_ship(order.id, 10)
    session.commit()
    page = client.get("/messages").get_data(as_text=True)
    assert _badge(page) == before + 2  # accepted, then shipped
    arrived = session.scalars(
        select(Message).where(Message.org_id == market.hospital.id, Message.kind == "delivery_arrived")
    ).one()
    assert "配送已到达，待验收" in page
    opened = client.get(f"/messages/{arrived.id}")
    assert (opened.status_code, opened.headers["Location"]) == (302, f"/orders/{order.id}")
    assert _badge(client.get("/messages").get_data(as_text=True)) == before + 1
    # Read for this user only: the colleague still has it unread.
    other = app.test_client()
    web_login(other, colleague.username)
    assert _badge(other.get("/").get_data(as_text=True)) == before + 2
    marked = other.post("/messages/read-all", data={"csrf_token": csrf(other)}, follow_redirects=True)
    assert _badge(marked.get_data(as_text=True)) == 0


def test_another_organizations_message_answers_404(app: Flask, session: Session, clock_at: Any) -> None:
    market = make_market(session)
    market.order(10)
    theirs = session.scalars(select(Message).where(Message.org_id == market.distributor.id)).one()
    stranger = make_user(session, market.stranger_distributor, Role.OPERATOR)
    session.commit()
    client = app.test_client()
    web_login(client, stranger.username)
    assert client.get(f"/messages/{theirs.id}").status_code == 404
    assert "暂无消息" in client.get("/messages").get_data(as_text=True)


def test_the_bureau_writes_and_publishes_a_notice_that_a_hospital_reads(app: Flask, session: Session) -> None:
    bureau = make_user(session, make_org(session, OrgKind.BUREAU), Role.OPERATOR)
    hospital = make_user(session, make_org(session, OrgKind.HOSPITAL), Role.OPERATOR)
    session.commit()
    writer = app.test_client()
    web_login(writer, bureau.username)

    # A notice without a title is refused, keeps what was typed and saves nothing.
    refused = writer.post("/notices", data={"csrf_token": csrf(writer), "title": " ", "body": "各医疗机构："})
    assert refused.status_code == 422
    assert "各医疗机构：</textarea>" in refused.get_data(as_text=True)
    assert session.scalars(select(Notice)).all() == []

    form = {
        "csrf_token": csrf(writer),
        "title": "关于第十批集采执行的通知",
        "body": "各医疗机构：\n请按时报量。",
    }
    saved = writer.post("/notices", data=form)
    assert saved.status_code == 302, saved.get_data(as_text=True)
    notice = session.scalars(select(Notice)).one()
    assert (saved.headers["Location"], notice.status) == (f"/notices/{notice.id}", NoticeStatus.DRAFT)
    page = writer.get(f"/notices/{notice.id}").get_data(as_text=True)
    assert re.search(r'<button type="submit" class="primary" data-confirm="[^"]+">发布</button>', page)

    reader = app.test_client()
    web_login(reader, hospital.username)
    assert reader.get(f"/notices/{notice.id}").status_code == 404
    assert reader.post(f"/notices/{notice.id}/publish", data={"csrf_token": csrf(reader)}).status_code == 403

    writer.post(f"/notices/{notice.id}/publish", data={"csrf_token": csrf(writer)})
    session.refresh(notice)
    assert notice.status is NoticeStatus.PUBLISHED
    listed = reader.get("/notices").get_data(as_text=True)
    assert f'<a href="/notices/{notice.id}">关于第十批集采执行的通知</a>' in listed
    shown = reader.get(f"/notices/{notice.id}").get_data(as_text=True)
    assert "<p>请按时报量。</p>" in shown
    assert "data-confirm" not in shown  # no buttons for readers
