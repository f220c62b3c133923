"""The shortage-prone list (issue 18 item 4): import, direct listing at a self-set price, watch."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from bidding.models import Product
from core.actors import OrgKind
from core.audit import AuditEvent
from core.errors import Conflict, RuleViolation, ValidationFailed
from core.organizations import Organization
from ledger.models import Listing, OrderLine
from ledger.services import listings, ordering
from ledger.supervision.models import Severity
from ledger.supervision.prices import import_other_province_prices
from ledger.supervision.settings import DEFAULTS
from ledger.supervision.shortage import import_shortage_list, on_shortage_list
from ledger.supervision.warnings import compute_warnings
from tests.ordering import NOW, Market, make_market
from tests.supervision.test_price_governance import csv_bytes, warnings_of

HEADER = "通用名,剂型,规格,清单类别,来源,发布日期"


def shortage_csv(*rows: list[str]) -> bytes:
    return csv_bytes([list(r) for r in rows], header=HEADER)


def list_product(market: Market, product_id: int, *, spec: str | None = "") -> None:
    session = market.session
    product = session.get_one(Product, product_id)
    import_shortage_list(
        session,
        market.world.bureau,
        data=shortage_csv(
            [product.generic_name, product.dosage_form, product.spec_text if spec == "" else (spec or ""),
             "national", "国家短缺药品清单", "2026-04-01"]
        ),
        filename="s.csv",
        settings=DEFAULTS,
        now=NOW,
    )  # fmt: skip


@pytest.fixture
def market(session: Session) -> Market:
    return make_market(session)


def test_shortage_import_names_bad_cells_and_refuses_the_same_file(market: Market) -> None:
    session, bureau = market.session, market.world.bureau
    bad = shortage_csv(
        ["地高辛片", "片剂", "", "county", "x", "2026-04-01"], ["", "片剂", "", "provincial", "x", "soon"]
    )
    with pytest.raises(ValidationFailed) as exc:
        import_shortage_list(session, bureau, data=bad, filename="s.csv", settings=DEFAULTS, now=NOW)
    assert set(exc.value.fields) == {"row 2.list_kind", "row 3.generic_name", "row 3.listed_on"}
    good = shortage_csv(["地高辛片", "片剂", "", "省级", "省卫健委", "2026-04-01"])
    assert import_shortage_list(session, bureau, data=good, filename="s.csv", settings=DEFAULTS, now=NOW) == 1
    with pytest.raises(Conflict):
        import_shortage_list(session, bureau, data=good, filename="s.csv", settings=DEFAULTS, now=NOW)


def test_a_listed_shortage_product_is_flagged_and_listed_directly_above_the_cap(market: Market) -> None:
    session, world = market.session, market.world
    winner = world.actor(world.manufacturer("A"))
    product_id = market.award.product_id
    # Not on the list: the price-linked path keeps the 1.5 × cap, the shortage path refuses.
    with pytest.raises(RuleViolation):
        listings.apply_price_linked(
            session, winner, product_id=product_id, region_code="510100", pack_price_fen=9000, now=NOW
        )
    with pytest.raises(ValidationFailed) as exc:
        listings.apply_price_linked(
            session,
            winner,
            product_id=product_id,
            region_code="510100",
            pack_price_fen=9000,
            now=NOW,
            shortage=True,
        )
    assert "product_id" in exc.value.fields
    list_product(market, product_id, spec=None)  # every spec of the generic name and form
    assert on_shortage_list(session, product_id)
    assert session.get_one(Listing, market.listing.id).shortage  # refreshed after the import
    listing = listings.apply_price_linked(
        session,
        winner,
        product_id=product_id,
        region_code="510100",
        pack_price_fen=9000,
        now=NOW,
        shortage=True,
    )
    assert (listing.status, listing.shortage, listing.shortage_direct) == ("listed", True, True)
    actions = session.scalars(
        select(AuditEvent.action).where(
            AuditEvent.subject_type == "listing", AuditEvent.subject_id == str(listing.id)
        )
    ).all()
    assert "listing.shortage_direct" in actions


@pytest.mark.parametrize(("median", "fires"), [("70.00", False), ("69.24", False), ("69.23", True)])
def test_shortage_watch_price_boundary(market: Market, median: str, fires: bool) -> None:
    # Listed at 90.00; watch above the median elsewhere by more than 30 %: 69.24 × 1.3 = 90.012,
    # 69.23 × 1.3 = 89.999. (Exactly-at is covered by prices.above_by_more_than: 2400 vs 3120.)
    session, world = market.session, market.world
    maker = world.manufacturer("C")
    product_id = world.product("C", world.items[0])
    list_product(market, product_id)
    listing = listings.apply_price_linked(
        session,
        world.actor(maker),
        product_id=product_id,
        region_code="510100",
        pack_price_fen=9000,
        now=NOW,
        shortage=True,
    )
    product = listing.product
    import_other_province_prices(
        session,
        world.bureau,
        data=csv_bytes(
            [[product.generic_name, maker.name, "", product.dosage_form, product.spec_text, "440000", median,
              "2026-04-01", "广东"]]
        ),
        filename="p.csv",
        settings=DEFAULTS,
        now=NOW,
    )  # fmt: skip
    compute_warnings(session, now=NOW, settings=DEFAULTS, rules=["shortage_watch"])
    found = warnings_of(session, "shortage_watch")
    assert bool(found) is fires
    if fires:
        assert found[0].severity is Severity.MEDIUM
        assert found[0].org_id == maker.id


def test_at_the_watch_threshold_is_not_above() -> None:
    from ledger.supervision.prices import above_by_more_than

    assert not above_by_more_than(3120, 2400, 30)
    assert above_by_more_than(3121, 2400, 30)


def test_shortage_watch_sees_refused_lines(market: Market) -> None:
    session = market.session
    list_product(market, market.award.product_id)
    compute_warnings(session, now=NOW, settings=DEFAULTS, rules=["shortage_watch"])
    assert warnings_of(session, "shortage_watch") == []
    order = market.order(5)
    order_id = order[0].id if isinstance(order, list) else order.id  # type: ignore[attr-defined]
    ordering.decide_order(session, market.distributor_actor, order_id, accept=False, reason="缺货", now=NOW)
    compute_warnings(session, now=NOW, settings=DEFAULTS, rules=["shortage_watch"])
    found = warnings_of(session, "shortage_watch")
    assert len(found) == 1
    line_ids = session.scalars(select(OrderLine.id).where(OrderLine.listing_id == market.listing.id)).all()
    assert {r["id"] for r in found[0].evidence["records"] if r["kind"] == "order_line"} == set(line_ids)
    assert found[0].severity is Severity.LOW


def test_shortage_watch_sees_supply_trouble_not_the_hospitals_own_cancellation(market: Market) -> None:
    """Supply trouble is the supplier's: a line marked out of stock (缺货) or voided (作废) by the
    platform is watched; a line the hospital cancelled itself is not."""
    from datetime import timedelta

    from ledger.supervision import supply
    from ledger.supervision.settings import DEFAULTS as SETTINGS

    session = market.session
    list_product(market, market.award.product_id)

    def order_id(quantity: int) -> int:
        order = market.order(quantity)
        return order[0].id if isinstance(order, list) else order.id  # type: ignore[attr-defined]

    cancelled = order_id(3)
    ordering.cancel_order(session, market.hospital_actor, cancelled, reason="不再需要", now=NOW)
    compute_warnings(session, now=NOW, settings=DEFAULTS, rules=["shortage_watch"])
    assert warnings_of(session, "shortage_watch") == []

    short = order_id(4)
    ordering.decide_order(session, market.distributor_actor, short, accept=True, reason=None, now=NOW)
    line = session.scalars(select(OrderLine).where(OrderLine.order_id == short)).one()
    supply.mark_out_of_stock(
        session, market.distributor_actor, short, line.id, reason="原料短缺", expected_on=NOW.date(), now=NOW
    )
    compute_warnings(session, now=NOW, settings=DEFAULTS, rules=["shortage_watch"])
    found = warnings_of(session, "shortage_watch")
    assert [r["id"] for r in found[0].evidence["records"] if r["kind"] == "order_line"] == [line.id]

    later = NOW + timedelta(days=SETTINGS.void_after_days)
    supply.void_unshipped_lines(session, market.world.bureau, now=later, days=SETTINGS.void_after_days)
    compute_warnings(session, now=later, settings=DEFAULTS, rules=["shortage_watch"])
    found = warnings_of(session, "shortage_watch")
    assert [r["id"] for r in found[0].evidence["records"] if r["kind"] == "order_line"] == [line.id]


def test_demo_seed_makes_every_price_rule_fire_and_runs_once(market: Market) -> None:
    import dataclasses

    from app import demo_supervision_price
    from core.organizations import User
    from tests.factories import make_org, make_user

    session, world = market.session, market.world
    bureau = session.get_one(Organization, world.bureau.org_id)
    orgs = {
        "bureau": bureau,
        "mfr1": world.manufacturer("A"),
        "mfr2": world.manufacturer("B"),
        "mfr3": make_org(session, OrgKind.MANUFACTURER),
        "mfr4": make_org(session, OrgKind.MANUFACTURER),
    }
    users: dict[str, User] = {f"{k}-op": make_user(session, org) for k, org in orgs.items()}
    lines: list[str] = []
    demo_supervision_price.seed(session, orgs=orgs, users=users, now=NOW, echo=lines.append)
    settings = dataclasses.replace(DEFAULTS, price_max_increase_pct=20)
    summary = compute_warnings(session, now=NOW, settings=settings)
    for rule in ("price_risk", "price_increase", "non_winner_red_line", "shortage_watch"):
        assert summary.seen[rule] >= 1, (rule, summary.as_dict())
    demo_supervision_price.seed(session, orgs=orgs, users=users, now=NOW, echo=lines.append)
    assert "跳过" in lines[-1]
