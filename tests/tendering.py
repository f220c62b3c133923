"""Scenario builders for tendering tests: a timeline, products, a batch walked through its phases."""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from bidding import batches, bids, catalogue, demand, opening
from bidding.models import (
    BatchItem,
    BatchStatus,
    Category,
    DosageFormGroup,
    ProcurementBatch,
    Product,
    RatioKind,
    Scope,
)
from bidding.sealing import BidSealer
from core.actors import Actor, OrgKind, Role
from core.organizations import Organization
from tests.factories import actor_of, make_org, make_user

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
TIMELINE = {
    "demand_opens_at": T0,
    "demand_closes_at": T0 + timedelta(days=5),
    "bid_opens_at": T0 + timedelta(days=6),
    "bid_closes_at": T0 + timedelta(days=8),
    "opening_at": T0 + timedelta(days=8, hours=1),
    "cycle_start_on": date(2026, 5, 1),
    "cycle_end_on": date(2027, 4, 30),
}
DURING_DEMAND = T0 + timedelta(days=1)
DURING_BIDDING = T0 + timedelta(days=7)
AFTER_DEADLINE = T0 + timedelta(days=8, minutes=1)
AT_OPENING = TIMELINE["opening_at"]
#: The suite the tests run under (VBP_CRYPTO_SUITE: standard by default, or sm; core/crypto_suites.py).
CRYPTO_SUITE = os.environ.get("VBP_CRYPTO_SUITE") or "standard"
#: The tests' bid-sealing keys (scheduler processes started by tests get them through the environment).
SEALING_KEY = BidSealer.generate_key()
SM4_SEALING_KEY = BidSealer.generate_key("sm")
SEALER = BidSealer.from_base64(SEALING_KEY, sm4=SM4_SEALING_KEY, suite=CRYPTO_SUITE)
#: What a test app's Config takes to use the tests' suite and keys.
CRYPTO_SETTINGS: dict[str, Any] = {
    "crypto_suite": CRYPTO_SUITE,
    "bid_sealing_key": SEALING_KEY,
    "bid_sealing_key_sm4": SM4_SEALING_KEY,
}
_codes = itertools.count(1)


def e4(text: str) -> int:
    return int(Decimal(text) * 10_000)


@dataclass
class World:
    session: Session
    bureau: Actor
    batch: ProcurementBatch
    items: list[BatchItem]
    hospitals: list[Organization] = field(default_factory=list)
    manufacturers: dict[str, Organization] = field(default_factory=dict)
    actors: dict[int, Actor] = field(default_factory=dict)

    def actor(self, org: Organization, role: Role = Role.OPERATOR) -> Actor:
        if org.id not in self.actors:
            self.actors[org.id] = actor_of(make_user(self.session, org, role))
        return self.actors[org.id]

    def manufacturer(self, name: str) -> Organization:
        if name not in self.manufacturers:
            self.manufacturers[name] = make_org(self.session, OrgKind.MANUFACTURER, name=f"企业{name}")
        return self.manufacturers[name]

    def product(
        self, name: str, item: BatchItem, *, strength: str | None = None, units: int = 100, **flags: Any
    ) -> int:
        mah = self.manufacturer(name)
        data = {
            "category": Category.DRUG,
            "code": f"XA{next(_codes):08d}",
            "generic_name": item.generic_name,
            "dosage_form": "片剂",
            "dosage_form_group": item.dosage_form_group,
            "strength_value": strength or item.rep_strength_value,
            "strength_unit": item.rep_strength_unit,
            "fill_volume_ml": None,
            "spec_text": f"{strength or item.rep_strength_value}mg×{units}",
            "min_unit": "片",
            "units_per_pack": units,
            "mah_uscc": mah.uscc,
            "originator": False,
            "reference_listed": False,
            "consistency_evaluated": True,
            "registration_no": None,
            **flags,
        }
        return catalogue.create_product(self.session, self.bureau, data=data, now=T0).id

    def report(self, hospital: Organization, item: BatchItem, quantity: int, **kw: Any) -> None:
        line = demand.DemandLine(item_id=item.id, quantity=quantity, **kw)
        demand.report_demand(
            self.session, self.actor(hospital), self.batch.id, lines=[line], now=DURING_DEMAND
        )

    def to(self, status: BatchStatus, now: datetime) -> None:
        batches.transition(self.session, self.bureau, self.batch.id, to=status, now=now)

    def bid(
        self, name: str, item: BatchItem, unit_price: str, *, product_id: int | None = None, **kw: Any
    ) -> bids.Receipt:
        """Bid `unit_price` per minimum unit (packs of 100 by default, so 4-dp unit prices are exact)."""
        product_id = product_id or self.product(name, item)
        units = self.session.get(Product, product_id).units_per_pack
        pack_fen = Decimal(unit_price) * units * 100
        assert pack_fen == pack_fen.to_integral_value(), "unit price × units must be whole fen"
        return bids.submit_bid(
            self.session,
            self.actor(self.manufacturer(name)),
            self.batch.id,
            item_id=item.id,
            product_id=product_id,
            pack_price_fen=int(pack_fen),
            accepts_revival=kw.pop("accepts_revival", True),
            province="510000",
            sealer=SEALER,
            now=kw.pop("now", DURING_BIDDING),
        )

    def open(self) -> opening.OpeningSummary:
        return opening.open_bids(self.session, self.bureau, self.batch.id, sealer=SEALER, now=AT_OPENING)


