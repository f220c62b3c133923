"""Sealed bids: before the opening, someone reading every row of every table finds no price;
after the opening every receipt digest matches its bid; a stored bid changed behind the
platform's back stops the opening."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bidding import opening
from bidding.models import BatchStatus, Bid, BidResult
from bidding.sealing import BidContent, SealBroken, receipt_digest
from core.db import Base
from core.errors import RuleViolation
from tests.factories import make_org
from tests.tendering import AT_OPENING, DURING_DEMAND, SEALER, TIMELINE, make_world

#: A unit price nobody would pick by accident: 0.9137 yuan per tablet, packs of 100, so the pack
#: price is 91.37 yuan = 9,137 fen and the unit price 9,137 in yuan×10⁴.
UNIT = "0.9137"
NUMBERS = {9137, 913700}
#: As text: the decimal forms, not followed or preceded by another digit (a hex digest may well
#: contain the digits 9137; it cannot contain "91.37").
TEXT = re.compile(r"(?<![0-9])(0\.9137|91\.37)(?![0-9])")


def _bidding_world(session: Session):
    world = make_world(session)
    hospital = make_org(session, region_code="510104")
    world.hospitals.append(hospital)
    world.to(BatchStatus.DEMAND_COLLECTION, DURING_DEMAND)
    world.report(hospital, world.items[0], 1000)
    world.to(BatchStatus.BIDDING, TIMELINE["demand_closes_at"])
    return world


def _every_cell(session: Session) -> list[object]:
    """What a database reader sees: every value of every row of every table, except keys and
    sequence numbers (counters that run across the test session and may pass 9,137 by chance)."""
    cells: list[object] = []
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns if c.name not in ("id", "seq") and not c.name.endswith("_id")]
        for row in session.execute(select(*columns)):
            cells += [value for value in row if value is not None]
    return cells


def _price_cells(session: Session) -> list[object]:
    found = []
    for cell in _every_cell(session):
        number = isinstance(cell, int | Decimal) and not isinstance(cell, bool) and cell in NUMBERS
        if number or (isinstance(cell, str | dict | list) and TEXT.search(str(cell))):
            found.append(cell)
    return found


def test_no_price_can_be_read_from_the_database_before_the_opening(session: Session) -> None:
    world = _bidding_world(session)
    world.bid("A", world.items[0], UNIT)
    world.bid("B", world.items[0], "0.5000")
    session.flush()
    assert _price_cells(session) == []
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
