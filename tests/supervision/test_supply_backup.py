"""Backup activation (备供启用): listings switch, exactly the remaining agreed volume moves and the
item's total is unchanged to the unit, a failure half-way writes nothing, a second activation of the
same region is a 409, and a reversal switches back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import ledger.supervision.supply_messages  # noqa: F401  (registers the messages)
from bidding.models import Award, VolumeAllocation
from core.audit import AuditEvent
from core.errors import InvalidState, PermissionDenied, ValidationFailed
from core.messages import Message
from ledger.models import Listing, ListingStatus
from ledger.services import ordering
from ledger.supervision import backup
from ledger.supervision.supply_models import BackupActivation, VolumeMove
from tests.ordering import NOW, Market, make_market


@pytest.fixture
def market(session: Session) -> Market:
    return make_market(session)


def _backup_award(m: Market) -> Award:
    return m.session.scalars(select(Award).where(Award.id != m.award.id)).one()


def _bought(m: Market, packs: int) -> None:
    """The hospital buys `packs` from the primary and accepts them (completed units)."""
    order = m.order(packs)
    m.accept_and_ship(order.id, packs)  # type: ignore[attr-defined]
    line = m.session.scalars(ordering.shipment_lines_visible_to(m.hospital_actor)).all()[-1]
    ordering.confirm_receipt(
        m.session, m.hospital_actor, line.id, accepted=packs, rejected=0, reason_code=None, now=NOW
    )


def _allocations(m: Market) -> dict[tuple[int, int], int]:
    return {
        (a.hospital_id, a.award_id): a.agreed_quantity
        for a in m.session.scalars(
            select(VolumeAllocation).where(VolumeAllocation.item_id == m.award.item_id)
        )
    }


def _activate(m: Market, **kw: object) -> BackupActivation:
    values: dict[str, object] = {
        "item_id": m.award.item_id,
        "region_code": "510100",
        "to_award_id": _backup_award(m).id,
        "reason": "主供企业断供",
        "now": NOW,
        **kw,
    }
    return backup.activate_backup(m.session, m.world.bureau, **values)  # type: ignore[arg-type]


def _listing(m: Market, award_id: int) -> Listing:
    return m.session.scalars(select(Listing).where(Listing.award_id == award_id)).one()


def test_activation_moves_exactly_the_remaining_volume_and_keeps_the_total(market: Market) -> None:
    units = market.listing.product.units_per_pack
    _bought(market, 100)
    before = _allocations(market)
    total = sum(before.values())
    activation = _activate(market)
    after = _allocations(market)
    b = _backup_award(market).id
    a = market.award.id
    h, o = market.hospital.id, market.other_hospital.id
    assert sum(after.values()) == total
    assert after[(h, a)] == 100 * units
    assert after[(o, a)] == 0
    assert after[(h, b)] == before[(h, a)] - 100 * units
    assert after[(o, b)] == before[(o, a)]
    moves = {m.hospital_id: m.quantity for m in market.session.scalars(select(VolumeMove))}
    assert moves == {h: after[(h, b)], o: after[(o, b)]}
    assert activation.moved_units == sum(moves.values())
    assert _listing(market, a).status is ListingStatus.SUSPENDED
    assert _listing(market, a).status_reason == "备供启用"
    assert (_listing(market, b).status, _listing(market, b).supply_role) == (ListingStatus.LISTED, "primary")
    told = set(market.session.scalars(select(Message.org_id).where(Message.kind == "backup_activated")))
    assert {h, o} <= told


def test_an_activation_that_fails_half_way_writes_nothing(
    market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    _bought(market, 10)
    before = _allocations(market)
    listings = {(lst.id, lst.status, lst.supply_role) for lst in market.session.scalars(select(Listing))}
    events = market.session.scalar(select(func.count()).select_from(AuditEvent))

    def boom(*args: object, **kw: object) -> None:
        raise RuntimeError("injected after the volume moves")

    monkeypatch.setattr(backup, "_switch_listings", boom)
    with pytest.raises(RuntimeError):
        _activate(market)
    market.session.expire_all()
    assert _allocations(market) == before
    assert market.session.scalar(select(func.count()).select_from(BackupActivation)) == 0
    assert market.session.scalar(select(func.count()).select_from(VolumeMove)) == 0
    assert {
        (lst.id, lst.status, lst.supply_role) for lst in market.session.scalars(select(Listing))
    } == listings
    assert market.session.scalar(select(func.count()).select_from(AuditEvent)) == events


def test_a_second_activation_of_the_same_region_is_a_conflict(market: Market) -> None:
    _activate(market, from_award_id=market.award.id)
    before = _allocations(market)
    with pytest.raises(InvalidState):
        _activate(market, from_award_id=market.award.id)
    assert _allocations(market) == before
    assert market.session.scalar(select(func.count()).select_from(BackupActivation)) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"item_id": 999_999}, "item_id"),
        ({"to_award_id": 999_999}, "to_award_id"),
        ({"region_code": "520100"}, "to_award_id"),
        ({"reason": "  "}, "reason"),
        ({"supply_failure_id": 999_999}, "supply_failure_id"),
    ],
)
def test_bad_activations_name_the_field_and_write_nothing(
    market: Market, change: dict[str, object], field: str
) -> None:
    with pytest.raises(ValidationFailed) as err:
        _activate(market, **change)
    assert field in err.value.fields
    assert market.session.scalar(select(func.count()).select_from(BackupActivation)) == 0


def test_the_primary_itself_is_not_a_backup_and_only_the_bureau_activates(market: Market) -> None:
    with pytest.raises(ValidationFailed):
        _activate(market, to_award_id=market.award.id)
    with pytest.raises(PermissionDenied):
        backup.activate_backup(
            market.session,
            market.hospital_actor,
            item_id=market.award.item_id,
            region_code="510100",
            to_award_id=_backup_award(market).id,
            reason="x",
            now=NOW,
        )


def test_a_reversal_switches_back_and_returns_what_was_moved(market: Market) -> None:
    before = _allocations(market)
    first = _activate(market)
    back = backup.reverse_activation(
        market.session, market.world.bureau, first.id, reason="主供恢复", now=NOW + timedelta(days=1)
    )
    assert back.reverses_id == first.id
    assert back.moved_units == first.moved_units
    after = _allocations(market)
    assert {k: v for k, v in after.items() if v} == {k: v for k, v in before.items() if v}
    b = _backup_award(market).id
    assert (_listing(market, market.award.id).status, _listing(market, market.award.id).supply_role) == (
        ListingStatus.LISTED,
        "primary",
    )
    assert (_listing(market, b).status, _listing(market, b).supply_role) == (ListingStatus.LISTED, "backup")
    with pytest.raises(InvalidState):
        backup.reverse_activation(market.session, market.world.bureau, first.id, reason="again", now=NOW)


def test_hospitals_order_the_backup_at_its_winning_price_after_activation(market: Market) -> None:
    from ledger.services import authorizations

    _activate(market)
    b = _backup_award(market)
    maker = market.world.actor(market.world.manufacturer("B"))
    authorizations.authorize_distributor(
        market.session,
        maker,
        distributor_id=market.distributor.id,
        product_id=None,
        region_code="510100",
        now=NOW,
    )
    order = market.order(3, listing=_listing(market, b.id))
    assert order.lines[0].pack_price_fen == b.pack_price_fen  # type: ignore[attr-defined]
    with pytest.raises(ValidationFailed):
        market.order(3)  # the suspended primary takes no new orders
