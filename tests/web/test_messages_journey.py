"""Browser journeys of the 待办 home, messages and notices: each kind of user opens its home and
sees its deadlines with the time left; the distributor ships and the hospital receives "delivery
arrived", opens it, lands on the order and sees its unread count drop; the bureau publishes a
notice that a hospital reads. Screenshots: test-artifacts/screenshots/<db>/messages_journey/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from app.db import Database
from bidding.models import BatchStatus
from core import clock
from core.actors import OrgKind, Role
from tests import flows
from tests.factories import actor_of, make_org, make_user
from tests.ordering import make_market
from tests.tendering import live_batch
from tests.web.conftest import Site, needs_browser, serve, zh

pytestmark = needs_browser


def _seed(db: Database) -> dict[str, int]:
    """Orders placed in the scenario's past (their delivery is overdue), a received and invoiced
    delivery (its payment is due), a batch open for bids now, one user per kind; all committed."""
    with db.sessionmaker() as session:
        market = make_market(session)
        to_ship: Any = market.order(20)
        market.order(5)
        bought = flows.buy(market, 10, on=date(2026, 5, 11))
        flows.invoice(market, bought, 10, on=date(2026, 5, 12))
        make_user(session, market.hospital, Role.OPERATOR, username="home-hospital")
        make_user(session, market.distributor, Role.OPERATOR, username="home-distributor")
        bureau_org = make_org(session, OrgKind.BUREAU, name="待办测试医保局")
        bureau = actor_of(make_user(session, bureau_org, Role.ADMIN, username="home-bureau"))
        now = clock.now()
        world = live_batch(
            session,
            bureau,
            name="待办测试投标批次",
            generic_name="待办测试药",
            bid_closes_in=timedelta(days=3, hours=4),
        )
        batch = world.batch
        maker = world.manufacturer("待办")
        make_user(session, maker, Role.OPERATOR, username="home-manufacturer")
        world.to(BatchStatus.DEMAND_COLLECTION, now - timedelta(days=9))
        world.to(BatchStatus.BIDDING, now - timedelta(hours=23))
        session.commit()
        return {"to_ship": to_ship.id, "batch": batch.id}


@pytest.fixture(scope="module")
def site(
    databases: Any, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Site]:
    with serve(databases, tmp_path_factory, request, _seed) as served:
        yield served


def _unread(j: Any) -> int:
    text = j.page.locator("a.nav-messages").inner_text()
    found = re.search(r"(\d+)", text)
    return int(found.group(1)) if found else 0


def _deadline_rows(j: Any, kind: str) -> list[str]:
    rows = j.page.locator(f"tr[data-deadline='{kind}']")
    return [rows.nth(i).inner_text() for i in range(rows.count())]


@pytest.mark.parametrize(
    ("user", "kinds"),
    [
        ("home-hospital", ("delivery_deadline", "payment_due")),
        ("home-distributor", ("delivery_deadline", "payment_due")),
        ("home-manufacturer", ("bid_close",)),
        ("home-bureau", ("bid_close", "delivery_deadline")),
    ],
)
def test_each_kind_of_user_sees_its_deadlines_with_the_time_left(
    journey: Any, site: Site, user: str, kinds: tuple[str, ...]
) -> None:
    j = journey(user.removeprefix("home-"))
    j.login(user)
    assert j.page.get_by_role("heading", name=re.compile(zh("Deadlines"))).is_visible()
    for kind in kinds:
        rows = _deadline_rows(j, kind)
        assert rows, kind
        assert zh(dict(DEADLINE_WORDS)[kind]) in rows[0]
    if "bid_close" in kinds:
        # Bids close in 3 days 4 hours (less the minutes the seed and the login took).
        assert re.search(r"剩余 3 天 [34] 小时", _deadline_rows(j, "bid_close")[0])
    if "delivery_deadline" in kinds:
        assert "已逾期" in _deadline_rows(j, "delivery_deadline")[0]
    j.shot("home")


DEADLINE_WORDS = (
    ("delivery_deadline", "Delivery deadline"),
    ("payment_due", "Payment due"),
    ("bid_close", "Bids close"),
)


def test_the_distributor_ships_and_the_hospital_opens_delivery_arrived(journey: Any, site: Site) -> None:
    order_id = site.ids["to_ship"]
    hospital = journey("hospital-inbox")
    hospital.login("home-hospital")
    before = _unread(hospital)
    hospital.shot("home-before")

    distributor = journey("distributor-ships")
    distributor.login("home-distributor")
    assert _unread(distributor) >= 1  # the orders the hospital placed reached it
    page = distributor.page
    page.goto(f"{site.url}/orders/{order_id}")
    page.get_by_role("button", name=zh("Accept order")).click()
    assert distributor.flash() == zh("Order accepted.")
    ship = page.locator("form[action$='/shipments']")
    ship.get_by_label(zh("Delivery note number")).fill("PS-2026-0099")
    ship.locator("input[name^='batch-']").fill("B2026H01")
    ship.locator("input[name^='expiry-']").fill("2028-06-30")
    ship.get_by_role("button", name=zh("Record shipment")).click()
    assert page.locator("#order-status").inner_text() == zh("Shipped")
    distributor.shot("shipped")

    hospital.page.reload()
    assert _unread(hospital) == before + 2  # accepted, and the delivery arrived
    hospital.shot("badge")
    hospital.page.locator("a.nav-messages").click()
    hospital.shot("messages")
    first = hospital.page.locator("tr.unread").first
    assert zh("Delivery arrived") in first.inner_text()
    first.get_by_role("link", name=zh("Delivery arrived")).click()
    hospital.page.wait_for_url(f"{site.url}/orders/{order_id}")
    assert "B2026H01" in hospital.page.locator("table").last.inner_text()
    assert _unread(hospital) == before + 1
    hospital.shot("order")


def test_the_bureau_publishes_a_notice_that_a_hospital_reads(journey: Any, site: Site) -> None:
    bureau = journey("bureau-notice")
    bureau.login("home-bureau")
    page = bureau.page
    page.on("dialog", lambda dialog: dialog.accept())  # the publish button asks first (data-confirm)
    page.get_by_role("link", name=zh("Notices"), exact=True).click()
    page.get_by_text(zh("Write a notice")).click()
    page.get_by_label(zh("Title")).fill("关于做好第十批集采中选结果落地执行的通知")
    page.get_by_label(zh("Text")).fill("各医疗机构：\n请于本月底前完成首年约定采购量的分解。")
    bureau.shot("draft-form")
    page.get_by_role("button", name=zh("Save as draft")).click()
    assert bureau.flash() == zh("The notice was saved as a draft.")
    bureau.shot("draft")
    page.get_by_role("button", name=zh("Publish"), exact=True).click()
    assert bureau.flash() == zh("The notice is published.")
    bureau.shot("published")

    hospital = journey("hospital-notice")
    hospital.login("home-hospital")
    hospital.page.locator("a.nav-messages").click()
    news = hospital.page.locator("tr.unread", has_text=zh("New notice from the bureau")).first
    assert "关于做好第十批集采中选结果落地执行的通知" in news.inner_text()
    hospital.shot("message")
    news.get_by_role("link", name=zh("New notice from the bureau")).click()
    assert "请于本月底前完成首年约定采购量的分解。" in hospital.page.locator("main").inner_text()
    assert hospital.page.get_by_role("button", name=zh("Publish")).count() == 0
    hospital.shot("notice")
    hospital.page.get_by_role("link", name=zh("Notices"), exact=True).click()
    assert hospital.page.get_by_role("link", name="关于做好第十批集采中选结果落地执行的通知").is_visible()
    hospital.shot("notices")
