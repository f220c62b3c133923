"""Scenario for the two-invoice tests: a delivered batch, and helpers to record upstream invoices."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from core.actors import Actor, OrgKind, Role
from core.organizations import Organization
from ledger.models.upstream import UpstreamInvoice
from ledger.services import upstream_invoices
from ledger.services.upstream_invoices import UpstreamLineRequest
from tests.factories import actor_of, make_org, make_user
from tests.flows import Bought, at, buy
from tests.ordering import Market

DELIVERED = date(2026, 4, 1)
_numbers = itertools.count(30_000_001)


@dataclass
class Delivered:
    m: Market
    bought: Bought
    maker: Organization
    product_id: int

    @property
    def distributor(self) -> Actor:
        return self.m.distributor_actor


def delivered(m: Market, packs: int = 10) -> Delivered:
    bought = buy(m, packs, on=DELIVERED)  # batch "B1"
    return Delivered(m, bought, m.world.manufacturer("A"), m.listing.product_id)


def upstream_distributor(m: Market) -> tuple[Organization, Actor]:
    org = make_org(m.session, OrgKind.DISTRIBUTOR, region_code="510100")
    return org, actor_of(make_user(m.session, org, Role.OPERATOR))


def sell(
    d: Delivered, buyer: Actor, seller_id: int, packs: int = 10, batch_no: str = "B1"
) -> UpstreamInvoice:
    """`buyer` records an upstream invoice from `seller_id` for the batch."""
    return upstream_invoices.record_upstream_invoice(
        d.m.session,
        buyer,
        seller_id=seller_id,
        invoice_code="",
        invoice_number=f"{next(_numbers):08d}",
        issued_on=DELIVERED,
        tax_rate=Decimal("0.13"),
        lines=[UpstreamLineRequest(d.product_id, batch_no, packs, packs * 100)],
        now=at(DELIVERED),
    )
