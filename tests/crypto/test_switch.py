"""Switching a platform's suite (a restart with another VBP_CRYPTO_SUITE) on one database: the
bids sealed, the audit rows written and the retried requests remembered before the switch are
still opened, verified and replayed after it. Through the HTTP API and the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from flask import Flask
from sqlalchemy import func, select

from app import create_app
from app.cli import alembic_config
from app.config import Config, ConfigError
from app.db import get_db
from bidding.models import BatchStatus, Bid, BidResult, BidStatus
from bidding.sealing import BidContent, receipt_digest
from core import crypto_suites
from core.audit import AuditEvent
from core.crypto_suites import SM, STANDARD
from core.idempotency import IdempotencyRecord
from core.organizations import User
from tests.conftest import Databases
from tests.factories import bearer, make_org
from tests.tendering import (
    AT_OPENING,
    DURING_BIDDING,
    DURING_DEMAND,
    SEALING_KEY,
    SM4_SEALING_KEY,
    TIMELINE,
    e4,
    make_world,
)

Platform = Callable[[str], Flask]


@pytest.fixture
def platform(databases: Databases, tmp_path: Path) -> Iterator[Platform]:
    """Start the platform on one fresh database under a suite; call again to restart it."""
    url = databases.new()
    command.upgrade(alembic_config(url), "head")
    started: list[Flask] = []

    def start(suite: str) -> Flask:
        config = Config(
            env="testing",
            database_url=url,
            secret_key="k" * 40,
            instance_path=str(tmp_path),
            crypto_suite=suite,
            bid_sealing_key=SEALING_KEY,
            bid_sealing_key_sm4=SM4_SEALING_KEY,
        )
        started.append(create_app(config))
        return started[-1]

    yield start
    for app in started:
        get_db(app).engine.dispose()


def _bid(app: Flask, world: dict[str, Any], name: str, pack_price: str, key: str) -> tuple[int, Any, bool]:
    body = json.dumps(
        {"item_id": world["item"], "product_id": world[f"product {name}"], "pack_price": pack_price}
    )
    answer = app.test_client().post(
        f"/api/v1/batches/{world['batch']}/bids",
        data=body,
        content_type="application/json",
        headers={"Authorization": world[f"token {name}"], "Idempotency-Key": key},
    )
    return answer.status_code, answer.get_json(), answer.headers.get("Idempotent-Replayed") == "true"


def _bidding_world(app: Flask) -> dict[str, Any]:
    with get_db(app).sessionmaker() as s, s.begin():
        world = make_world(s, items=({"ceiling_e4": e4("5000.0000")},))
        hospital = make_org(s, region_code="510104")
        world.to(BatchStatus.DEMAND_COLLECTION, DURING_DEMAND)
        world.report(hospital, world.items[0], 1000)
        world.to(BatchStatus.BIDDING, TIMELINE["demand_closes_at"])
        found: dict[str, Any] = {"batch": world.batch.id, "item": world.items[0].id}
        for name in "ABC":
            found[f"product {name}"] = world.product(name, world.items[0], units=100)
            user = s.get_one(User, world.actor(world.manufacturer(name)).user_id)
            found[f"token {name}"] = bearer(s, user)["Authorization"]
        found["bureau"] = bearer(s, s.get_one(User, world.bureau.user_id))["Authorization"]
    return found


@pytest.mark.parametrize(("before", "after"), [(STANDARD, SM), (SM, STANDARD)])
def test_a_switched_platform_opens_old_bids_verifies_old_audit_rows_and_replays_old_requests(
    platform: Platform, monkeypatch: pytest.MonkeyPatch, before: str, after: str
) -> None:
    monkeypatch.setattr("core.clock.now", lambda: DURING_BIDDING)
    first = platform(before)
    world = _bidding_world(first)
    status, receipt_a, _ = _bid(first, world, "A", "20.00", "bid-a")
    assert status == 201
    assert (receipt_a["suite"], receipt_a["bid"]["suite"]) == (before, before)
    assert _bid(first, world, "B", "30.00", "bid-b")[0] == 201

    second = platform(after)  # the restart under the other suite
    assert crypto_suites.current().name == after
    # A retry that spans the switch is recognised (its record was made under the old suite).
    status, replayed, was_replayed = _bid(second, world, "A", "20.00", "bid-a")
    assert (status, replayed, was_replayed) == (201, receipt_a, True)
    status, conflict, _ = _bid(second, world, "A", "21.00", "bid-a")
    assert (status, conflict["error"]["code"]) == (409, "idempotency_key_reused")
    status, receipt_c, _ = _bid(second, world, "C", "25.00", "bid-c")
    assert (status, receipt_c["suite"], receipt_c["digest_algorithm"]) == (
        201,
        after,
        {SM: "SM3"}.get(after, "SHA-256"),
    )

    monkeypatch.setattr("core.clock.now", lambda: AT_OPENING)
    opened = second.test_client().post(
        f"/api/v1/batches/{world['batch']}/open", headers={"Authorization": world["bureau"]}
    )
    assert opened.status_code == 200, opened.get_json()
    with get_db(second).sessionmaker() as s:
        bids = s.scalars(
            select(Bid).where(Bid.batch_id == world["batch"], Bid.status == BidStatus.ACTIVE)
        ).all()
        assert sorted(b.suite for b in bids) == sorted([before, before, after])
        for bid in bids:
            price = s.scalars(select(BidResult.pack_price_fen).where(BidResult.bid_id == bid.id)).one()
            assert price in (2000, 3000, 2500)
        a = next(b for b in bids if b.id == receipt_a["bid"]["id"])
        content = BidContent(
            a.public_id,
            a.batch_id,
            a.item_id,
            a.manufacturer_id,
            a.product_id,
            2000,
            a.accepts_revival,
            a.submitted_at,
        )
        assert receipt_digest(content, receipt_a["salt"], before) == receipt_a["digest"] == a.digest
        suites = dict(s.execute(select(AuditEvent.suite, func.count()).group_by(AuditEvent.suite)).all())
        assert set(suites) == {before, after}
        records = dict(s.execute(select(IdempotencyRecord.key, IdempotencyRecord.suite)).all())
        assert sorted(records.values()) == sorted([before, before, after])
    verified = second.test_cli_runner().invoke(args=["audit", "verify"])
    assert verified.exit_code == 0, verified.output


def test_idempotency_under_sm_keeps_keyed_sm3_digests_and_an_sm4_sealed_answer(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("core.clock.now", lambda: DURING_BIDDING)
    app = platform(SM)
    world = _bidding_world(app)
    status, receipt, _ = _bid(app, world, "A", "20.00", "plain-key-sm")
    assert status == 201
    assert _bid(app, world, "A", "20.00", "plain-key-sm") == (201, receipt, True)
    with get_db(app).sessionmaker() as s:
        record = s.scalars(select(IdempotencyRecord)).one()
    assert (record.suite, len(record.key), len(record.request_hash)) == (SM, 64, 64)
    assert record.key != "plain-key-sm"
    assert receipt["salt"] not in record.response_body
    assert record.response_body.startswith("v1:")


def test_an_unknown_suite_is_refused_at_start_up_with_a_clear_message(tmp_path: Path) -> None:
    config = Config.from_env({"VBP_CRYPTO_SUITE": "gost", "VBP_INSTANCE_PATH": str(tmp_path)})
    with pytest.raises(ConfigError, match=r"VBP_CRYPTO_SUITE must be one of standard, sm, not 'gost'"):
        create_app(config)


def test_production_needs_the_selected_suites_sealing_key_of_the_right_length(tmp_path: Path) -> None:
    def production(**settings: str) -> Config:
        base = {"env": "production", "secret_key": "s" * 40, "public_url": "https://ybj.example.gov.cn"}
        return Config(instance_path=str(tmp_path), **{**base, **settings})

    with pytest.raises(ConfigError, match="VBP_BID_SEALING_KEY_SM4"):
        production(crypto_suite=SM, bid_sealing_key=SEALING_KEY).resolve(str(tmp_path))
    with pytest.raises(ConfigError, match="VBP_BID_SEALING_KEY_SM4 must be 16 bytes"):
        production(crypto_suite=SM, bid_sealing_key_sm4=SEALING_KEY).resolve(str(tmp_path))
    # Only the sm key: a platform that began under sm needs no AES key.
    resolved = production(crypto_suite=SM, bid_sealing_key_sm4=SM4_SEALING_KEY).resolve(str(tmp_path))
    assert (resolved.crypto_suite, resolved.bid_sealing_key) == (SM, None)
    with pytest.raises(ConfigError, match="VBP_BID_SEALING_KEY "):
        production(bid_sealing_key_sm4=SM4_SEALING_KEY).resolve(str(tmp_path))


def test_the_setting_is_read_from_the_environment(tmp_path: Path) -> None:
    key_file = tmp_path / "sm4"
    key_file.write_text(SM4_SEALING_KEY + "\n")
    config = Config.from_env({"VBP_CRYPTO_SUITE": "sm", "VBP_BID_SEALING_KEY_SM4_FILE": str(key_file)})
    assert (config.crypto_suite, config.bid_sealing_key_sm4) == (SM, SM4_SEALING_KEY)
    assert Config.from_env({}).crypto_suite == STANDARD
