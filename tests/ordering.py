"""Scenario builder for ordering tests: a published batch, its listings, an authorized distributor."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bidding import opening
from bidding.models import Award, BatchStatus
from core.actors import Actor, OrgKind, Role
from core.organizations import Organization
from ledger.models import Listing
from ledger.services import authorizations, listings, ordering
from tests.factories import actor_of, make_org, make_user
from tests.tendering import AT_OPENING, DURING_DEMAND, TIMELINE, World, make_world

#: Ordering happens during the procurement cycle.
NOW = AT_OPENING + timedelta(days=60)
EXPIRY = date(2028, 12, 31)


@dataclass
class Market:
    world: World
    hospital: Organization
    hospital_actor: Actor
    other_hospital: Organization
    other_hospital_actor: Actor
    distributor: Organization
    distributor_actor: Actor
    stranger_distributor: Organization
    listing: Listing  #: primary listing of item 0's rank-1 winner in the hospital's region
    award: Award

    @property
    def session(self) -> Session:
        return self.world.session

    def order(self, quantity: int = 10, *, listing: Listing | None = None, **kw: object) -> object:
        line = ordering.LineRequest((listing or self.listing).id, quantity)
        return ordering.place_orders(
            self.session,
            self.hospital_actor,
            distributor_id=kw.pop("distributor_id", self.distributor.id),  # type: ignore[arg-type]
            lines=[line],
            urgency=ordering.Urgency.NORMAL,
            now=kw.pop("now", NOW),  # type: ignore[arg-type]
        )

    def accept_and_ship(self, order_id: int, quantity: int) -> object:
        ordering.decide_order(
            self.session, self.distributor_actor, order_id, accept=True, reason=None, now=NOW
        )
        order = ordering.get_order(self.session, self.distributor_actor, order_id)
        req = ordering.ShipRequest(order.lines[0].id, quantity, "B20260101", EXPIRY)
        return ordering.ship(self.session, self.distributor_actor, order_id, lines=[req], now=NOW)


def make_market(session: Session) -> Market:
    world = make_world(session, rule_version="batch_4_9")
    item = world.items[0]
    hospital = make_org(session, OrgKind.HOSPITAL, region_code="510104")
    other = make_org(session, OrgKind.HOSPITAL, region_code="510104")
    world.hospitals += [hospital, other]
    world.to(BatchStatus.DEMAND_COLLECTION, DURING_DEMAND)
    world.report(hospital, item, 100_000)
    world.report(other, item, 50_000)
    world.to(BatchStatus.BIDDING, TIMELINE["demand_closes_at"])
    world.bid("A", item, "0.2000")
    world.bid("B", item, "0.3000")
    world.open()
    opening.publish_results(session, world.bureau, world.batch.id, now=AT_OPENING + timedelta(days=1), days=0)
    listings.create_vbp_listings(session, world.bureau, world.batch.id, now=AT_OPENING + timedelta(days=2))
    award = session.scalars(select(Award).where(Award.rank == 1)).one()
    listing = session.scalars(
        select(Listing).where(Listing.award_id == award.id, Listing.supply_role == "primary")
    ).one()
    distributor = make_org(session, OrgKind.DISTRIBUTOR, region_code="510100")
    stranger = make_org(session, OrgKind.DISTRIBUTOR, region_code="510100")
    maker_actor = world.actor(world.manufacturer("A"))
    authorizations.authorize_distributor(
        session,
        maker_actor,
        distributor_id=distributor.id,
        product_id=None,
        region_code="510100",
        now=AT_OPENING,
    )
    return Market(
        world=world,
        hospital=hospital,
        hospital_actor=world.actor(hospital),
        other_hospital=other,
        other_hospital_actor=world.actor(other),
        distributor=distributor,
        distributor_actor=actor_of(make_user(session, distributor, Role.OPERATOR)),
        stranger_distributor=stranger,
        listing=listing,
        award=award,
    )
