"""A batch opened and proposed for a 7-day publicity period: two items, three bidders on the
first (A lowest, then B, then C), two on the second (A and B), two hospitals' demand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bidding import opening, publicity
from bidding.models import BatchStatus, Bid
from bidding.publicity_models import ResultProposal
from core.actors import Actor, OrgKind
from core.organizations import Organization
from tests.factories import make_org
from tests.tendering import AT_OPENING, DURING_DEMAND, TIMELINE, World, make_world

PROPOSED_AT = AT_OPENING + timedelta(hours=1)
DAYS = 7
PERIOD_ENDS = PROPOSED_AT + timedelta(days=DAYS)
DURING_PERIOD = PROPOSED_AT + timedelta(days=2)


@dataclass
class Scene:
    world: World
    proposal: ResultProposal

    @property
    def session(self) -> Session:
        return self.world.session

    def maker(self, name: str) -> Organization:
        return self.world.manufacturers[name]

    def actor(self, name: str) -> Actor:
        return self.world.actor(self.maker(name))

    def bid_of(self, name: str, item_no: int = 0) -> Bid:
        return self.session.scalars(
            select(Bid).where(
                Bid.item_id == self.world.items[item_no].id, Bid.manufacturer_id == self.maker(name).id
            )
        ).one()

    def current(self) -> ResultProposal:
        proposal = publicity.current_proposal(self.session, self.world.batch.id)
        assert proposal is not None
        return proposal

    def winners(self, item_no: int = 0, proposal: ResultProposal | None = None) -> list[str]:
        """Winning enterprises of an item in a proposal's snapshot (the current one by default)."""
        snapshot = (proposal or self.current()).snapshot
        item = next(i for i in snapshot["items"] if i["item_id"] == self.world.items[item_no].id)
        return [w["manufacturer"] for w in item["winners"]]


def opened_world(session: Session, **overrides: object) -> World:
    """The batch opened, its results not yet proposed (`overrides`: rule-set parameters)."""
    world = make_world(session, items=({}, {}), overrides=overrides or None)
    first, second = world.items
    for region in ("510104", "510105"):
        hospital = make_org(session, OrgKind.HOSPITAL, region_code=region)
        world.hospitals.append(hospital)
    world.to(BatchStatus.DEMAND_COLLECTION, DURING_DEMAND)
    for hospital in world.hospitals:
        world.report(hospital, first, 100_000)
        world.report(hospital, second, 40_000)
    world.to(BatchStatus.BIDDING, TIMELINE["demand_closes_at"])
    world.bid("A", first, "0.2000")
    world.bid("B", first, "0.3000")
    world.bid("C", first, "0.3300")
    world.bid("A", second, "0.5000")
    world.bid("B", second, "0.5500")
    world.open()
    return world


def proposed_scene(session: Session) -> Scene:
    world = opened_world(session)
    opening.publish_results(session, world.bureau, world.batch.id, now=PROPOSED_AT, days=DAYS)
    proposal = publicity.current_proposal(session, world.batch.id)
    assert proposal is not None
    return Scene(world, proposal)
