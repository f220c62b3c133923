"""价格联动挂网 with the bureau's review (vbp-rules.md §3: listings move applied → under review →
listed; a price above the lowest one the platform holds carries a high-price warning). A flagged
application waits, `applied`, until the bureau approves it (listed) or refuses it (delisted);
one at or below the reference lists at once. Both decisions go through the listing state table
(ledger/states.py) and are audited. Holding flagged applications is a setting
(`listings.HOLD_FLAGGED_FOR_REVIEW`, or `hold_flagged=` per call) because the sources also read as
"list with a warning"."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.audit import AuditEvent
from core.errors import InvalidState, NotFound, PermissionDenied, ValidationFailed
from ledger import states
from ledger.models import Listing, ListingStatus
from ledger.services import listings
from tests.ordering import NOW, Market, make_market


@pytest.fixture
def market(session: Session) -> Market:
    return make_market(session)


def _apply(market: Market, session: Session, price_fen: int, region: str = "510500", **kw: object) -> Listing:
    maker = market.world.actor(market.world.manufacturer("A"))
    return listings.apply_price_linked(
        session,
        maker,
        product_id=market.listing.product_id,  # a winner at 20.00: the lowest price held
        region_code=region,
        pack_price_fen=price_fen,
        now=NOW,
        **kw,  # type: ignore[arg-type]
    )


def _actions(session: Session, listing: Listing) -> list[str]:
    return list(
        session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.subject_type == "listing", AuditEvent.subject_id == str(listing.id))
            .order_by(AuditEvent.id)
        )
    )


def test_a_flagged_application_waits_for_the_bureau_and_cannot_be_ordered(
    market: Market, session: Session
) -> None:
    held = _apply(market, session, 2500)
    assert (held.price_flagged, held.status) == (True, ListingStatus.APPLIED)
    assert _actions(session, held) == ["listing.create"]
    with pytest.raises(ValidationFailed) as err:
        market.order(1, listing=held)
    assert "lines.0.listing_id" in err.value.fields


def test_an_application_at_or_below_the_reference_lists_at_once(market: Market, session: Session) -> None:
    listed = _apply(market, session, 2000)
    assert (listed.price_flagged, listed.status) == (False, ListingStatus.LISTED)


def test_holding_flagged_applications_is_a_setting(market: Market, session: Session) -> None:
    assert listings.HOLD_FLAGGED_FOR_REVIEW is True
    warned = _apply(market, session, 2500, hold_flagged=False)
    assert (warned.price_flagged, warned.status) == (True, ListingStatus.LISTED)


def test_the_bureau_approves_a_held_application_and_it_is_audited(market: Market, session: Session) -> None:
    held = _apply(market, session, 2500)
    approved = listings.change_listing_status(
        session, market.world.bureau, held.id, to=ListingStatus.LISTED, reason="与外省最低价一致", now=NOW
    )
    assert approved.status is ListingStatus.LISTED
    assert approved.status_reason == "与外省最低价一致"
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "listing.status", AuditEvent.subject_id == str(held.id))
    ).one()
    assert (event.before, event.after["status"]) == ({"status": "applied"}, "listed")
    with pytest.raises(InvalidState) as err:  # approving twice is not a transition
        listings.change_listing_status(
            session, market.world.bureau, held.id, to=ListingStatus.LISTED, reason="再次", now=NOW
        )
    assert err.value.code == "illegal_transition"


def test_the_bureau_refuses_a_held_application_for_good(market: Market, session: Session) -> None:
    held = _apply(market, session, 2500)
    with pytest.raises(InvalidState):  # an application is not suspended: approve or refuse
        listings.change_listing_status(
            session, market.world.bureau, held.id, to=ListingStatus.SUSPENDED, reason="x", now=NOW
        )
    refused = listings.change_listing_status(
        session, market.world.bureau, held.id, to=ListingStatus.DELISTED, reason="高于外省最低价", now=NOW
    )
    assert refused.status is ListingStatus.DELISTED
    assert _actions(session, held) == ["listing.create", "listing.status"]
    with pytest.raises(InvalidState):
        listings.change_listing_status(
            session, market.world.bureau, held.id, to=ListingStatus.LISTED, reason="x", now=NOW
        )


def test_only_the_bureau_decides(market: Market, session: Session) -> None:
    held = _apply(market, session, 2500)
    maker = market.world.actor(market.world.manufacturer("A"))
    with pytest.raises((PermissionDenied, NotFound)):
        listings.change_listing_status(session, maker, held.id, to=ListingStatus.LISTED, reason="x", now=NOW)
    assert held.status is ListingStatus.APPLIED


def test_the_listing_table_is_the_one_the_service_uses() -> None:
    machine = states.ALL["listing"]
    assert machine is states.LISTING
    assert machine.allows(ListingStatus.APPLIED, ListingStatus.LISTED)
    assert machine.allows(ListingStatus.APPLIED, ListingStatus.DELISTED)
    assert not machine.allows(ListingStatus.APPLIED, ListingStatus.SUSPENDED)
    assert machine.terminal == {ListingStatus.DELISTED}
