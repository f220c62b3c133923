"""Demo step for the use-monitoring warnings (issue 18 item 3), run after ordering and invoicing:
a delivery left unconfirmed for ten days, a distributor whose every step is logged minutes after
the order, and a hospital buying a non-winning product of a generic it has a winner for. The
agreed-volume lag comes from the demo's own purchases (about 12 % of the cycle year has passed,
little of the agreed volume is bought). Everything goes through the services; safe to run twice."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bidding import catalogue
from bidding.models import Award, Product
from core import clock
from core.accounts import actor_for_user
from core.actors import Actor
from core.organizations import Organization, User
from ledger.models import Listing, ListingStatus, Order
from ledger.services import listings, ordering
from ledger.services.ordering import LineRequest, ShipRequest, Urgency

MARKER = "演示：使用监测预警 (demo: use monitoring)"
_codes = itertools.count(1)


def _actor(user: User) -> Actor:
    return actor_for_user(user)


def _primary_listing(session: Session, region: str) -> Listing | None:
    return session.scalars(
        select(Listing)
        .where(
            Listing.region_code == region,
            Listing.supply_role == "primary",
            Listing.status == ListingStatus.LISTED,
        )
        .order_by(Listing.id)
    ).first()


def _expiry(now: datetime) -> date:
    return date(clock.business_date(now).year + 2, 6, 30)


def _order(
    session: Session, hospital: object, distributor: object, listing: Listing, packs: int, at: datetime
) -> Order:
    return ordering.place_orders(
        session,
        hospital,  # type: ignore[arg-type]
        distributor_id=distributor.org_id,  # type: ignore[attr-defined]
        lines=[LineRequest(listing.id, packs)],
        urgency=Urgency.NORMAL,
        now=at,
        note=MARKER,
    )


def _ship(session: Session, distributor: object, order: Order, at: datetime) -> object:
    line = order.lines[0]
    return ordering.ship(
        session,
        distributor,  # type: ignore[arg-type]
        order.id,
        lines=[ShipRequest(line.id, line.quantity, f"W{line.id:06d}", _expiry(at))],
        now=at,
    )


def _non_winner_listing(
    session: Session,
    winner: Listing,
    makers: list[Organization],
    users: dict[str, User],
    keys: list[str],
    now: datetime,
) -> Listing:
    """A product of the winner's generic by another manufacturer (never awarded), listed
    province-wide by price linkage (vbp-rules.md §3)."""
    product = session.get_one(Product, winner.product_id)
    awarded = set(session.scalars(select(Award.manufacturer_id)))
    maker_key, maker = next(
        (
            (k, m)
            for k, m in zip(keys, makers, strict=True)
            if m.id != winner.manufacturer_id and m.id not in awarded
        ),
        next((k, m) for k, m in zip(keys, makers, strict=True) if m.id != winner.manufacturer_id),
    )
    actor = _actor(users[f"{maker_key}-op"])
    data = {
        "category": product.category,
        "code": f"XW{clock.business_date(now):%y%m%d}{next(_codes):04d}{maker.id % 1000:03d}",
        "generic_name": product.generic_name,
        "dosage_form": product.dosage_form,
        "dosage_form_group": product.dosage_form_group,
        "strength_value": product.strength_value,
        "strength_unit": product.strength_unit,
        "fill_volume_ml": product.fill_volume_ml,
        "spec_text": product.spec_text,
        "min_unit": product.min_unit,
        "units_per_pack": product.units_per_pack,
        "mah_uscc": maker.uscc,
        "originator": False,
        "reference_listed": False,
        "consistency_evaluated": True,
        "registration_no": product.registration_no,
    }
    created = catalogue.create_product(session, actor, data=data, now=now)  # type: ignore[arg-type]
    price = listings.reference_price_fen(session, created.id) or winner.pack_price_fen * 2
    return listings.apply_price_linked(
        session,
        actor,  # type: ignore[arg-type]
        product_id=created.id,
        region_code=winner.region_code[:2] + "0000",
        pack_price_fen=price,
        now=now,
        hold_flagged=False,
    )


def seed(
    session: Session,
    *,
    orgs: dict[str, Organization],
    users: dict[str, User],
    now: datetime,
    echo: Callable[[str], None],
) -> None:
    """Make each use-monitoring rule find something as of `now` (skipped when already done)."""
    if session.scalars(select(Order.id).where(Order.note == MARKER)).first() is not None:
        echo("使用监测演示数据已存在 (use-monitoring demo data exists): 跳过")
        return
    hosp1, hosp4 = orgs["hosp1"], orgs["hosp4"]
    hosp1_actor, hosp4_actor = _actor(users["hosp1-op"]), _actor(users["hosp4-op"])
    dist1, dist2 = _actor(users["dist1-op"]), _actor(users["dist2-op"])
    winner = _primary_listing(session, hosp1.region_code[:4] + "00")
    fast_listing = _primary_listing(session, hosp4.region_code[:4] + "00")
    if winner is None or fast_listing is None:
        echo("没有可下单的挂网产品 (no listings): 跳过使用监测演示")
        return

    # 1. receipt_unconfirmed: shipped ten days ago, never confirmed.
    placed = now - timedelta(days=10)
    late = _order(session, hosp1_actor, dist1, winner, 20, placed)
    ordering.decide_order(session, dist1, late.id, accept=True, reason=None, now=placed + timedelta(hours=1))  # type: ignore[arg-type]
    _ship(session, dist1, late, placed + timedelta(hours=3))

    # 2. implausibly_fast: accepted, shipped and received within ten minutes of the order.
    placed = now - timedelta(days=3)
    fast = _order(session, hosp4_actor, dist2, fast_listing, 10, placed)
    ordering.decide_order(
        session, dist2, fast.id, accept=True, reason=None, now=placed + timedelta(minutes=2)
    )  # type: ignore[arg-type]
    shipment = _ship(session, dist2, fast, placed + timedelta(minutes=5))
    ordering.confirm_receipt(
        session,
        hosp4_actor,  # type: ignore[arg-type]
        shipment.lines[0].id,  # type: ignore[attr-defined]
        accepted=10,
        rejected=0,
        reason_code=None,
        now=placed + timedelta(minutes=10),
    )

    # 3. non_winner_share: the hospital buys a non-winner of its winner's generic, in bulk.
    keys = [k for k in orgs if k.startswith("mfr")]
    other = _non_winner_listing(
        session, winner, [orgs[k] for k in keys], users, keys, now - timedelta(days=6)
    )
    placed = now - timedelta(days=5)
    bulk = _order(session, hosp1_actor, dist1, other, 400, placed)
    ordering.decide_order(session, dist1, bulk.id, accept=True, reason=None, now=placed + timedelta(hours=1))  # type: ignore[arg-type]
    bulk_shipment = _ship(session, dist1, bulk, placed + timedelta(hours=4))
    ordering.confirm_receipt(
        session,
        hosp1_actor,  # type: ignore[arg-type]
        bulk_shipment.lines[0].id,  # type: ignore[attr-defined]
        accepted=400,
        rejected=0,
        reason_code=None,
        now=placed + timedelta(days=1),
    )
    echo(
        "使用监测演示 (use monitoring): 1 张发货超7天未验收, 1 家配送企业物流节点异常偏快, "
        "1 家医院大量采购非中选产品"
    )
