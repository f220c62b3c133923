"""Order and goods flows through the service functions (vbp-rules.md §1.6, §3, §5)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bidding import ratings
from core.errors import Conflict, InvalidState, NotFound, RuleViolation, ValidationFailed
from ledger import queries
from ledger.models import (
    Listing,
    ListingMode,
    ListingStatus,
    Order,
    OrderLine,
    OrderLineStatus,
    OrderStatus,
    PurchaseCategory,
    ReceiptLine,
)
from ledger.services import listings, ordering, purchases
from tests.ordering import EXPIRY, NOW, Market, make_market


@pytest.fixture
def market(session: Session) -> Market:
    return make_market(session)


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def test_winners_are_listed_at_the_winning_price_in_their_regions(market: Market, session: Session) -> None:
    listed = session.scalars(select(Listing).where(Listing.mode == ListingMode.VOLUME_BASED)).all()
    assert {(x.supply_role, x.region_code) for x in listed} >= {("primary", "510100"), ("backup", "510100")}
    assert market.listing.pack_price_fen == market.award.pack_price_fen == 2000  # 0.2000 × 100
    again = listings.create_vbp_listings(session, market.world.bureau, market.world.batch.id, now=NOW)
    assert again == []  # repeatable without duplicates


def test_order_freezes_the_listing_price_and_computes_the_amount(market: Market, session: Session) -> None:
    order = market.order(15)
    line = order.lines[0]
    assert (line.pack_price_fen, line.amount_fen, line.award_id) == (2000, 30_000, market.award.id)
    assert order.deadline_at == NOW + timedelta(hours=24)
    market.listing.pack_price_fen = 9999  # a later price change does not reprice placed orders
    session.flush()
    session.refresh(line)
    assert line.amount_fen == 30_000


@pytest.mark.parametrize(
    "problem", ["delisted", "suspended", "unauthorized", "quantity", "foreign_filed", "region"]
)
def test_bad_orders_name_the_reason_and_write_nothing(market: Market, session: Session, problem: str) -> None:
    kw: dict[str, object] = {}
    quantity, listing = 5, market.listing
    if problem in ("delisted", "suspended"):
        listings.change_listing_status(
            session, market.world.bureau, listing.id, to=ListingStatus(problem), reason="测试", now=NOW
        )
    elif problem == "unauthorized":
        kw["distributor_id"] = market.stranger_distributor.id
    elif problem == "quantity":
        quantity = 0
    elif problem == "foreign_filed":
        listing = listings.file_purchase(
            session,
            market.other_hospital_actor,
            product_id=listing.product_id,
            pack_price_fen=2500,
            reason="急需",
            now=NOW,
        )
    elif problem == "region":
        listing = listings.apply_price_linked(
            session,
            market.world.actor(market.world.manufacturer("A")),
            product_id=listing.product_id,
            region_code="510500",
            pack_price_fen=2000,  # at the reference: listed at once, only its region is wrong
            now=NOW,
        )
        assert listing.status is ListingStatus.LISTED
    orders, lines = _count(session, Order), _count(session, OrderLine)
    with pytest.raises(ValidationFailed) as err:
        market.order(quantity, listing=listing, **kw)
    expected = {"unauthorized": "lines.0.distributor_id", "quantity": "lines.0.quantity"}.get(
        problem, "lines.0.listing_id"
    )
    assert expected in err.value.fields
    assert (_count(session, Order), _count(session, OrderLine)) == (orders, lines)


def test_credit_suspension_stops_new_orders_but_placed_orders_still_ship(
    market: Market, session: Session
) -> None:
    order = market.order(10)
    maker = market.world.manufacturer("A")
    ratings.record_rating(
        session,
        market.world.bureau,
        enterprise_id=maker.id,
        province_code="510000",
        cause="bid_rigging_national_vbp",
        amount_fen=None,
        product_ids=[],
        effective_on=NOW.date(),
        now=NOW,
    )
    assert (
        listings.suspend_manufacturer_listings(
            session, market.world.bureau, maker.id, reason="特别严重失信", now=NOW
        )
        >= 1
    )
    with pytest.raises(ValidationFailed):
        market.order(5)
    ordering.decide_order(session, market.distributor_actor, order.id, accept=True, reason=None, now=NOW)
    shipment = ordering.ship(
        session,
        market.distributor_actor,
        order.id,
        now=NOW,
        lines=[ordering.ShipRequest(order.lines[0].id, 10, "B1", EXPIRY)],
    )
    assert shipment.lines[0].quantity == 10


def test_distributor_refuses_with_a_reason(market: Market, session: Session) -> None:
    order = market.order(10)
    with pytest.raises(ValidationFailed):
        ordering.decide_order(session, market.distributor_actor, order.id, accept=False, reason=None, now=NOW)
    ordering.decide_order(session, market.distributor_actor, order.id, accept=False, reason="缺货", now=NOW)
    assert (order.status, order.lines[0].status) == (OrderStatus.REFUSED, OrderLineStatus.REFUSED)
    with pytest.raises(InvalidState):
        ordering.decide_order(session, market.distributor_actor, order.id, accept=True, reason=None, now=NOW)


def test_shipments_never_exceed_what_remains(market: Market, session: Session) -> None:
    order = market.order(10)
    market.accept_and_ship(order.id, 6)
    assert order.status is OrderStatus.PARTIALLY_SHIPPED
    line_id = order.lines[0].id
    with pytest.raises(ValidationFailed) as err:
        ordering.ship(
            session,
            market.distributor_actor,
            order.id,
            now=NOW,
            lines=[ordering.ShipRequest(line_id, 5, "B2", EXPIRY)],
        )
    assert "lines.0.quantity" in err.value.fields
    ordering.ship(
        session,
        market.distributor_actor,
        order.id,
        now=NOW,
        lines=[ordering.ShipRequest(line_id, 4, "B2", EXPIRY)],
    )
    assert (order.status, order.lines[0].shipped_quantity) == (OrderStatus.SHIPPED, 10)


def test_cancel_only_what_has_not_shipped(market: Market, session: Session) -> None:
    order = market.order(10)
    market.accept_and_ship(order.id, 4)
    ordering.cancel_order(session, market.hospital_actor, order.id, reason="用量下降", now=NOW)
    line = order.lines[0]
    assert (line.cancelled_quantity, line.shipped_quantity, line.status) == (6, 4, OrderLineStatus.SHIPPED)
    assert order.status is OrderStatus.SHIPPED


def test_receipt_full_partial_and_rejected_and_completion(market: Market, session: Session) -> None:
    order = market.order(10)
    shipment = market.accept_and_ship(order.id, 10)
    ship_line = shipment.lines[0]
    with pytest.raises(ValidationFailed) as err:
        ordering.confirm_receipt(
            session,
            market.hospital_actor,
            ship_line.id,
            accepted=8,
            rejected=1,
            reason_code="damaged",
            now=NOW,
        )
    assert "accepted_quantity" in err.value.fields  # 8 + 1 ≠ 10
    with pytest.raises(ValidationFailed) as err:
        ordering.confirm_receipt(
            session, market.hospital_actor, ship_line.id, accepted=8, rejected=2, reason_code=None, now=NOW
        )
    assert "reason_code" in err.value.fields
    receipt = ordering.confirm_receipt(
        session, market.hospital_actor, ship_line.id, accepted=8, rejected=2, reason_code="damaged", now=NOW
    )
    assert receipt.accepted_on == NOW.date()  # the payment clock starts here
    line = order.lines[0]
    # The 2 rejected packs were never delivered: they remain to re-ship or to cancel.
    assert (line.accepted_quantity, line.rejected_quantity, line.status) == (
        8,
        2,
        OrderLineStatus.PARTIALLY_SHIPPED,
    )
    assert (ordering.remaining_to_ship(line), order.status) == (2, OrderStatus.PARTIALLY_SHIPPED)
    ordering.cancel_order(session, market.hospital_actor, order.id, reason="不再需要", now=NOW)
    assert (line.cancelled_quantity, line.status, order.status) == (
        2,
        OrderLineStatus.COMPLETED,
        OrderStatus.COMPLETED,
    )
    with pytest.raises(Conflict):
        ordering.confirm_receipt(
            session, market.hospital_actor, ship_line.id, accepted=10, rejected=0, reason_code=None, now=NOW
        )


def test_returns_are_their_own_records_and_never_exceed_accepted(market: Market, session: Session) -> None:
    order = market.order(10)
    ship_line = market.accept_and_ship(order.id, 10).lines[0]
    receipt = ordering.confirm_receipt(
        session, market.hospital_actor, ship_line.id, accepted=10, rejected=0, reason_code=None, now=NOW
    )
    ordering.record_return(session, market.hospital_actor, receipt.id, quantity=3, reason="近效期", now=NOW)
    with pytest.raises(ValidationFailed):
        ordering.record_return(session, market.hospital_actor, receipt.id, quantity=8, reason="x", now=NOW)
    assert order.lines[0].returned_quantity == 3
    assert _count(session, ReceiptLine) == 1


def test_orders_are_scoped_by_organization(market: Market, session: Session) -> None:
    order = market.order(10)
    w = market.world
    visible = {
        "hospital": market.hospital_actor,
        "distributor": market.distributor_actor,
        "manufacturer_a": w.actor(w.manufacturer("A")),
        "bureau": w.bureau,
    }
    for who, actor in visible.items():
        assert ordering.get_order(session, actor, order.id).id == order.id, who
    for actor in (market.other_hospital_actor, w.actor(w.manufacturer("B"))):
        with pytest.raises(NotFound):
            ordering.get_order(session, actor, order.id)


def test_agreed_volume_progress_and_over_volume_at_the_winning_price(
    market: Market, session: Session
) -> None:
    progress = {
        p.hospital_id: p
        for p in queries.agreed_volume_progress(session, market.hospital_actor, on=NOW.date())
    }
    mine = progress[market.hospital.id]
    assert set(progress) == {market.hospital.id}  # a hospital sees only its own
    agreed_packs = mine.agreed_quantity // 100
    order = market.order(agreed_packs + 15)  # 15 packs beyond the agreed volume
    ship_line = market.accept_and_ship(order.id, agreed_packs + 15).lines[0]
    ordering.confirm_receipt(
        session,
        market.hospital_actor,
        ship_line.id,
        accepted=agreed_packs + 15,
        rejected=0,
        reason_code=None,
        now=NOW,
    )
    after = next(
        p
        for p in queries.agreed_volume_progress(session, market.hospital_actor, on=NOW.date())
        if p.award_id == mine.award_id
    )
    assert after.accepted_quantity == (agreed_packs + 15) * 100
    assert after.over_volume_quantity == after.accepted_quantity - after.agreed_quantity
    assert after.completion_pct > Decimal("100")
    assert order.lines[0].pack_price_fen == market.award.pack_price_fen  # over-volume not repriced (§1.6)


def test_time_elapsed_of_the_cycle_year() -> None:
    assert queries.time_elapsed_pct(date(2026, 5, 1), date(2027, 4, 30), date(2026, 11, 1)) == Decimal(
        "50.41"
    )
    assert queries.time_elapsed_pct(date(2026, 5, 1), date(2028, 4, 30), date(2027, 5, 1)) == Decimal("0.00")
    assert queries.time_elapsed_pct(date(2026, 5, 1), date(2027, 4, 30), date(2026, 1, 1)) == Decimal("0.00")


def test_price_linked_application_is_refused_above_the_cap_and_flagged_above_the_reference(
    market: Market, session: Session
) -> None:
    maker = market.world.actor(market.world.manufacturer("A"))
    product = market.listing.product_id  # a winner: cap 1.5 × 20.00 = 30.00 per pack
    with pytest.raises(RuleViolation) as err:
        listings.apply_price_linked(
            session, maker, product_id=product, region_code="510500", pack_price_fen=3001, now=NOW
        )
    assert err.value.code == "above_linkage_cap"
    flagged = listings.apply_price_linked(
        session, maker, product_id=product, region_code="510500", pack_price_fen=2500, now=NOW
    )
    assert (flagged.reference_price_fen, flagged.price_flagged) == (2000, True)
    at_reference = listings.apply_price_linked(
        session, maker, product_id=product, region_code="510600", pack_price_fen=2000, now=NOW
    )
    assert at_reference.price_flagged is False


def test_filed_purchase_is_compared_with_the_reference_price(market: Market, session: Session) -> None:
    listings.add_reference_price(
        session,
        market.world.bureau,
        product_id=market.listing.product_id,
        pack_price_fen=1800,
        source="other_province_lowest",
        valid_on=NOW.date(),
        now=NOW,
    )
    filed = listings.file_purchase(
        session,
        market.hospital_actor,
        product_id=market.listing.product_id,
        pack_price_fen=1900,
        reason="临床急需",
        now=NOW,
    )
    assert (filed.reference_price_fen, filed.price_flagged, filed.hospital_id) == (
        1800,
        True,
        market.hospital.id,
    )
    order = market.order(2, listing=filed)
    assert order.lines[0].pack_price_fen == 1900


def test_off_platform_purchases_are_reported_per_month_and_category(market: Market, session: Session) -> None:
    first = purchases.report_off_platform(
        session,
        market.hospital_actor,
        month=date(2026, 4, 1),
        category=PurchaseCategory.DRUGS,
        amount_fen=1_500_000_00,
        now=NOW,
    )
    again = purchases.report_off_platform(
        session,
        market.hospital_actor,
        month=date(2026, 4, 1),
        category=PurchaseCategory.DRUGS,
        amount_fen=1_400_000_00,
        now=NOW,
    )
    assert (first.id, again.amount_fen) == (again.id, 1_400_000_00)
    with pytest.raises(ValidationFailed):
        purchases.report_off_platform(
            session,
            market.hospital_actor,
            month=date(2026, 4, 2),
            category=PurchaseCategory.DRUGS,
            amount_fen=1,
            now=NOW,
        )


def test_shipment_and_order_lines_are_scoped_to_the_parties(market: Market, session: Session) -> None:
    order = market.order(10)
    ship_line = market.accept_and_ship(order.id, 10).lines[0]
    w = market.world
    parties = [market.hospital_actor, market.distributor_actor, w.actor(w.manufacturer("A")), w.bureau]
    outsiders = [market.other_hospital_actor, w.actor(w.manufacturer("B"))]
    for actor in parties:
        assert [x.id for x in session.scalars(ordering.shipment_lines_visible_to(actor))] == [ship_line.id]
        assert [x.id for x in session.scalars(ordering.order_lines_visible_to(actor))] == [order.lines[0].id]
    for actor in outsiders:
        assert session.scalars(ordering.shipment_lines_visible_to(actor)).all() == []
        assert session.scalars(ordering.order_lines_visible_to(actor)).all() == []


def test_an_order_placed_after_a_rolled_back_one_in_the_same_session_answers_with_its_own_lines(
    market: Market, session: Session
) -> None:
    """Found by the simulation: SQLite reuses the ids of rolled-back rows, and lines returned by
    INSERT … RETURNING came back as the rolled-back order's objects still in the session."""
    savepoint = session.begin_nested()
    first = market.order(30)  # still referenced, as a caller may hold it
    savepoint.rollback()
    second = market.order(7)
    assert first is not second
    assert [line.quantity for line in second.lines] == [7]
    assert ordering.remaining_to_ship(second.lines[0]) == 7
