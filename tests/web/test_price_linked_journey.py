"""The bureau reviews price-linked applications in a real browser: an application above the
lowest price the platform holds waits, 已申请, with the high-price warning; the bureau refuses one
(the browser asks first, data-confirm) and approves the other; prices read as core.money prints them.
Screenshots: test-artifacts/screenshots/<db>/price_linked_journey/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from app.db import Database
from core import clock
from core.actors import Role
from core.money import fen_to_display
from core.organizations import Organization
from ledger.models import Listing, ListingStatus
from ledger.services import listings
from tests.factories import make_user
from tests.ordering import make_market
from tests.web.conftest import Site, needs_browser, serve, zh

pytestmark = needs_browser


def _seed(db: Database) -> dict[str, int]:
    """Two flagged price-linked applications held for review (德阳, 绵阳) and a bureau admin."""
    with db.sessionmaker() as session:
        market = make_market(session)
        winner = market.world.actor(session.get_one(Organization, market.award.manufacturer_id))
        held = {}
        for region in ("510600", "510700"):
            held[region] = listings.apply_price_linked(
                session,
                winner,
                product_id=market.award.product_id,
                region_code=region,
                pack_price_fen=market.award.pack_price_fen + 1,
                now=clock.now(),
                hold_flagged=True,
            )
        bureau_org = session.get_one(Organization, market.world.bureau.org_id)
        make_user(session, bureau_org, Role.ADMIN, username="linked-bureau")
        session.commit()
        price = held["510600"].pack_price_fen
        return {"deyang": held["510600"].id, "mianyang": held["510700"].id, "price": price}


@pytest.fixture(scope="module")
def site(
    databases: Any, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Site]:
    with serve(databases, tmp_path_factory, request, _seed) as served:
        yield served


def _status(site: Site, listing_id: int) -> ListingStatus:
    with site.db.sessionmaker() as session:
        return session.get_one(Listing, listing_id).status


def test_the_bureau_refuses_one_held_application_and_approves_the_other(journey: Any, site: Site) -> None:
    j = journey("bureau")
    page = j.page
    j.login("linked-bureau")
    j.go("/bureau/listings/price-linked")
    rows = page.locator("#price-linked tbody tr")
    assert rows.count() == 2
    for n in range(2):
        text = rows.nth(n).inner_text()
        assert zh("Above the reference price") in text
        assert "已申请" in text
        assert fen_to_display(site.ids["price"]) in text
    assert zh("Such an application waits for your review: approve it to list it, or refuse it.") in (
        page.locator("main").inner_text()
    )
    j.shot("held-applications")

    refused = page.locator("#price-linked tbody tr", has_text="德阳市")
    refused.get_by_placeholder(zh("Reason")).fill("高于外省最低挂网价")
    j.shot("refusal-reason")
    refused.get_by_role("button", name=zh("Refuse listing")).click()
    page.wait_for_load_state()
    assert j.dialogs
    assert j.dialogs[-1].startswith("拒绝挂网申请")
    assert _status(site, site.ids["deyang"]) is ListingStatus.DELISTED
    j.shot("refused")

    approved = page.locator("#price-linked tbody tr", has_text="绵阳市")
    approved.get_by_placeholder(zh("Reason")).fill("与外省最低价一致，同意挂网")
    approved.get_by_role("button", name=zh("Approve and list")).click()
    page.wait_for_load_state()
    assert zh("Listing %(id)s is now %(status)s.").split("%(id)s")[0] in j.flash()
    assert _status(site, site.ids["mianyang"]) is ListingStatus.LISTED
    assert "已挂网" in page.locator("#price-linked tbody tr", has_text="绵阳市").inner_text()
    j.shot("approved")
