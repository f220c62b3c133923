"""The hospital's order form and demand form through the test client: the region's listings and
authorized distributors only, catalogue search, any number of rows, the running total, re-order,
demand items picked by name; a refused row named as people count it (第 3 行), nothing written."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.actors import Role
from core.regions import full_name
from ledger.models import Order
from tests.factories import make_user
from tests.ordering import NOW, make_market
from tests.web.test_hospital_pages import hospital_client
from tests.web.test_pages import csrf, web_login

# --- the order form -----------------------------------------------------------------------------


def test_the_order_form_searches_the_catalogue_and_adds_a_line(app: Flask, session: Session) -> None:
    market = make_market(session)
    client = hospital_client(app, session, market)
    product = market.listing.product
    page = client.get(f"/hospital/orders/new?q={product.code}").get_data(as_text=True)
    assert f'id="found-{market.listing.id}"' in page
    nothing = client.get("/hospital/orders/new?q=no-such-medicine").get_data(as_text=True)
    assert f'id="found-{market.listing.id}"' not in nothing

    form = {"csrf_token": csrf(client), "rows": "2", "q": product.generic_name, "quantity-0": "5"}
    form |= {"listing-0": str(market.listing.id), "add_listing": str(market.listing.id)}
    page = client.post("/hospital/orders/new", data=form).get_data(as_text=True)
    # Row 2 now holds the product; row 1 keeps what was typed.
    assert re.search(rf'id="listing-1".*?value="{market.listing.id}" data-price="\d+" selected', page, re.S)
    assert 'id="quantity-0" name="quantity-0" inputmode="numeric" size="8"' in page
    assert 'value="5"' in page


def test_the_order_form_only_offers_its_regions_listings_and_authorized_distributors(
    app: Flask, session: Session
) -> None:
    from ledger.models import Listing

    market = make_market(session)
    elsewhere = session.scalars(
        select(Listing).where(Listing.region_code != market.listing.region_code)
    ).first()
    client = hospital_client(app, session, market)
    page = client.get("/hospital/orders/new").get_data(as_text=True)
    assert market.distributor.name in page
    assert market.stranger_distributor.name not in page
    if elsewhere is not None and not elsewhere.region_code.endswith("0000"):
        assert f'value="{elsewhere.id}" data-price' not in page


def test_the_running_total_more_rows_and_the_row_named_on_refusal(app: Flask, session: Session) -> None:
    market = make_market(session)
    client = hospital_client(app, session, market)
    price = market.listing.pack_price_fen
    lines = {f"listing-{i}": str(market.listing.id) for i in range(3)}
    quantities = {"quantity-0": "2", "quantity-1": "3", "quantity-2": "0"}
    form = {"csrf_token": csrf(client), "rows": "3", "distributor_id": str(market.distributor.id)}
    page = client.post("/hospital/orders/new", data=form | lines | quantities | {"action": "recalculate"})
    text = page.get_data(as_text=True)
    from core.money import fen_to_str

    assert "<output data-total" in text
    assert f">{fen_to_str(5 * price)}</output>" in text
    more = client.post("/hospital/orders/new", data=form | lines | quantities | {"action": "more"})
    assert 'id="listing-7"' in more.get_data(as_text=True)  # 3 + 5 rows

    before = session.scalar(select(func.count()).select_from(Order))
    response = client.post("/hospital/orders/new", data=form | lines | quantities)
    assert response.status_code == 422
    assert "第 3 行" in response.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Order)) == before
    response = client.post("/hospital/orders/new", data=form | lines | quantities | {"quantity-2": "4"})
    assert response.status_code == 302
    order = session.scalars(select(Order).order_by(Order.id.desc())).first()
    assert order is not None
    assert [line.quantity for line in order.lines] == [2, 3, 4]


def test_a_reorder_copies_a_past_order_and_another_hospitals_order_is_not_found(
    app: Flask, session: Session
) -> None:
    market = make_market(session)
    past: Any = market.order(17)
    from ledger.services import ordering

    foreign = ordering.place_orders(
        session,
        market.other_hospital_actor,
        distributor_id=market.distributor.id,
        lines=[ordering.LineRequest(market.listing.id, 3)],
        urgency=ordering.Urgency.NORMAL,
        now=NOW,
    )
    client = hospital_client(app, session, market)
    page = client.get("/hospital/orders/new").get_data(as_text=True)
    assert f"reorder={past.id}" in page
    assert f"reorder={foreign.id}" not in page
    page = client.get(f"/hospital/orders/new?reorder={past.id}").get_data(as_text=True)
    assert 'name="quantity-0" inputmode="numeric" size="8" aria-label' in page
    assert re.search(r'id="quantity-0"[^>]*value="17"', page)
    assert re.search(rf'id="distributor_id".*?<option value="{market.distributor.id}" selected', page, re.S)
    assert client.get(f"/hospital/orders/new?reorder={foreign.id}").status_code == 404


# --- demand by form -----------------------------------------------------------------------------


def test_demand_is_reported_by_picking_items_by_name_never_by_id(
    app: Flask, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bidding.models import BatchStatus, DemandReport
    from core.actors import OrgKind
    from tests.factories import make_org
    from tests.tendering import DURING_DEMAND, make_world

    world = make_world(session, rule_version="batch_4_9")
    hospital = make_org(session, OrgKind.HOSPITAL, region_code="510104")
    world.to(BatchStatus.DEMAND_COLLECTION, DURING_DEMAND)
    user = make_user(session, hospital, Role.OPERATOR)
    session.commit()
    monkeypatch.setattr("core.clock.now", lambda: DURING_DEMAND + timedelta(hours=1))
    client = app.test_client()
    web_login(client, user.username)
    item = world.items[0]
    page = client.get("/hospital/demand/form").get_data(as_text=True)
    assert f'<option value="{item.id}" >{item.generic_name} ' in page
    assert "品种ID" not in page

    form = {"csrf_token": csrf(client), "batch_id": str(world.batch.id), "rows": "3"}
    bad = form | {"item-0": str(item.id), "quantity-0": "1200", "item-2": str(item.id), "quantity-2": "很多"}
    response = client.post("/hospital/demand/form", data=bad)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "第 3 行" in text
    assert 'value="1200"' in text
    assert session.scalar(select(func.count()).select_from(DemandReport)) == 0

    response = client.post("/hospital/demand/form", data=bad | {"item-2": "", "quantity-2": ""})
    assert response.status_code == 302
    report = session.scalars(select(DemandReport)).one()
    assert (report.item_id, report.quantity) == (item.id, 1200)
    listed = client.get(response.headers["Location"]).get_data(as_text=True)
    assert item.generic_name in listed
    assert f"<td>{full_name(report.region_code)}</td>" in listed  # the region by its name, not its code
    assert f"<td>{report.region_code}</td>" not in listed
