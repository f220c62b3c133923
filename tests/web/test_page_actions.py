"""What a page offers works when it is used as the page renders it (issue 17, "Broken"): the forms
are read off the HTML and submitted with exactly the fields they carry, as a browser would.

* the bureau suspends and delists a listing from the listings page;
* the batch page offers one next step at a time, and that step moves the batch;
* every dashboard count equals the number of records in the list it links to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bidding.models import BatchStatus
from core.actors import OrgKind, Role
from core.audit import AuditEvent
from core.organizations import Organization
from ledger.models import Listing, ListingStatus
from ledger.services import ordering
from tests.factories import make_org, make_user
from tests.ordering import EXPIRY, NOW, make_market
from tests.tendering import AT_OPENING, DURING_BIDDING, SEALER, T0, make_world
from tests.web.test_pages import web_login


@dataclass
class Form:
    action: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[str] = field(default_factory=list)


class _Forms(HTMLParser):
    """The POST forms of a page with the values a browser would send untouched (hidden and text
    inputs as rendered, a select's selected or first option) and the text of their buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: str | None = None
        self._button = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "get").lower() == "post":
            self._form = Form(a.get("action", ""))
            self.forms.append(self._form)
        elif self._form is None:
            return
        elif tag == "input" and a.get("name"):
            self._form.fields[a["name"]] = a.get("value", "")
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
        elif tag == "option" and self._select is not None:
            if self._select not in self._form.fields or "selected" in a:
                self._form.fields[self._select] = a.get("value", "")
        elif tag == "button":
            self._button = True
            self._form.buttons.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "button":
            self._button = False

    def handle_data(self, data: str) -> None:
        if self._button and self._form is not None:
            self._form.buttons[-1] += data.strip()


def post_forms(html: str) -> list[Form]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


@pytest.fixture
def clock_at(monkeypatch: pytest.MonkeyPatch) -> Any:
    state = {"now": NOW}
    monkeypatch.setattr("core.clock.now", lambda: state["now"])

    def set_to(when: datetime) -> None:
        state["now"] = when

    return set_to


# --- listings ---------------------------------------------------------------------------------


def listing_form(client: FlaskClient, page: str, listing_id: int) -> Form:
    """The status form of one listing on the listings page (the form that names it)."""
    forms = [f for f in post_forms(client.get(page).get_data(as_text=True)) if "to" in f.fields]
    (form,) = [
        f for f in forms if f"/{listing_id}/" in f.action or f.fields.get("listing_id") == str(listing_id)
    ]
    return form


def test_the_bureau_suspends_restores_and_delists_a_listing_with_the_listing_pages_form(
    app: Flask, session: Session
) -> None:
    market = make_market(session)
    listing_id = market.listing.id
    bureau = make_user(session, session.get(Organization, market.world.bureau.org_id), Role.OPERATOR)
    session.commit()
    client = app.test_client()
    web_login(client, bureau.username)

    def change(to: ListingStatus, reason: str, *, page: str = "/bureau/listings") -> None:
        form = listing_form(client, page, listing_id)
        response = client.post(form.action, data=form.fields | {"to": to.value, "reason": reason})
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        shown = client.get(response.headers["Location"]).get_data(as_text=True)
        assert "未知字段" not in shown
        assert "unknown field" not in shown.lower()
        session.expire_all()
        assert session.get(Listing, listing_id).status is to

    change(ListingStatus.SUSPENDED, "企业断供，暂停挂网")
    change(ListingStatus.LISTED, "恢复供应", page="/bureau/listings?status=suspended")
    change(ListingStatus.DELISTED, "撤销挂网")
    reasons = [
        (e.after or {}).get("reason")
        for e in session.scalars(
            select(AuditEvent).where(
                AuditEvent.subject_type == "listing", AuditEvent.subject_id == str(listing_id)
            )
        )
    ]
    assert {"企业断供，暂停挂网", "恢复供应", "撤销挂网"} <= set(reasons)


def test_a_listing_change_without_a_reason_is_refused_and_changes_nothing(
    app: Flask, session: Session
) -> None:
    market = make_market(session)
    bureau = make_user(session, session.get(Organization, market.world.bureau.org_id), Role.OPERATOR)
    session.commit()
    client = app.test_client()
    web_login(client, bureau.username)
    form = listing_form(client, "/bureau/listings", market.listing.id)
    response = client.post(
        form.action, data=form.fields | {"to": "suspended", "reason": ""}, follow_redirects=True
    )
    assert "reason" in response.get_data(as_text=True)
    session.expire_all()
    assert session.get(Listing, market.listing.id).status is ListingStatus.LISTED


# --- the batch page ---------------------------------------------------------------------------


