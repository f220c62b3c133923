"""Sealed bids: before the opening, someone reading every row of every table finds no price and no
receipt salt, in any encoding; ciphertexts all have one length; the logs hold nothing either;
after the opening every receipt digest matches its bid; a stored bid changed behind the
platform's back stops the opening. The scan itself is shown to find the leaks it exists for."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bidding import opening
from bidding.models import BatchStatus, Bid, BidResult
from bidding.sealing import BidContent, BidSealer, SealBroken, receipt_digest
from core import audit
from core.actors import Actor
from core.errors import RuleViolation
from core.idempotency import IdempotencyRecord
from core.organizations import User
from tests.factories import SYSTEM, bearer, make_org
from tests.security.sealed_scan import Finding, Secrets, columns_in_schema, scan
from tests.tendering import (
    AT_OPENING,
    CRYPTO_SUITE,
    DURING_BIDDING,
    DURING_DEMAND,
    SEALER,
    TIMELINE,
    World,
    e4,
    make_world,
)

#: A pack price nobody would pick by accident, of packs of 10: 38,712.65 yuan a pack, 3,871.2650
#: a tablet. Every integer form (3,871,265 fen; 387,126,500 and 38,712,650 yuan×10⁴) is far above
#: any id or counter a test run reaches, so the scan can read id columns too.
PACK_PRICE, UNITS = "38712.65", 10
PACK_FEN = 3_871_265
OTHER_PACK_PRICE = "25000.00"


def _bidding_world(session: Session) -> World:
    world = make_world(session, items=({"ceiling_e4": e4("5000.0000")},))
    hospital = make_org(session, region_code="510104")
    world.hospitals.append(hospital)
    world.to(BatchStatus.DEMAND_COLLECTION, DURING_DEMAND)
    world.report(hospital, world.items[0], 1000)
    world.to(BatchStatus.BIDDING, TIMELINE["demand_closes_at"])
    return world


def _user_of(session: Session, actor: Actor) -> User:
    return session.get_one(User, actor.user_id)


def _submit(client: FlaskClient, world: World, name: str, pack_price: str, key: str) -> dict[str, Any]:
    """A bid through the HTTP API with an Idempotency-Key, sent twice (a retrying client)."""
    product = world.product(name, world.items[0], units=UNITS)
    headers = {
        **bearer(world.session, _user_of(world.session, world.actor(world.manufacturer(name)))),
        "Idempotency-Key": key,
    }
    body = json.dumps({"item_id": world.items[0].id, "product_id": product, "pack_price": pack_price})
    url = f"/api/v1/batches/{world.batch.id}/bids"
    first = client.post(url, data=body, content_type="application/json", headers=headers)
    assert first.status_code == 201, first.get_json()
    again = client.post(url, data=body, content_type="application/json", headers=headers)
    assert (again.status_code, again.headers.get("Idempotent-Replayed")) == (201, "true")
    assert again.get_json() == first.get_json()
    return {"receipt": first.get_json(), "url": url, "body": body.encode()}


@pytest.fixture
def during_bidding(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("core.clock.now", lambda: DURING_BIDDING)


def _secrets(*receipts: dict[str, Any]) -> Secrets:
    secrets = Secrets()
    secrets.add_price(PACK_FEN, UNITS)
    for sent in receipts:
        secrets.add_salt(sent["receipt"]["salt"])
        secrets.add_request("POST", sent["url"], sent["body"])
    return secrets


def test_no_price_and_no_salt_can_be_read_from_any_table_before_the_opening(
    client: FlaskClient, session: Session, during_bidding: None
) -> None:
    world = _bidding_world(session)
    mine = _submit(client, world, "A", PACK_PRICE, key=f"bid-{PACK_PRICE}")
    other = _submit(client, world, "B", OTHER_PACK_PRICE, key="bid-b-1")
    service = world.bid(
        "C", world.items[0], "3871.2650", product_id=world.product("C", world.items[0], units=10)
    )
    secrets = _secrets(mine, other)
    secrets.add_salt(service.salt)
    assert scan(session.connection(), secrets) == []
    with pytest.raises(RuleViolation):  # and the platform itself will not open them early
        opening.open_bids(
            session, world.bureau, world.batch.id, sealer=SEALER, now=AT_OPENING - timedelta(minutes=1)
        )


def test_the_scan_reads_every_column_of_every_table_including_the_idempotency_store(
    session: Session,
) -> None:
    columns = columns_in_schema(session.connection())
    assert {("idempotency_keys", c) for c in ("key", "request_hash", "response_body")} <= columns
    assert ("alembic_version", "version_num") in columns
    assert ("bids", "sealed") in columns
    assert ("audit_events", "after") in columns


def test_the_scan_finds_a_bid_receipt_stored_in_clear_by_the_idempotency_store(
    client: FlaskClient, session: Session, during_bidding: None
) -> None:
    """The leak this scan once missed, put back: the stored answer holding the receipt's salt and
    an unkeyed SHA-256 of the request, as the idempotency store used to write them."""
    world = _bidding_world(session)
    sent = _submit(client, world, "A", PACK_PRICE, key="bid-a-1")
    secrets = _secrets(sent)
    assert scan(session.connection(), secrets) == []
    user = world.actor(world.manufacturer("A")).user_id
    digest = hashlib.sha256(b"POST " + sent["url"].encode() + b"\n" + sent["body"]).hexdigest()
    session.add(
        IdempotencyRecord(
            user_id=user,
            key="old-way",
            method="POST",
            path=sent["url"],
            request_hash=digest,
            status_code=201,
            response_body=json.dumps(sent["receipt"]),
            created_at=DURING_BIDDING,
        )
    )
    session.flush()
    assert set(scan(session.connection(), secrets)) == {
        Finding("idempotency_keys", "response_body", "receipt salt"),
        Finding("idempotency_keys", "response_body", "receipt salt (bytes)"),
        Finding("idempotency_keys", "request_hash", "unkeyed sha256 of the request"),
    }


def _encodings(text: str) -> dict[str, object]:
    return {
        "plain": text,
        "json": {"note": {"deep": [f"price={text}"]}},
        "json-unicode-escaped": "".join(f"\\u{ord(c):04x}" for c in text),
        "json-string-in-json": json.dumps(json.dumps({"p": text})),
        "base64": base64.b64encode(f"bid:{text};".encode()).decode(),
        "urlsafe-base64-prefixed": "v1:" + base64.urlsafe_b64encode(f"{{'p':'{text}'}}".encode()).decode(),
        "hex": f"{text}".encode().hex(),
        "base64-of-hex": base64.b64encode(f"{text}".encode().hex().encode()).decode(),
    }


@pytest.mark.parametrize(
    "form", ["38712.65", "38712.6500", "38,712.65", "3871265", "387126500", "3871.265", "38712650"]
)
@pytest.mark.parametrize("encoding", list(_encodings("x")))
def test_the_scan_finds_the_price_in_any_form_and_encoding(
    session: Session, form: str, encoding: str
) -> None:
    secrets = _secrets()
    assert scan(session.connection(), secrets) == []
    value = _encodings(form)[encoding]
    audit.record(
        session,
        SYSTEM,
        "test.leak",
        subject_type="leak",
        subject_id=1,
        after={"v": value},
        now=DURING_BIDDING,
    )
    assert [(f.table, f.column) for f in scan(session.connection(), secrets)] == [("audit_events", "after")]


def test_the_scan_finds_the_price_as_a_number_and_the_salt_as_bytes(session: Session) -> None:
    world = _bidding_world(session)
    receipt = world.bid(
        "A", world.items[0], "3871.2650", product_id=world.product("A", world.items[0], units=10)
    )
    secrets = _secrets()
    secrets.add_salt(receipt.salt)
    assert scan(session.connection(), secrets) == []
    session.execute(
        update(Bid).where(Bid.id == receipt.bid.id).values(sealed=b"\x00" + bytes.fromhex(receipt.salt))
    )
    world.items[0].ceiling_e4 = 38_712_650  # yuan×10⁴ of the unit price, in an integer column
    session.flush()
    assert {(f.table, f.column) for f in scan(session.connection(), secrets)} == {
        ("bids", "sealed"),
        ("batch_items", "ceiling_e4"),
    }


def test_every_sealed_bid_has_the_same_length_whatever_its_price(session: Session) -> None:
    world = _bidding_world(session)
    content = BidContent("p", world.batch.id, 1, 2, 3, 0, True, DURING_BIDDING)
    lengths = {
        len(SEALER.seal(BidContent(**{**content.__dict__, "pack_price_fen": fen})).blob)
        for fen in (1, 683, 1234, 3_871_265, 99_999_999_999_999, 2**63 - 1)
    }
    assert len(lengths) == 1


def test_a_padded_bid_opens_to_its_price_and_salt(session: Session) -> None:
    content = BidContent("p", 1, 1, 2, 3, 683, True, DURING_BIDDING)
    sealed = SEALER.seal(content)
    opened = SEALER.open(sealed.key_id, sealed.blob, content, suite=sealed.suite)
    assert (opened.pack_price_fen, opened.salt) == (683, sealed.salt)
    other = BidSealer.from_base64(
        BidSealer.generate_key(), sm4=BidSealer.generate_key("sm"), suite=sealed.suite
    )
    with pytest.raises(SealBroken):
        other.open(sealed.key_id, sealed.blob, content, suite=sealed.suite)


def test_a_replayed_bid_returns_the_first_receipt_whose_digest_matches_after_the_opening(
    client: FlaskClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = {"now": DURING_BIDDING}
    monkeypatch.setattr("core.clock.now", lambda: state["now"])
    world = _bidding_world(session)
    sent = _submit(client, world, "A", PACK_PRICE, key="bid-a-2")
    state["now"] = AT_OPENING
    bureau = bearer(session, _user_of(session, world.bureau))
    assert client.post(f"/api/v1/batches/{world.batch.id}/open", headers=bureau).status_code == 200
    bid = session.get_one(Bid, sent["receipt"]["bid"]["id"])
    result = session.scalars(select(BidResult).where(BidResult.bid_id == bid.id)).one()
    assert result.pack_price_fen == PACK_FEN
    content = BidContent(
        bid.public_id,
        bid.batch_id,
        bid.item_id,
        bid.manufacturer_id,
        bid.product_id,
        result.pack_price_fen,
        bid.accepts_revival,
        bid.submitted_at,
    )
    assert sent["receipt"]["suite"] == bid.suite == CRYPTO_SUITE
    digest = receipt_digest(content, sent["receipt"]["salt"], bid.suite)
    assert digest == sent["receipt"]["digest"] == bid.digest


def test_the_same_idempotency_key_with_another_price_is_refused_without_revealing_anything(
    client: FlaskClient, session: Session, during_bidding: None
) -> None:
    world = _bidding_world(session)
    sent = _submit(client, world, "A", PACK_PRICE, key="bid-a-3")
    headers = {
        **bearer(session, _user_of(session, world.actor(world.manufacturer("A")))),
        "Idempotency-Key": "bid-a-3",
    }
    body = {**json.loads(sent["body"]), "pack_price": "38712.66"}
    again = client.post(sent["url"], json=body, headers=headers)
    assert again.status_code == 409
    assert again.get_json()["error"]["code"] == "idempotency_key_reused"
    assert sent["receipt"]["salt"] not in again.get_data(as_text=True)


def test_a_bid_above_the_ceiling_answers_without_echoing_a_price(
    client: FlaskClient, session: Session, during_bidding: None
) -> None:
    world = _bidding_world(session)
    product = world.product("A", world.items[0], units=UNITS)
    headers = bearer(session, _user_of(session, world.actor(world.manufacturer("A"))))
    body = {"item_id": world.items[0].id, "product_id": product, "pack_price": "50000.01"}
    refused = client.post(f"/api/v1/batches/{world.batch.id}/bids", json=body, headers=headers)
    assert refused.status_code == 422
    assert refused.get_json()["error"]["code"] == "above_ceiling"
    text = refused.get_data(as_text=True)
    assert "50000.01" not in text
    assert "5000.0010" not in text
    assert "5000.001" not in text


def test_bid_submissions_leave_no_price_or_salt_in_the_logs(
    client: FlaskClient, session: Session, during_bidding: None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    world = _bidding_world(session)
    sent = _submit(client, world, "A", PACK_PRICE, key="bid-a-4")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for needle in (PACK_PRICE, str(PACK_FEN), "3871.265", sent["receipt"]["salt"]):
        assert needle not in logged


def test_after_the_opening_every_receipt_digest_matches_its_bid(session: Session) -> None:
    world = _bidding_world(session)
    receipts = [world.bid(name, world.items[0], price) for name, price in (("A", "0.9137"), ("B", "0.5000"))]
    world.open()
    for receipt in receipts:
        bid = receipt.bid
        result = session.scalars(select(BidResult).where(BidResult.bid_id == bid.id)).one()
        content = BidContent(
            bid.public_id,
            bid.batch_id,
            bid.item_id,
            bid.manufacturer_id,
            bid.product_id,
            result.pack_price_fen,
            bid.accepts_revival,
            bid.submitted_at,
        )
        assert receipt_digest(content, receipt.salt, bid.suite) == receipt.digest == bid.digest


def test_a_tampered_stored_bid_stops_the_opening(session: Session) -> None:
    world = _bidding_world(session)
    a = world.bid("A", world.items[0], "0.9137").bid
    b = world.bid("B", world.items[0], "0.5000").bid
    # Swap the two ciphertexts: each is a valid sealed bid, but bound to the other bid's identity.
    session.execute(update(Bid).where(Bid.id == a.id).values(sealed=b.sealed))
    session.expire_all()
    with pytest.raises(SealBroken):
        world.open()
