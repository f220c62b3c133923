"""Demo step (issue 18, credit part): a non-VBP product bought below its payment standard (fund
savings), a 严重失信 rating that suspends a listing a hospital bought, a rating recorded and
repaired (its listing restored), and a 失信 risk prompt. Runs once per database."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bidding import catalogue
from bidding.models import Category, DosageFormGroup, Product
from core import clock
from core.accounts import actor_for_user
from core.actors import Actor
from core.organizations import Organization, User
from ledger.models import Listing
from ledger.services import listings, ordering
from ledger.supervision import credit_linkage
from ledger.supervision.payment_standard import winning_price

PROVINCE = "510000"
WAN_FEN = 10_000 * 100  #: 1万元 in fen


@dataclass(frozen=True)
class DemoProduct:
    code: str
    maker: str
    generic_name: str
    strength: str
    strength_unit: str
    units: int
    min_unit: str
    #: Listing price as a share of the payment standard, percent.
    price_pct: int


PRODUCTS = (
    DemoProduct("DEMO-CR01", "mfr2", "阿托伐他汀钙片", "10", "mg", 28, "片", 80),  # below standard
    DemoProduct("DEMO-CR02", "mfr3", "苯磺酸氨氯地平片", "5", "mg", 7, "片", 95),  # to be suspended
    DemoProduct("DEMO-CR03", "mfr4", "盐酸二甲双胍缓释片", "0.5", "g", 60, "片", 90),  # rated, repaired
)


def _product(
    session: Session, bureau: Actor, spec: DemoProduct, orgs: dict[str, Organization], now: datetime
) -> Product:
    return catalogue.create_product(
        session,
        bureau,
        data={
            "category": Category.DRUG,
            "code": spec.code,
            "generic_name": spec.generic_name,
            "dosage_form": "片剂",
            "dosage_form_group": DosageFormGroup.ORAL_SOLID,
            "strength_value": spec.strength,
            "strength_unit": spec.strength_unit,
            "fill_volume_ml": None,
            "spec_text": f"{spec.strength}{spec.strength_unit}×{spec.units}{spec.min_unit}",
            "min_unit": spec.min_unit,
            "units_per_pack": spec.units,
            "mah_uscc": orgs[spec.maker].uscc,
            "originator": False,
            "reference_listed": False,
            "consistency_evaluated": True,
            "registration_no": None,
        },
        now=now,
    )


def _buy(
    session: Session, hospital: Actor, distributor: Actor, listing: Listing, packs: int, now: datetime
) -> None:
    """Order, accept, ship and receive in full (received today, so it counts in this month)."""
    placed = now - timedelta(hours=6)
    order = ordering.place_orders(
        session,
        hospital,
        distributor_id=distributor.org_id,  # type: ignore[arg-type]
        urgency=ordering.Urgency.NORMAL,
        now=placed,
        lines=[ordering.LineRequest(listing.id, packs)],
    )
    ordering.decide_order(
        session, distributor, order.id, accept=True, reason=None, now=placed + timedelta(hours=1)
    )
    expiry = date(clock.business_date(now).year + 2, 6, 30)
    line = order.lines[0]
    shipment = ordering.ship(
        session,
        distributor,
        order.id,
        lines=[ordering.ShipRequest(line.id, packs, f"CR{line.id:06d}", expiry)],
        now=placed + timedelta(hours=2),
    )
    ordering.confirm_receipt(
        session, hospital, shipment.lines[0].id, accepted=packs, rejected=0, reason_code=None, now=now
    )


def seed(
    session: Session,
    *,
    orgs: dict[str, Organization],
    users: dict[str, User],
    now: datetime,
    echo: Callable[[str], None],
) -> None:
    """Make the credit linkage, payment standards and fund savings visible (once)."""
    if session.scalars(select(Product).where(Product.code == PRODUCTS[0].code)).first() is not None:
        echo("信用联动演示已存在 (credit demo exists): 跳过")
        return
    bureau = actor_for_user(users["bureau-op"])
    distributor = actor_for_user(users["dist1-op"])
    made: dict[str, Listing] = {}
    for n, spec in enumerate(PRODUCTS):
        product = _product(session, bureau, spec, orgs, now - timedelta(days=3))
        win = winning_price(session, product)
        if win is None:
            echo(f"  {spec.generic_name}: 无中选产品，跳过 (no winner)")
            continue
        made[spec.code] = listing = listings.apply_price_linked(
            session,
            actor_for_user(users[f"{spec.maker}-op"]),
            product_id=product.id,
            region_code="510100",
            pack_price_fen=max(1, win.pack_fen * spec.price_pct // 100),
            now=now - timedelta(days=2),
            hold_flagged=False,
        )
        hospital = f"hosp{n + 1}"
        if orgs[hospital].region_code[:4] == "5101":
            _buy(session, actor_for_user(users[f"{hospital}-op"]), distributor, listing, 20 + 10 * n, now)
    if "DEMO-CR02" in made:
        credit_linkage.record_rating(
            session,
            bureau,
            home_province=PROVINCE,
            enterprise_id=orgs["mfr3"].id,
            province_code=PROVINCE,
            cause="bribery",
            amount_fen=60 * WAN_FEN,  # 50万—100万: 严重失信 (vbp-rules.md §7.2)
            product_ids=[made["DEMO-CR02"].product_id],
            effective_on=clock.business_date(now),
            now=now,
        )
    if "DEMO-CR03" in made:
        rated = credit_linkage.record_rating(
            session,
            bureau,
            home_province=PROVINCE,
            enterprise_id=orgs["mfr4"].id,
            province_code=PROVINCE,
            cause="bribery",
            amount_fen=55 * WAN_FEN,
            product_ids=[made["DEMO-CR03"].product_id],
            effective_on=clock.business_date(now) - timedelta(days=1),
            now=now - timedelta(days=1),
        )
        credit_linkage.repair_rating(
            session, bureau, rated.rating.id, repaired_on=clock.business_date(now), now=now
        )
    credit_linkage.record_rating(
        session,
        bureau,
        home_province=PROVINCE,
        enterprise_id=orgs["mfr2"].id,
        province_code=PROVINCE,
        cause="tax",
        amount_fen=8 * WAN_FEN,  # 5万—50万: 失信, a risk prompt only
        product_ids=[],
        effective_on=clock.business_date(now),
        now=now,
    )
    echo(
        f"信用联动与支付标准 (credit linkage, payment standard): {len(made)} 个非集采挂网, "
        "1 项严重失信暂停挂网, 1 项信用修复恢复挂网, 1 项失信提示；基金节约见 /reports/fund-savings"
    )
