"""Flow builders for figure tests: buy (order → accept → ship → receive), invoice, file and pay, each
at a chosen business day, through the service functions only."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from core.actors import Actor, OrgKind, Role
from ledger.models import (
    InvoiceLine,
    Listing,
    OrderLine,
    PaymentSource,
    ReceiptLine,
    SettlementApplication,
)
from ledger.services import authorizations, invoicing, ordering, settlement, settlement_payments
from ledger.services.ordering import LineRequest, ShipRequest, Urgency
from tests.factories import actor_of, make_org, make_user
from tests.ordering import EXPIRY, Market

_numbers = itertools.count(70_000_001)


def at(day: date) -> datetime:
    """10:00 in Beijing on `day` (02:00 UTC): the business date is `day` in every time zone rule."""
    return datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)


@dataclass
class Bought:
    order_id: int
    line_id: int
    receipt: ReceiptLine


def buy(
    m: Market,
    packs: int,
    *,
    on: date,
    hospital: Actor | None = None,
    distributor: Actor | None = None,
    listing: Listing | None = None,
) -> Bought:
    """Ordered, accepted, shipped and fully accepted on `on`."""
    hospital, distributor = hospital or m.hospital_actor, distributor or m.distributor_actor
    moment = at(on)
    order = ordering.place_orders(
        m.session,
        hospital,
        distributor_id=distributor.org_id,  # type: ignore[arg-type]
        lines=[LineRequest((listing or m.listing).id, packs)],
        urgency=Urgency.NORMAL,
        now=moment,
    )
    line_id = order.lines[0].id
    ordering.decide_order(m.session, distributor, order.id, accept=True, reason=None, now=moment)
    shipped = ordering.ship(
        m.session, distributor, order.id, lines=[ShipRequest(line_id, packs, "B1", EXPIRY)], now=moment
    )
    receipt = ordering.confirm_receipt(
        m.session, hospital, shipped.lines[0].id, accepted=packs, rejected=0, reason_code=None, now=moment
    )
    return Bought(order.id, line_id, receipt)


def invoice(
    m: Market,
    bought: Bought,
    packs: int,
    *,
    on: date,
    distributor: Actor | None = None,
    hospital: Actor | None = None,
    confirm: bool | None = True,
) -> InvoiceLine:
    """Invoice `packs` of the receipt on `on`; the hospital confirms it (True), disputes it (False)
    or leaves it pending (None)."""
    distributor, hospital = distributor or m.distributor_actor, hospital or m.hospital_actor
    pack_price = m.session.get_one(OrderLine, bought.line_id).pack_price_fen
    recorded = invoicing.record_invoice(
        m.session,
        distributor,
        hospital_id=hospital.org_id,  # type: ignore[arg-type]
        invoice_code="",
        invoice_number=f"{next(_numbers):08d}",
        issued_on=on,
        tax_rate=Decimal("0.13"),
        now=at(on),
        lines=[invoicing.InvoiceLineRequest(bought.receipt.id, packs, packs * pack_price)],
    )
    line = recorded.lines[0]
    if confirm is not None:
        invoicing.decide_invoice_line(
            m.session,
            hospital,
            line.id,
            confirm=confirm,
            reason=None if confirm else "数量有误",
            now=at(on),
        )
    return line


def self_pay(
    m: Market,
    period_month: date,
    *,
    filed_on: date,
    paid_on: date,
    distributor: Actor | None = None,
    hospital: Actor | None = None,
) -> SettlementApplication:
    """The distributor files the month's confirmed lines for the hospital, the hospital confirms
    them all and pays the application itself on `paid_on`."""
    distributor, hospital = distributor or m.distributor_actor, hospital or m.hospital_actor
    application = settlement.file_application(
        m.session,
        distributor,
        hospital_id=hospital.org_id,  # type: ignore[arg-type]
        period_month=period_month,
        now=at(filed_on),
    )
    settlement.confirm_application(m.session, hospital, application.id, disputes={}, now=at(filed_on))
    settlement_payments.pay_application(
        m.session,
        hospital,
        application.id,
        bank_reference=f"SELF-{application.id}",
        paid_on=paid_on,
        now=at(paid_on),
        source=PaymentSource.SELF_PAY,
    )
    return application


def another_distributor(m: Market) -> Actor:
    """A second distributor authorized for the market's manufacturer in the hospitals' prefecture."""
    org = make_org(m.session, OrgKind.DISTRIBUTOR, region_code="510100")
    authorizations.authorize_distributor(
        m.session,
        m.world.actor(m.world.manufacturer("A")),
        distributor_id=org.id,
        product_id=None,
        region_code="510100",
        now=at(date(2026, 3, 10)),
    )
    return actor_of(make_user(m.session, org, Role.OPERATOR))
