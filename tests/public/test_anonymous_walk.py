"""Done-when: anonymous browsing of every public page and API finds no sealed price, no private
field and no unpublished batch, walked from the public index before and after an opening. Every
answer is searched as the sealed-bid scan searches the database (tests/security/sealed_scan.py)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.public.guard import CACHE
from bidding import opening, publicity
from bidding.models import BatchStatus, BidResult
from tests.factories import make_org
from tests.public.scenario import make_scene
from tests.security.sealed_scan import Secrets, scan_answer
from tests.tendering import AT_OPENING, DURING_DEMAND, TIMELINE, World, e4, make_world

#: The losing bid: 38,712.65 yuan a pack of 10 (3,871.265 a tablet), as in the sealed-bid scan.
LOSING_PACK_FEN, UNITS = 3_871_265, 10
SECRET_NAME = "未公开批次·密封报价"
#: Keys that never belong in a public answer: hospitals' own figures, bid internals, accounts.
PRIVATE_KEYS = {
    "hospital_id", "base_quantity", "agreed_quantity", "digest", "salt", "sealed", "bid_id",
    "invalid_reason", "comparable_e4", "password_hash", "username", "amount_fen", "reason",
    "peer_lowest_fen", "peer_median_fen", "reference_price_fen", "bank_reference",
}  # fmt: skip
LINK = re.compile(r'href="([^"]+)"')


def _sealed_world(session: Session) -> World:
    world = make_world(session, items=({"ceiling_e4": e4("5000.0000")},))
    world.batch.name = SECRET_NAME
    for region in ("510104", "510105"):
        hospital = make_org(session, region_code=region)
        world.hospitals.append(hospital)
    world.to(BatchStatus.DEMAND_COLLECTION, DURING_DEMAND)
    for hospital in world.hospitals:
        world.report(hospital, world.items[0], 1000)
    world.to(BatchStatus.BIDDING, TIMELINE["demand_closes_at"])
    item = world.items[0]
    world.bid("A", item, "0.5000")
    world.bid("B", item, "0.5100")
    world.bid("C", item, "3871.2650", product_id=world.product("C", item, units=UNITS))
    return world


def _walk(client: FlaskClient) -> Iterator[tuple[str, bytes]]:
    """Every page and API answer reachable by links from the public index (and the batch JSON of
    every listed batch): each must answer 200."""
    seen: set[str] = set()
    queue = ["/public/", "/api/v1/public/batches?page_size=100"]
    while queue:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        answer = client.get(url)
        assert answer.status_code == 200, (url, answer.status_code)
        yield url, answer.get_data()
        if answer.mimetype == "text/html":
            for href in LINK.findall(answer.get_data(as_text=True)):
                target = html.unescape(href)
                if target.startswith(("/public", "/api/v1/public")):
                    queue.append(target)
        elif url.startswith("/api/v1/public/batches?"):
            queue += [f"/api/v1/public/batches/{b['id']}" for b in answer.get_json()["items"]]


def _keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from _keys(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _keys(inner)


def _check(client: FlaskClient, app: Flask, secrets: Secrets, *, hidden: set[str]) -> list[str]:
    app.extensions[CACHE].clear()  # what the public sees now, not a minute ago
    urls = []
    for url, body in _walk(client):
        urls.append(url)
        assert scan_answer(body, secrets) == [], url
        text = body.decode("utf-8", "replace")
        for name in hidden:
            assert name not in text, (url, name)
        if url.startswith("/api/") and not url.endswith(".xlsx"):
            leaked = set(_keys(json.loads(body))) & PRIVATE_KEYS
            assert not leaked, (url, leaked)
    return urls


def test_anonymous_browsing_before_and_after_the_opening_finds_nothing_sealed_or_private(
    app: Flask, visitor: FlaskClient, session: Session
) -> None:
    scene = make_scene(session)  # a published batch with orders and a payment, notices, ratings
    world = _sealed_world(session)
    secrets = Secrets()
    secrets.add_price(LOSING_PACK_FEN, UNITS)
    private_names = {h.name for h in [*world.hospitals, scene.market.hospital, scene.market.other_hospital]}
    private_names |= {scene.market.distributor.name, "草稿公告不公开", "已撤回的公告"}
    hidden = {SECRET_NAME, *private_names}
    session.commit()

    sealed = _check(visitor, app, secrets, hidden=hidden)
    assert len(sealed) >= 15
    assert f"/public/batches/{scene.market.world.batch.id}" in sealed
    assert not any(f"/batches/{world.batch.id}" in url for url in sealed)

    world.open()  # opened, not yet published: still nothing
    session.commit()
    assert _check(visitor, app, secrets, hidden=hidden)
    assert visitor.get(f"/public/batches/{world.batch.id}").status_code == 404

    # Proposed for the publicity period (公示, 7 days): the proposed winners and their prices are
    # public from now on, the batch itself is not yet, and the losing price never is.
    proposed_at = AT_OPENING + timedelta(days=1)
    opening.publish_results(session, world.bureau, world.batch.id, now=proposed_at, days=7)
    session.commit()
    proposed = _check(visitor, app, secrets, hidden=private_names)
    assert "/public/proposals" in proposed
    assert visitor.get(f"/public/batches/{world.batch.id}").status_code == 404
    page = visitor.get("/public/proposals").get_data(as_text=True)
    assert SECRET_NAME in page
    assert "0.5000" in page  # the proposed winners' prices are public during the period

    publicity.finalize_due(session, proposed_at + timedelta(days=8))
    session.commit()
    lost = session.scalars(select(BidResult).where(BidResult.pack_price_fen == LOSING_PACK_FEN)).one()
    assert not lost.won  # the walk below proves a losing price stays private after publication
    published = _check(visitor, app, secrets, hidden=private_names)
    assert f"/public/batches/{world.batch.id}" in published
    assert f"/api/v1/public/ocds/batches/{world.batch.id}/award" in published
    page = visitor.get(f"/public/batches/{world.batch.id}").get_data(as_text=True)
    assert SECRET_NAME in page
    assert "0.5000" in page  # the winners' prices are public now


def test_the_answer_scan_finds_a_sealed_price_in_any_form() -> None:
    secrets = Secrets()
    secrets.add_price(LOSING_PACK_FEN, UNITS)
    for leak in (b'{"p": "38712.65"}', b"<td>38,712.65</td>", b'{"e4": 38712650}', b"3871.265 yuan"):
        assert scan_answer(leak, secrets), leak
    assert scan_answer(b'{"unit_price": "0.5000", "page": 2}', secrets) == []
