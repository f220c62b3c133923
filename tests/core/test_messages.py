"""Messages follow the audit trail to the organizations concerned, with read state per user;
notices go draft → published → withdrawn and only published ones reach everyone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import ledger.messaging  # noqa: F401  (registers the rules, as the app does)
from core import messages, notices
from core.actors import OrgKind, Role
from core.errors import InvalidState, NotFound, PermissionDenied
from core.messages import Message
from tests.factories import actor_of, make_org, make_user
from tests.ordering import NOW, make_market


def _kinds(session: Session, org_id: int) -> list[tuple[str, str | None, int | None]]:
    rows = session.scalars(select(Message).where(Message.org_id == org_id).order_by(Message.id))
    return [(m.kind, m.link_kind, m.link_id) for m in rows]


def test_an_order_reaches_its_distributor_and_a_shipment_reaches_the_hospital(session: Session) -> None:
    market = make_market(session)
    order = market.order(10)
    assert _kinds(session, market.distributor.id) == [("order_received", "order", order.id)]
    assert _kinds(session, market.stranger_distributor.id) == []
    market.accept_and_ship(order.id, 10)
    hospital = _kinds(session, market.hospital.id)
    assert ("order_accepted", "order", order.id) in hospital
    assert ("delivery_arrived", "order", order.id) in hospital
    assert all(kind[0] != "delivery_arrived" for kind in _kinds(session, market.other_hospital.id))


def test_a_message_carries_no_amount_or_price(session: Session) -> None:
    market = make_market(session)
    market.order(10)
    message = session.scalars(select(Message).where(Message.org_id == market.distributor.id)).one()
    assert message.data == {}


def test_a_rolled_back_change_leaves_no_message(session: Session) -> None:
    market = make_market(session)
    savepoint = session.begin_nested()
    market.order(10)
    savepoint.rollback()
    assert _kinds(session, market.distributor.id) == []


def test_batch_phases_reach_hospitals_then_manufacturers(session: Session) -> None:
    market = make_market(session)
    batch_id = market.world.batch.id
    hospital = _kinds(session, market.hospital.id)
    maker = _kinds(session, market.world.manufacturer("A").id)
    assert ("batch_bidding_open", "batch", batch_id) not in hospital
    assert ("batch_published", "batch", batch_id) in hospital
    # Manufacturer A signed up after bidding opened (make_world creates it at its first bid).
    assert ("batch_bidding_open", "batch", batch_id) not in maker
    assert ("batch_published", "batch", batch_id) in maker
    assert _kinds(session, market.distributor.id) == []


def test_reading_marks_read_for_the_reader_only(session: Session) -> None:
    market = make_market(session)
    order = market.order(10)
    reader = market.distributor_actor
    colleague = actor_of(make_user(session, market.distributor, Role.OPERATOR))
    assert messages.unread_count(session, reader) == 1
    opened = session.scalars(messages.unread_for(reader)).one()
    assert opened.link_id == order.id
    messages.read_message(session, reader, opened.id, now=NOW)
    messages.read_message(session, reader, opened.id, now=NOW)  # opening twice is fine
    assert messages.unread_count(session, reader) == 0
    assert messages.unread_count(session, colleague) == 1
    rows = session.execute(messages.messages_for(colleague)).all()
    assert [(m.id, read_at) for m, read_at in rows] == [(opened.id, None)]
    assert messages.read_all(session, colleague, now=NOW) == 1
    assert messages.unread_count(session, colleague) == 0


def test_another_organizations_message_is_not_found(session: Session) -> None:
    market = make_market(session)
    market.order(10)
    message = session.scalars(select(Message).where(Message.org_id == market.distributor.id)).one()
    with pytest.raises(NotFound):
        messages.read_message(session, market.hospital_actor, message.id, now=NOW)


def test_unread_first_then_newest(session: Session) -> None:
    market = make_market(session)
    first = market.order(10)
    second = market.order(5, now=NOW + timedelta(minutes=1))
    reader = market.distributor_actor
    mine = select(Message).where(Message.org_id == market.distributor.id)
    older = session.scalars(mine.where(Message.link_id == first.id)).one()
    messages.read_message(session, reader, older.id, now=NOW)
    third = market.order(5, now=NOW + timedelta(minutes=2))
    ids = [m.link_id for m, _ in session.execute(messages.messages_for(reader)).all()]
    assert ids == [third.id, second.id, first.id]


def test_a_notice_is_read_by_everyone_only_once_published(session: Session) -> None:
    bureau_org = make_org(session, OrgKind.BUREAU)
    bureau = actor_of(make_user(session, bureau_org, Role.OPERATOR))
    hospital = actor_of(make_user(session, make_org(session, OrgKind.HOSPITAL)))
    notice = notices.create_notice(session, bureau, title="第十批集采执行通知", body="正文", now=NOW)
    assert list(session.scalars(notices.notices_visible_to(hospital))) == []
    with pytest.raises(NotFound):
        notices.get_notice(session, hospital, notice.id)
    with pytest.raises(PermissionDenied):
        notices.publish_notice(session, hospital, notice.id, now=NOW)
    notices.publish_notice(session, bureau, notice.id, now=NOW)
    heard = session.scalars(select(Message).where(Message.org_id == hospital.org_id)).one()
    assert (heard.kind, heard.link_kind, heard.link_id) == ("notice_published", "notice", notice.id)
    assert session.scalars(select(Message).where(Message.org_id == bureau_org.id)).all() == []
    assert [n.id for n in session.scalars(notices.notices_visible_to(hospital))] == [notice.id]
    with pytest.raises(InvalidState):
        notices.publish_notice(session, bureau, notice.id, now=NOW)
    notices.withdraw_notice(session, bureau, notice.id, now=NOW)
    assert list(session.scalars(notices.notices_visible_to(hospital))) == []
    assert notices.get_notice(session, bureau, notice.id).status is notices.NoticeStatus.WITHDRAWN


def test_an_auditor_cannot_write_notices(session: Session) -> None:
    bureau_org = make_org(session, OrgKind.BUREAU)
    auditor = actor_of(make_user(session, bureau_org, Role.AUDITOR))
    with pytest.raises(PermissionDenied):
        notices.create_notice(session, auditor, title="t", body="b", now=NOW)