def make_world(
    session: Session,
    *,
    rule_version: str = "batch_4_9",
    overrides: dict[str, Any] | None = None,
    items: Sequence[dict[str, Any]] = ({},),
    scope: Scope = Scope.PROVINCIAL,
) -> World:
    """A draft batch with items (default: one oral-solid item, representative 10 mg, ceiling 1.0000)."""
    bureau = actor_of(make_user(session, make_org(session, OrgKind.BUREAU), Role.OPERATOR))
    batch = batches.create_batch(
        session,
        bureau,
        name="测试批次",
        category=Category.DRUG,
        scope=scope,
        rule_version=rule_version,
        rule_overrides=overrides,
        timeline=TIMELINE,
        now=T0 - timedelta(days=1),
    )
    created = []
    for n, spec in enumerate(items):
        data = {
            "generic_name": f"测试药{n}",
            "dosage_form_group": DosageFormGroup.ORAL_SOLID,
            "rep_strength_value": "10",
            "rep_strength_unit": "mg",
            "ratio_kind": RatioKind.CONTENT,
            "allowed_strengths": ["5", "10", "20", "30"],
            "ceiling_e4": e4("1.0000"),
            "volume_ratio_override": None,
            **spec,
        }
        created.append(batches.add_item(session, bureau, batch.id, data=data, now=T0 - timedelta(days=1)))
    session.refresh(batch)
    return World(session=session, bureau=bureau, batch=batch, items=created)


def live_batch(
    session: Session,
    bureau: Actor,
    *,
    name: str,
    generic_name: str,
    bid_closes_in: timedelta = timedelta(days=5),
) -> World:
    """A provincial drug batch on the real clock, for pages served live (browser journeys): demand
    collected from 10 to 5 days ago, bids open since yesterday and closing in `bid_closes_in`, the
    opening an hour after; one oral-solid item (ceiling 1.0000 a unit). A draft: move it on with
    world.to(...)."""
    from core import clock

    now = clock.now()
    created = now - timedelta(days=11)
    batch = batches.create_batch(
        session,
        bureau,
        name=name,
        category=Category.DRUG,
        scope=Scope.PROVINCIAL,
        rule_version="batch_4_9",
        rule_overrides=None,
        timeline={
            "demand_opens_at": now - timedelta(days=10),
            "demand_closes_at": now - timedelta(days=5),
            "bid_opens_at": now - timedelta(days=1),
            "bid_closes_at": now + bid_closes_in,
            "opening_at": now + bid_closes_in + timedelta(hours=1),
            "cycle_start_on": (now + timedelta(days=30)).date(),
            "cycle_end_on": (now + timedelta(days=394)).date(),
        },
        now=created,
    )
    item = batches.add_item(
        session,
        bureau,
        batch.id,
        data={
            "generic_name": generic_name,
            "dosage_form_group": DosageFormGroup.ORAL_SOLID,
            "rep_strength_value": "10",
            "rep_strength_unit": "mg",
            "ratio_kind": RatioKind.CONTENT,
            "allowed_strengths": ["10"],
            "ceiling_e4": e4("1.0000"),
            "volume_ratio_override": None,
        },
        now=created,
    )
    return World(session=session, bureau=bureau, batch=batch, items=[item])
