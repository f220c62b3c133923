"""Sealed bids: before the opening, someone reading every row of every table finds no price;
after the opening every receipt digest matches its bid; a stored bid changed behind the
platform's back stops the opening."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from bidding import opening
from bidding.models import BatchStatus, Bid, BidResult
from bidding.sealing import BidContent, SealBroken, receipt_digest
from core.db import Base
from core.errors import RuleViolation
from tests.factories import make_org
from tests.tendering import AT_OPENING, DURING_DEMAND, SEALER, TIMELINE, make_world

#: A unit price nobody would pick by accident: 0.9137 yuan per tablet, packs of 100.
UNIT = "0.9137"
TRACES = ("9137", "91.37", "0.9137", "913700")


def _bidding_world(session: Session):
    world = make_world(session)
    hospital = make_org(session, region_code="510104")
    world.hospitals.append(hospital)
    world.to(BatchStatus.DEMAND_COLLECTION, DURING_DEMAND)
    world.report(hospital, world.items[0], 1000)
    world.to(BatchStatus.BIDDING, TIMELINE["demand_closes_at"])
    return world


def _every_cell(session: Session) -> list[str]:
    """What a database reader sees: every value of every row of every table, as text."""
    cells = []
    for table in Base.metadata.sorted_tables:
        for row in session.execute(select(table)):
            cells += [str(value) for value in row if value is not None]
    cells += [str(v) for (v,) in session.execute(text("SELECT payload FROM statements"))]
    return cells


def test_no_price_can_be_read_from_the_database_before_the_opening(session: Session) -> None:
    world = _bidding_world(session)
    world.bid("A", world.items[0], UNIT)
    world.bid("B", world.items[0], "0.5000")
    session.flush()
    leaks = [cell for cell in _every_cell(session) if any(trace in cell for trace in TRACES)]
    assert leaks == []
    with pytest.raises(RuleViolation):  # and the platform itself will not open them early
        opening.open_bids(
            session, world.bureau, world.batch.id, sealer=SEALER, now=AT_OPENING - timedelta(minutes=1)
        )


def test_after_the_opening_every_receipt_digest_matches_its_bid(session: Session) -> None:
    world = _bidding_world(session)
    receipts = [world.bid(name, world.items[0], price) for name, price in (("A", UNIT), ("B", "0.5000"))]
    world.open()
    for receipt in receipts:
        bid = receipt.bid
        result = session.scalars(select(BidResult).where(BidResult.bid_id == bid.id)).one()
        content = BidContent(
            bid.public_id,
            bid.batch_id,
            bid.item_id,
            bid.manufacturer_id,
            bid.product_id,
            result.pack_price_fen,
            bid.accepts_revival,
            bid.submitted_at,
        )
        assert receipt_digest(content, receipt.salt) == receipt.digest == bid.digest


def test_a_tampered_stored_bid_stops_the_opening(session: Session) -> None:
    world = _bidding_world(session)
    a = world.bid("A", world.items[0], UNIT).bid
    b = world.bid("B", world.items[0], "0.5000").bid
    # Swap the two ciphertexts: each is a valid sealed bid, but bound to the other bid's identity.
    session.execute(update(Bid).where(Bid.id == a.id).values(sealed=b.sealed))
    session.expire_all()
    with pytest.raises(SealBroken):
        world.open()
