"""A platform on a database of its own (every event really commits) with a market, and the
events of the three flows as small functions that pick their subject from the database."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.actors import Actor, Role
from core.errors import DomainError
from ledger.models import (
    InvoiceLine,
    Order,
    OrderLine,
    OrderStatus,
    ReceiptLine,
    ShipmentLine,
    ShipmentLineStatus,
)
from ledger.services import invoicing, ordering
from ledger.trace import attach as trace
from tests.conftest import Databases
from tests.factories import bearer, make_user
from tests.ordering import EXPIRY, NOW, make_market
from tests.races import committed_app


@dataclass
class Platform:
    app: Flask
    hospital: Actor
    other_hospital: Actor
    distributor: Actor
    listing_id: int
    hospital_headers: dict[str, str]
    other_headers: dict[str, str]

    def session(self) -> Session:
        from app.db import get_db

        return get_db(self.app).sessionmaker()


def make_platform(databases: Databases, tmp_path: Path) -> Platform:
    from app.db import _configure_sqlite, get_db

    app = committed_app(databases, tmp_path)
    engine = get_db(app).engine
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)  # as the app runs: IMMEDIATE transactions, busy timeout

    with get_db(app).sessionmaker() as session:
        m = make_market(session)
        platform = Platform(
            app=app,
            hospital=m.hospital_actor,
            other_hospital=m.other_hospital_actor,
            distributor=m.distributor_actor,
            listing_id=m.listing.id,
            hospital_headers=bearer(session, make_user(session, m.hospital, Role.OPERATOR)),
            other_headers=bearer(session, make_user(session, m.other_hospital, Role.OPERATOR)),
        )
        session.commit()
    return platform


_invoice_numbers = iter(range(80_000_001, 99_999_999))


def _first(session: Session, stmt: Any, rng: random.Random) -> Any:
    rows = list(session.scalars(stmt.limit(20)).all())
    return rng.choice(rows) if rows else None


def place(p: Platform, s: Session, rng: random.Random) -> None:
    hospital = rng.choice((p.hospital, p.other_hospital))
    ordering.place_orders(
        s,
        hospital,
        distributor_id=p.distributor.org_id,  # type: ignore[arg-type]
        lines=[ordering.LineRequest(p.listing_id, rng.randint(2, 9))],
        urgency=ordering.Urgency.NORMAL,
        now=NOW,
    )


def accept(p: Platform, s: Session, rng: random.Random) -> None:
    order = _first(s, select(Order).where(Order.status == OrderStatus.SUBMITTED), rng)
    if order is not None:
        ordering.decide_order(s, p.distributor, order.id, accept=rng.random() < 0.9, reason="缺货", now=NOW)


def ship(p: Platform, s: Session, rng: random.Random) -> None:
    order = _first(s, select(Order).where(Order.status == OrderStatus.ACCEPTED), rng)
    if order is not None:
        line = order.lines[0]
        request = ordering.ShipRequest(line.id, line.quantity, f"B{rng.randint(1, 99)}", EXPIRY)
        shipment = ordering.ship(s, p.distributor, order.id, lines=[request], now=NOW)
        s.flush()
        for shipped in shipment.lines:  # one traceability code per pack (domestic: 20 digits from 8)
            codes = [f"8{shipped.id:011d}{pack:08d}" for pack in range(shipped.quantity)]
            trace.attach_codes(s, p.distributor, shipped.id, codes=codes, now=NOW)


def receive(p: Platform, s: Session, rng: random.Random) -> None:
    line = _first(s, select(ShipmentLine).where(ShipmentLine.status == ShipmentLineStatus.IN_TRANSIT), rng)
    if line is not None:
        hospital = p.hospital if line.hospital_id == p.hospital.org_id else p.other_hospital
        rejected = rng.choice((0, 0, 1))
        ordering.confirm_receipt(
            s,
            hospital,
            line.id,
            accepted=line.quantity - rejected,
            rejected=rejected,
            reason_code="damaged" if rejected else None,
            now=NOW,
        )


def _hospital_of(p: Platform, hospital_id: int) -> Actor:
    return p.hospital if hospital_id == p.hospital.org_id else p.other_hospital


def give_back(p: Platform, s: Session, rng: random.Random) -> None:
    receipt = _first(s, select(ReceiptLine).where(ReceiptLine.accepted_quantity > 1), rng)
    if receipt is not None:
        hospital = _hospital_of(p, receipt.hospital_id)
        ordering.record_return(s, hospital, receipt.id, quantity=1, reason="破损", now=NOW)


def invoice(p: Platform, s: Session, rng: random.Random) -> None:
    invoiced = select(InvoiceLine.receipt_line_id)
    receipt = _first(
        s, select(ReceiptLine).where(ReceiptLine.accepted_quantity > 0, ReceiptLine.id.not_in(invoiced)), rng
    )
    if receipt is None:
        return
    price = s.get_one(OrderLine, receipt.order_line_id).pack_price_fen
    quantity = receipt.accepted_quantity
    recorded = invoicing.record_invoice(
        s,
        p.distributor,
        hospital_id=receipt.hospital_id,
        invoice_code="",
        invoice_number=f"{next(_invoice_numbers):08d}",
        issued_on=NOW.date(),
        tax_rate=Decimal("0.13"),
        now=NOW,
        lines=[invoicing.InvoiceLineRequest(receipt.id, quantity, quantity * price)],
    )
    if rng.random() < 0.7:
        hospital = _hospital_of(p, receipt.hospital_id)
        invoicing.decide_invoice_line(s, hospital, recorded.lines[0].id, confirm=True, reason=None, now=NOW)


EVENTS = (place, place, accept, ship, receive, give_back, invoice)


def run_event(p: Platform, event: Any, rng: random.Random) -> None:
    """One event in its own committed transaction; a refusal by the rules changes nothing."""
    with p.session() as s:
        try:
            event(p, s, rng)
            s.commit()
        except (DomainError, IntegrityError):  # refused by a rule, or lost a race (a 409)
            s.rollback()
