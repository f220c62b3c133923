"""Supply guarantee services and their warning rules (issue 18 item 1): first read and response
time, out of stock (缺货), the automatic void (作废) and ordering from the backup after it, supply
failures (断供) and the delivery rate; each rule just below, at and above its threshold."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

import ledger.supervision.supply_messages  # noqa: F401  (registers the messages)
from core import clock
from core.actors import Role
from core.errors import InvalidState, NotFound, PermissionDenied, ValidationFailed
from core.messages import Message
from ledger.models import Listing, Order, OrderLineStatus, OrderStatus
from ledger.services import authorizations, ordering
from ledger.supervision import delivery, supply
from ledger.supervision.settings import DEFAULTS
from ledger.supervision.supply_models import LineVoid, StockOut
from ledger.supervision.warnings import compute_warnings
from tests.factories import actor_of, make_user
from tests.ordering import EXPIRY, NOW, Market, make_market

TODAY = clock.business_date(NOW)


@pytest.fixture
def market(session: Session) -> Market:
    return make_market(session)


def _order(m: Market, quantity: int = 10, **kw: object) -> Order:
    return m.order(quantity, **kw)  # type: ignore[return-value]


def _accept(m: Market, order: Order) -> None:
    ordering.decide_order(m.session, m.distributor_actor, order.id, accept=True, reason=None, now=NOW)


def _ship(m: Market, order: Order, quantity: int, *, when=NOW) -> None:  # type: ignore[no-untyped-def]
    req = ordering.ShipRequest(order.lines[0].id, quantity, "B1", EXPIRY)
    ordering.ship(m.session, m.distributor_actor, order.id, lines=[req], now=when)


def _warnings(m: Market, rule: str, now=NOW, settings=DEFAULTS) -> dict[str, object]:  # type: ignore[no-untyped-def]
    from ledger.supervision.models import SupervisionWarning

    compute_warnings(m.session, now=now, settings=settings, rules=[rule])
    return {
        w.subject_key: w
        for w in m.session.scalars(
            select(SupervisionWarning).where(
                SupervisionWarning.rule == rule, SupervisionWarning.live_key.is_not(None)
            )
        )
    }


# --- first read and response time -----------------------------------------------------------------


def test_first_read_is_the_distributors_first_open_only(market: Market) -> None:
    order = _order(market)
    assert not supply.note_first_read(market.session, market.hospital_actor, order, now=NOW)
    assert order.first_read_at is None
    auditor = actor_of(make_user(market.session, market.distributor, Role.AUDITOR))
    assert not supply.note_first_read(market.session, auditor, order, now=NOW)
    colleague = actor_of(make_user(market.session, market.distributor, Role.OPERATOR))
    assert supply.note_first_read(market.session, colleague, order, now=NOW + timedelta(minutes=5))
    assert not supply.note_first_read(
        market.session, market.distributor_actor, order, now=NOW + timedelta(hours=1)
    )
    assert order.first_read_at == NOW + timedelta(minutes=5)
    assert order.first_read_by == colleague.user_id


def test_response_time_is_decided_minus_submitted(market: Market) -> None:
    from ledger.order_views import order_view

    order = _order(market)
    ordering.decide_order(
        market.session,
        market.distributor_actor,
        order.id,
        accept=True,
        reason=None,
        now=NOW + timedelta(minutes=161),
    )
    assert order_view(market.session, market.hospital_actor, order).response_minutes == 161


@pytest.mark.parametrize(
    ("waited", "fires"),
    [
        (timedelta(hours=24, seconds=-1), False),
        (timedelta(hours=24), False),
        (timedelta(hours=24, seconds=1), True),
    ],
)
def test_order_unanswered_fires_only_after_more_than_the_limit(
    market: Market, waited: timedelta, fires: bool
) -> None:
    order = _order(market)
    found = _warnings(market, "order_unanswered", now=NOW + waited)
    assert (f"order:{order.id}" in found) is fires
    if fires:
        assert found[f"order:{order.id}"].org_id == market.distributor.id  # type: ignore[attr-defined]


def test_an_answered_order_is_not_flagged(market: Market) -> None:
    order = _order(market)
    _accept(market, order)
    assert _warnings(market, "order_unanswered", now=NOW + timedelta(days=3)) == {}


# --- out of stock ---------------------------------------------------------------------------------


def test_out_of_stock_is_marked_messaged_flagged_and_cleared_by_shipping(market: Market) -> None:
    order = _order(market)
    _accept(market, order)
    line = order.lines[0]
    marking = supply.mark_out_of_stock(
        market.session,
        market.distributor_actor,
        order.id,
        line.id,
        reason="原料短缺",
        expected_on=TODAY + timedelta(days=3),
        now=NOW,
    )
    assert market.session.scalar(
        select(Message.kind).where(Message.org_id == market.hospital.id, Message.kind == "stock_out_marked")
    )
    assert f"order_line:{line.id}" in _warnings(market, "line_out_of_stock")
    again = supply.mark_out_of_stock(
        market.session,
        market.distributor_actor,
        order.id,
        line.id,
        reason="改期",
        expected_on=TODAY + timedelta(days=5),
        now=NOW,
    )
    assert again.corrects_id == marking.id
    assert marking.cleared_at == NOW
    assert list(supply.stock_outs_of(market.session, order.id)) == [line.id]
    _ship(market, order, 4)
    assert supply.stock_outs_of(market.session, order.id) == {}
    assert _warnings(market, "line_out_of_stock") == {}


@pytest.mark.parametrize(("days_later", "severity"), [(0, "low"), (1, "low"), (2, "high")])
def test_an_out_of_stock_line_turns_severe_only_after_its_expected_date(
    market: Market, days_later: int, severity: str
) -> None:
    """The rule has no numeric threshold; its boundary is the expected date: the day before and
    the day itself are a prompt, the day after is severe."""
    order = _order(market)
    _accept(market, order)
    line = order.lines[0]
    expected = TODAY + timedelta(days=1)
    supply.mark_out_of_stock(
        market.session,
        market.distributor_actor,
        order.id,
        line.id,
        reason="原料短缺",
        expected_on=expected,
        now=NOW,
    )
    found = _warnings(market, "line_out_of_stock", now=NOW + timedelta(days=days_later))
    assert found[f"order_line:{line.id}"].severity.value == severity  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("reason", "expected", "field"),
    [("", 1, "reason"), ("x" * 501, 1, "reason"), ("缺货", -1, "expected_on"), ("缺货", None, "expected_on")],
)
def test_bad_out_of_stock_marks_name_the_field_and_write_nothing(
    market: Market, reason: str, expected: int | None, field: str
) -> None:
    order = _order(market)
    _accept(market, order)
    day = None if expected is None else TODAY + timedelta(days=expected)
    with pytest.raises(ValidationFailed) as err:
        supply.mark_out_of_stock(
            market.session,
            market.distributor_actor,
            order.id,
            order.lines[0].id,
            reason=reason,
            expected_on=day,
            now=NOW,
        )
    assert field in err.value.fields
    assert market.session.scalar(select(StockOut.id)) is None


def test_only_the_orders_distributor_marks_and_only_open_lines(market: Market) -> None:
    order = _order(market)
    with pytest.raises(PermissionDenied):
        supply.mark_out_of_stock(
            market.session,
            market.hospital_actor,
            order.id,
            order.lines[0].id,
            reason="r",
            expected_on=TODAY,
            now=NOW,
        )
    stranger = actor_of(make_user(market.session, market.stranger_distributor, Role.OPERATOR))
    with pytest.raises(NotFound):
        supply.mark_out_of_stock(
            market.session, stranger, order.id, order.lines[0].id, reason="r", expected_on=TODAY, now=NOW
        )
    with pytest.raises(InvalidState):  # not accepted yet
        supply.mark_out_of_stock(
            market.session,
            market.distributor_actor,
            order.id,
            order.lines[0].id,
            reason="r",
            expected_on=TODAY,
            now=NOW,
        )


# --- auto-void ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("days_after", "voided"), [(6, False), (7, True), (8, True)])
def test_lines_are_voided_on_the_nth_day_after_ordering(
    market: Market, days_after: int, voided: bool
) -> None:
    order = _order(market, 10)
    _accept(market, order)
    _ship(market, order, 4)
    later = NOW + timedelta(days=days_after)
    summary = supply.void_unshipped_lines(market.session, market.world.bureau, now=later, days=7)
    line = order.lines[0]
    market.session.refresh(line)
    assert (summary.packs, line.cancelled_quantity) == ((6, 6) if voided else (0, 0))
    if voided:
        assert line.status is not OrderLineStatus.OPEN
        void = market.session.scalars(select(LineVoid)).one()
        assert (void.quantity, void.reason) == (6, "作废：下单7日未配送")
        kinds = set(market.session.scalars(select(Message.org_id).where(Message.kind == "lines_voided")))
        assert kinds == {market.hospital.id, market.distributor.id}
        again = supply.void_unshipped_lines(market.session, market.world.bureau, now=later, days=7)
        assert again.packs == 0


def test_a_never_answered_order_is_voided_whole(market: Market) -> None:
    order = _order(market, 5)
    supply.void_unshipped_lines(market.session, market.world.bureau, now=NOW + timedelta(days=7), days=7)
    market.session.refresh(order)
    assert order.status is OrderStatus.CANCELLED


def test_only_the_bureau_voids(market: Market) -> None:
    with pytest.raises(PermissionDenied):
        supply.void_unshipped_lines(market.session, market.hospital_actor, now=NOW, days=7)


def test_after_a_void_the_hospital_orders_the_backup(market: Market) -> None:
    """Nothing blocks the backup listing: it is listed in the region (create_vbp_listings) and a
    distributor the backup winner authorized can take the order."""
    _order(market, 5)
    supply.void_unshipped_lines(market.session, market.world.bureau, now=NOW + timedelta(days=7), days=7)
    backup = market.session.scalars(select(Listing).where(Listing.supply_role == "backup")).one()
    maker = market.world.actor(market.world.manufacturer("B"))
    authorizations.authorize_distributor(
        market.session,
        maker,
        distributor_id=market.distributor.id,
        product_id=None,
        region_code="510100",
        now=NOW,
    )
    placed = _order(market, 5, listing=backup, now=NOW + timedelta(days=7))
    assert placed.lines[0].award_id == backup.award_id
    assert placed.lines[0].pack_price_fen == backup.pack_price_fen


# --- supply failures and the delivery rate --------------------------------------------------------


def _delivered(m: Market, ordered: int, delivered: int) -> Order:
    order = _order(m, ordered)
    _accept(m, order)
    if delivered:
        _ship(m, order, delivered)
    return order


@pytest.mark.parametrize(("delivered", "fires"), [(89, True), (90, False), (91, False)])
def test_delivery_rate_low_fires_below_the_floor_only(market: Market, delivered: int, fires: bool) -> None:
    _delivered(market, 100, delivered)
    found = _warnings(market, "delivery_rate_low")
    key = f"award_region:{market.award.id}:510100"
    assert (key in found) is fires
    if fires:
        warning = found[key]
        assert warning.org_id == market.award.manufacturer_id  # type: ignore[attr-defined]
        assert warning.value == "89.00"  # type: ignore[attr-defined]


def test_voided_packs_count_against_the_delivery_rate(market: Market) -> None:
    _delivered(market, 100, 50)
    supply.void_unshipped_lines(market.session, market.world.bureau, now=NOW + timedelta(days=7), days=7)
    ev = delivery.delivery_evidence(
        market.session, award_id=market.award.id, region_code="510100", first_day=TODAY, last_day=TODAY
    )
    assert (ev.ordered_packs, ev.delivered_packs, ev.voided_lines) == (100, 50, 1)
    assert f"award_region:{market.award.id}:510100" in _warnings(
        market, "delivery_rate_low", settings=replace(DEFAULTS, window_days=30), now=NOW + timedelta(days=7)
    )


def test_no_orders_no_delivery_warning(market: Market) -> None:
    assert _warnings(market, "delivery_rate_low") == {}


def test_supply_failure_records_the_evidence_and_tells_the_winner(market: Market) -> None:
    _delivered(market, 10, 5)
    refused = _order(market, 3)
    ordering.decide_order(
        market.session, market.distributor_actor, refused.id, accept=False, reason="无货", now=NOW
    )
    failure = supply.record_supply_failure(
        market.session,
        market.world.bureau,
        award_id=market.award.id,
        region_code="510100",
        first_day=TODAY - timedelta(days=30),
        last_day=TODAY,
        note="多次拒单",
        now=NOW,
    )
    assert (failure.ordered_lines, failure.refused_lines, failure.ordered_packs, failure.delivered_packs) == (
        2,
        1,
        13,
        5,
    )
    assert market.session.scalar(
        select(Message.id).where(
            Message.org_id == market.award.manufacturer_id, Message.kind == "supply_failure_recorded"
        )
    )
    maker = market.world.actor(market.world.manufacturer("A"))
    other = market.world.actor(market.world.manufacturer("B"))
    assert market.session.scalars(supply.supply_failures_visible_to(maker)).all() == [failure]
    assert market.session.scalars(supply.supply_failures_visible_to(other)).all() == []
    assert market.session.scalars(supply.supply_failures_visible_to(market.hospital_actor)).all() == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"award_id": 999_999}, "award_id"),
        ({"region_code": "<b>"}, "region_code"),
        ({"note": " "}, "note"),
        ({"first_day": TODAY + timedelta(days=1)}, "first_day"),
        ({"last_day": TODAY + timedelta(days=1), "first_day": TODAY}, "last_day"),
    ],
)
def test_bad_supply_failures_name_the_field(market: Market, change: dict[str, object], field: str) -> None:
    values: dict[str, object] = {
        "award_id": market.award.id,
        "region_code": "510100",
        "first_day": TODAY - timedelta(days=3),
        "last_day": TODAY,
        "note": "断供",
        **change,
    }
    with pytest.raises(ValidationFailed) as err:
        supply.record_supply_failure(market.session, market.world.bureau, now=NOW, **values)  # type: ignore[arg-type]
    assert field in err.value.fields
    with pytest.raises(PermissionDenied):
        supply.record_supply_failure(
            market.session,
            market.hospital_actor,
            now=NOW,
            **{**values, "award_id": market.award.id},  # type: ignore[arg-type]
        )


def test_the_daily_job_voids_with_the_configured_days(market: Market, tmp_path: object) -> None:
    from app.config import Config
    from app.scheduler import JOBS, JobContext

    order = _order(market, 6)
    config = Config(env="testing", supervision=replace(DEFAULTS, void_after_days=3))
    ctx = JobContext(config=config, instance_path=tmp_path, sealer_factory=lambda: None)  # type: ignore[arg-type]
    job = JOBS["void_unshipped_lines"]
    assert job.run(market.session, NOW + timedelta(days=2), ctx)["packs"] == 0
    assert job.run(market.session, NOW + timedelta(days=3), ctx)["packs"] == 6
    market.session.refresh(order)
    assert order.status is OrderStatus.CANCELLED
