"""Scenario builders for renewal (续标) tests: an expiring batch with published results (E3's bids,
batch 4–9 rules: A and B win within the 1.8 spread line, C and D by the half-ceiling route), and
its renewal walked through demand, bids and the opening."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bidding import batches, bids, demand, opening, renewal
from bidding.models import BatchStatus, ProcurementBatch, Product
from core.actors import OrgKind
from tests.factories import make_org
from tests.tendering import AT_OPENING, DURING_DEMAND, SEALER, T0, TIMELINE, World, make_world

E3_BIDS = {"A": "0.2000", "B": "0.3600", "C": "0.4800", "D": "0.5000", "E": "0.5001", "F": "0.9000"}
#: The renewal's own timeline, late in the expiring batch's cycle (2026-05-01 – 2027-04-30).
R0 = T0 + timedelta(days=300)
RENEWAL_TIMELINE = {
    "demand_opens_at": R0,
    "demand_closes_at": R0 + timedelta(days=5),
    "bid_opens_at": R0 + timedelta(days=6),
    "bid_closes_at": R0 + timedelta(days=8),
    "opening_at": R0 + timedelta(days=8, hours=1),
}
R_DURING_DEMAND = R0 + timedelta(days=1)
R_DURING_BIDDING = R0 + timedelta(days=7)
R_AT_OPENING = RENEWAL_TIMELINE["opening_at"]
PUBLISHED_AT = AT_OPENING + timedelta(hours=1)


def published_world(
    session: Session, *, overrides: dict[str, Any] | None = None, quantity: int = 1000
) -> World:
    """The expiring batch: two hospitals in two regions report `quantity` each; E3's bids; opened
    and published."""
    world = make_world(session, rule_version="batch_4_9", overrides=overrides)
    for region in ("510104", "510105"):
        world.hospitals.append(make_org(session, OrgKind.HOSPITAL, region_code=region))
    world.to(BatchStatus.DEMAND_COLLECTION, DURING_DEMAND)
    for hospital in world.hospitals:
        world.report(hospital, world.items[0], quantity)
    world.to(BatchStatus.BIDDING, TIMELINE["demand_closes_at"])
    for name, price in E3_BIDS.items():
        world.bid(name, world.items[0], price)
    world.open()
    opening.publish_results(session, world.bureau, world.batch.id, now=PUBLISHED_AT, days=0)
    return world


def renew(world: World, **kw: Any) -> ProcurementBatch:
    return renewal.create_renewal(
        world.session,
        world.bureau,
        world.batch.id,
        timeline=kw.pop("timeline", RENEWAL_TIMELINE),
        now=kw.pop("now", R0 - timedelta(days=1)),
        **kw,
    )


def to_bidding(world: World, new: ProcurementBatch, *, quantity: int = 1000) -> None:
    """Demand re-reported by the same hospitals, then bidding opens."""
    s = world.session
    batches.move(s, world.bureau, new, BatchStatus.DEMAND_COLLECTION, now=R0)
    for hospital in world.hospitals:
        line = demand.DemandLine(item_id=new.items[0].id, quantity=quantity)
        demand.report_demand(s, world.actor(hospital), new.id, lines=[line], now=R_DURING_DEMAND)
    batches.move(s, world.bureau, new, BatchStatus.BIDDING, now=RENEWAL_TIMELINE["demand_closes_at"])


def carry(world: World, new: ProcurementBatch, name: str, **kw: Any) -> bids.Receipt:
    return renewal.carry_over(
        world.session,
        world.actor(world.manufacturer(name)),
        new.id,
        new.items[0].id,
        province="510000",
        sealer=SEALER,
        now=kw.pop("now", R_DURING_BIDDING),
        **kw,
    )


def bid_again(world: World, new: ProcurementBatch, name: str, unit_price: str) -> bids.Receipt:
    """A new price (packs of 100) for the same product the manufacturer won with, or a new one."""
    maker = world.manufacturer(name)
    product_id = world.session.scalars(
        select(Product.id).where(
            Product.mah_id == maker.id, Product.generic_name == new.items[0].generic_name
        )
    ).first() or world.product(name, new.items[0])
    return bids.submit_bid(
        world.session,
        world.actor(maker),
        new.id,
        item_id=new.items[0].id,
        product_id=product_id,
        pack_price_fen=int(Decimal(unit_price) * 100 * 100),
        accepts_revival=True,
        province="510000",
        sealer=SEALER,
        now=R_DURING_BIDDING,
    )


def open_and_publish(world: World, new: ProcurementBatch) -> opening.OpeningSummary:
    summary = opening.open_bids(world.session, world.bureau, new.id, sealer=SEALER, now=R_AT_OPENING)
    opening.publish_results(
        world.session, world.bureau, new.id, now=R_AT_OPENING + timedelta(hours=1), days=0
    )
    return summary
