"""The home's deadlines come from the records and rules that own them, for the organizations
concerned only: delivery deadlines of open orders, payments due by the one payment clock, filing
by the 5th, the hospital's 5-working-day confirmation window, demand and bid closes."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session

from bidding.models import BatchStatus
from core import clock
from core.actors import Actor, OrgKind
from ledger import deadlines
from ledger.deadlines import Deadline, end_of
from ledger.models import InvoiceLine, Order
from ledger.services import settlement
from tests import flows
from tests.factories import make_org
from tests.ordering import NOW, make_market
from tests.tendering import DURING_DEMAND, make_world


def _of(session: Session, actor: Actor, kind: str, *, now: object = NOW) -> list[Deadline]:
    return [d for d in deadlines.deadlines_for(session, actor, now=now) if d.kind == kind]  # type: ignore[arg-type]


def test_an_open_order_runs_its_delivery_deadline_for_both_parties_only(session: Session) -> None:
    market = make_market(session)
    order = market.order(10)
    deadline_at = session.get_one(Order, order.id).deadline_at
    for party in (market.hospital_actor, market.distributor_actor):
        [found] = _of(session, party, "delivery_deadline")
        assert (found.link_kind, found.link_id, found.due_at) == ("order", order.id, deadline_at)
        assert found.overdue(NOW) is False
        assert found.overdue(deadline_at + timedelta(minutes=1)) is True
    assert _of(session, market.other_hospital_actor, "delivery_deadline") == []
    market.accept_and_ship(order.id, 10)
    assert _of(session, market.hospital_actor, "delivery_deadline") == []


def test_an_invoiced_line_is_due_by_the_payment_clock_then_filed_by_the_fifth(session: Session) -> None:
    market = make_market(session)
    bought = flows.buy(market, 10, on=date(2026, 5, 11))
    line = flows.invoice(market, bought, 10, on=date(2026, 5, 12))
    due_on = session.get_one(InvoiceLine, line.id).due_on
    now = flows.at(date(2026, 6, 2))
    for party, other in (
        (market.hospital_actor, market.distributor.id),
        (market.distributor_actor, market.hospital.id),
    ):
        [due] = _of(session, party, "payment_due", now=now)
        assert (due.due_at, due.org_id, due.data) == (
            end_of(due_on),
            other,
            {"lines": 1, "amount_fen": line.amount_fen},
        )
    assert _of(session, market.other_hospital_actor, "payment_due", now=now) == []

    # June 2: May's confirmed line waits to be filed by June 5 (vbp-rules.md §4.3).
    [filing] = _of(session, market.distributor_actor, "filing_deadline", now=now)
    assert (filing.due_at, filing.org_id, filing.data["lines"]) == (
        end_of(date(2026, 6, 5)),
        market.hospital.id,
        1,
    )
    assert _of(session, market.hospital_actor, "filing_deadline", now=now) == []

    application = settlement.file_application(
        session,
        market.distributor_actor,
        hospital_id=market.hospital.id,
        period_month=date(2026, 5, 1),
        now=now,
    )
    assert _of(session, market.distributor_actor, "filing_deadline", now=now) == []
    for party in (market.hospital_actor, market.distributor_actor):
        [window] = _of(session, party, "confirmation_due", now=now)
        assert (window.link_id, window.due_at) == (application.id, end_of(application.confirm_by))
    assert _of(session, market.other_hospital_actor, "confirmation_due", now=now) == []


def test_a_batch_collecting_demand_shows_its_deadline_to_hospitals_not_manufacturers(
    session: Session,
) -> None:
    world = make_world(session)
    world.to(BatchStatus.DEMAND_COLLECTION, DURING_DEMAND)
    hospital = world.actor(make_org(session, OrgKind.HOSPITAL))
    maker = world.actor(world.manufacturer("A"))
    [found] = _of(session, hospital, "demand_deadline", now=DURING_DEMAND)
    assert (found.link_id, found.due_at) == (world.batch.id, world.batch.demand_closes_at)
    assert _of(session, maker, "bid_close", now=DURING_DEMAND) == []
    assert _of(session, maker, "demand_deadline", now=DURING_DEMAND) == []
    assert [d.kind for d in deadlines.deadlines_for(session, world.bureau, now=DURING_DEMAND)] == [
        "demand_deadline"
    ]


def test_a_date_deadline_lasts_to_the_end_of_that_day_in_the_province() -> None:
    assert clock.business_date(end_of(date(2026, 6, 5)) - timedelta(seconds=1)) == date(2026, 6, 5)
    assert clock.business_date(end_of(date(2026, 6, 5))) == date(2026, 6, 6)