def test_the_batch_page_offers_one_next_step_at_a_time_and_it_moves_the_batch(
    app: Flask, session: Session, clock_at: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Walk a batch from draft to closed by pressing the one button the page offers at each
    step (the page used to offer "转为：已开标", which always failed, beside the opening button)."""
    monkeypatch.setitem(app.extensions, "vbp.sealer", SEALER)  # the bids below are sealed with it
    world = make_world(session)
    hospital = make_org(session, OrgKind.HOSPITAL, region_code="510104")
    bureau = make_user(session, session.get(Organization, world.bureau.org_id), Role.OPERATOR)
    session.commit()
    client = app.test_client()
    web_login(client, bureau.username)
    url = f"/bureau/batches/{world.batch.id}"
    clock_at(T0 - timedelta(days=1))
    walked = []
    for _ in range(len(BatchStatus) + 1):
        session.expire_all()
        before = world.batch.status
        if before is BatchStatus.DEMAND_COLLECTION:
            world.report(hospital, world.items[0], 1000)
            session.commit()
            clock_at(DURING_BIDDING)
        elif before is BatchStatus.BIDDING:
            for name, price in (("A", "0.5000"), ("B", "0.6000"), ("C", "0.7000")):
                world.bid(name, world.items[0], price)
            session.commit()
            clock_at(AT_OPENING + timedelta(minutes=1))
        moves = tuple(url + path for path in ("/transition", "/open", "/publish"))  # not items, listings
        actions = [
            f for f in post_forms(client.get(url).get_data(as_text=True)) if f.action.startswith(moves)
        ]
        if not actions:
            break
        assert len(actions) == 1, (before, [(f.action, f.buttons) for f in actions])
        (step,) = actions
        response = client.post(step.action, data=step.fields)
        assert response.status_code == 302
        session.expire_all()
        assert world.batch.status is not before, (before, step.action, step.fields, step.buttons)
        walked.append(world.batch.status)
    assert walked == [
        BatchStatus.DEMAND_COLLECTION,
        BatchStatus.BIDDING,
        BatchStatus.SEALED,
        BatchStatus.OPENED,
        BatchStatus.RESULTS_PUBLISHED,
        BatchStatus.EXECUTING,
        BatchStatus.CLOSED,
    ]


# --- the dashboard ----------------------------------------------------------------------------


def _tiles(html: str) -> list[tuple[str, int, str]]:
    found = re.findall(
        r'<a href="([^"]+)"><span class="tile-title">([^<]+)</span><span class="tile-count">(\d+)</span>',
        html,
    )
    return [(title, int(count), href.replace("&amp;", "&")) for href, title, count in found]


def test_every_dashboard_count_is_the_number_of_records_its_list_shows(app: Flask, session: Session) -> None:
    market = make_market(session)
    m = market
    submitted: Any = m.order(3)
    accepted: Any = m.order(4)
    ordering.decide_order(m.session, m.distributor_actor, accepted.id, accept=True, reason=None, now=NOW)
    partial: list[Any] = [m.order(10), m.order(8)]
    for order in partial:
        ordering.decide_order(m.session, m.distributor_actor, order.id, accept=True, reason=None, now=NOW)
        line_id = ordering.get_order(m.session, m.distributor_actor, order.id).lines[0].id
        req = ordering.ShipRequest(line_id, 2, "B20260101", EXPIRY)
        ordering.ship(m.session, m.distributor_actor, order.id, lines=[req], now=NOW)
    shipped: Any = m.order(5)
    m.accept_and_ship(shipped.id, 5)
    assert submitted.id
    orgs = {
        "hospital": m.hospital,
        "distributor": m.distributor,
        "manufacturer": session.get(Organization, m.listing.manufacturer_id),
        "bureau": session.get(Organization, m.world.bureau.org_id),
    }
    users = {kind: make_user(session, org, Role.OPERATOR) for kind, org in orgs.items()}
    session.commit()

    counted: dict[str, dict[str, int]] = {}
    for kind, user in users.items():
        client = app.test_client()
        web_login(client, user.username)
        tiles = _tiles(client.get("/").get_data(as_text=True))
        assert tiles, kind
        for title, count, href in tiles:
            page = client.get(href)
            assert page.status_code == 200, (kind, title, href)
            total = re.search(r'data-total="(\d+)"', page.get_data(as_text=True))
            assert total is not None, (kind, title, href)
            assert int(total.group(1)) == count, (kind, title, count, href, int(total.group(1)))
            counted.setdefault(kind, {})[title] = count
    # The scenario is not vacuous: orders wait to be shipped, both accepted and partly shipped ones.
    assert counted["distributor"]["待配送订单"] == 3
    assert counted["manufacturer"]["待配送订单"] == 3
    assert counted["hospital"]["执行中的订单"] == 5
