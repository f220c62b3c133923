"""Agreements per cycle year, who sees them, and the expiry flags on the to-do lists."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy.orm import Session

from core import clock
from core.actors import OrgKind
from ledger import deadlines
from ledger.agreements import agreements_visible_to
from tests.factories import make_org
from tests.renewal import published_world, renew

#: The expiring batch's cycle: 2026-05-01 – 2027-04-30 (tests/tendering.TIMELINE).
CYCLE_END = date(2027, 4, 30)


def _noon(day: date) -> datetime:
    return clock.local(day, time(12))


def test_one_agreement_per_allocation_and_cycle_year(session: Session) -> None:
    world = published_world(session)
    new = renew(world, cycle_end_on=date(2029, 4, 30))
    old = agreements_visible_to(session, world.bureau, batch_id=world.batch.id)
    assert {(a.cycle_year, a.first_day, a.last_day) for a in old} == {(1, date(2026, 5, 1), CYCLE_END)}
    assert all(a.agreed_quantity > 0 and a.pack_price_fen > 0 for a in old)
    # The renewal has no agreements before its results are published.
    assert agreements_visible_to(session, world.bureau, batch_id=new.id) == []
    assert {a.cycle_year for a in agreements_visible_to(session, world.bureau, year=2027)} == {1}
    assert agreements_visible_to(session, world.bureau, year=2028) == []


def test_a_party_sees_only_its_own_agreements(session: Session) -> None:
    world = published_world(session)
    everything = agreements_visible_to(session, world.bureau)
    hospital = world.hospitals[0]
    own = agreements_visible_to(session, world.actor(hospital))
    assert own
    assert {a.hospital_id for a in own} == {hospital.id}
    maker = world.manufacturer("A")
    theirs = agreements_visible_to(session, world.actor(maker))
    assert theirs
    assert {a.manufacturer_id for a in theirs} == {maker.id}
    assert agreements_visible_to(session, world.actor(world.manufacturer("F"))) == []  # no award
    stranger = make_org(session, OrgKind.HOSPITAL)
    assert agreements_visible_to(session, world.actor(stranger)) == []
    distributor = make_org(session, OrgKind.DISTRIBUTOR)
    assert agreements_visible_to(session, world.actor(distributor)) == []
    assert len(everything) > len(own)


def _expiring(session: Session, actor: object, on: date, days: int = 90) -> list[deadlines.Deadline]:
    found = deadlines.deadlines_for(session, actor, now=_noon(on), agreement_notice_days=days)  # type: ignore[arg-type]
    return [d for d in found if d.kind == "agreement_expiring"]


def test_expiring_agreements_are_flagged_n_days_ahead_and_not_before(session: Session) -> None:
    world = published_world(session)
    hospital, maker = world.actor(world.hospitals[0]), world.actor(world.manufacturer("A"))
    before = CYCLE_END - timedelta(days=91)
    ahead = CYCLE_END - timedelta(days=90)
    for who in (world.bureau, hospital, maker):
        assert _expiring(session, who, before) == []
    (bureau_flag,) = _expiring(session, world.bureau, ahead)
    assert (bureau_flag.link_kind, bureau_flag.link_id, bureau_flag.due_on) == (
        "batch",
        world.batch.id,
        CYCLE_END,
    )
    assert bureau_flag.data["action"] == "renew"
    (hospital_flag,) = _expiring(session, hospital, ahead)
    assert (hospital_flag.link_kind, hospital_flag.link_id, hospital_flag.due_on) == (
        "agreements",
        world.batch.id,
        CYCLE_END,
    )
    assert hospital_flag.data["cycle_year"] == 1
    assert len(_expiring(session, maker, ahead)) == 1
    # A shorter notice period (the setting) flags later.
    assert _expiring(session, hospital, ahead, days=30) == []
    assert len(_expiring(session, hospital, CYCLE_END - timedelta(days=30), days=30)) == 1
    # Another hospital has no agreements to flag.
    assert _expiring(session, world.actor(make_org(session, OrgKind.HOSPITAL)), ahead) == []


def test_the_bureau_flag_goes_once_the_renewal_exists(session: Session) -> None:
    world = published_world(session)
    ahead = CYCLE_END - timedelta(days=60)
    assert len(_expiring(session, world.bureau, ahead)) == 1
    renew(world)
    assert _expiring(session, world.bureau, ahead) == []


def test_each_cycle_year_of_a_longer_cycle_is_flagged_in_its_turn(session: Session) -> None:
    world = published_world(session)
    world.batch.cycle_end_on = date(2028, 4, 30)  # a two-year cycle: agreements renewed after year 1
    session.flush()
    hospital = world.actor(world.hospitals[0])
    (first,) = _expiring(session, hospital, date(2027, 3, 1))
    assert (first.data["cycle_year"], first.due_on) == (1, CYCLE_END)
    (second,) = _expiring(session, hospital, date(2028, 3, 1))
    assert (second.data["cycle_year"], second.due_on) == (2, date(2028, 4, 30))
    assert _expiring(session, world.bureau, date(2027, 3, 1)) == []  # the batch itself runs on
