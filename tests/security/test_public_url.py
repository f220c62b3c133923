"""The verification address printed in statement PDFs (text and QR code) comes from configuration
only, never from the request: a hostile Host header cannot put a phishing address on an official
document. Production refuses to start without VBP_PUBLIC_URL."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.config import Config, ConfigError
from core.organizations import User
from tests.factories import bearer
from tests.ledger.test_reconcile import FILED, Line
from tests.ordering import Market, make_market

HOSTILE = "evil.example"


def _production(tmp_path: Path, **overrides: Any) -> Config:
    settings: dict[str, Any] = {
        "env": "production",
        "database_url": f"sqlite:///{tmp_path}/p.sqlite3",
        "secret_key": "p" * 64,
        "bid_sealing_key": "A" * 43 + "=",
        "instance_path": str(tmp_path),
    }
    return Config(**(settings | overrides))


def test_production_refuses_to_start_without_a_public_url(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="VBP_PUBLIC_URL"):
        _production(tmp_path).resolve(str(tmp_path))
    assert _production(tmp_path, public_url="https://ybj.example.gov.cn").resolve(str(tmp_path))


@pytest.mark.parametrize(
    "url", ["ybj.example.gov.cn", "javascript:alert(1)", "https://", "https://x.cn/?next=evil", "ftp://x.cn"]
)
def test_a_public_url_that_is_not_an_http_address_is_refused(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError, match="VBP_PUBLIC_URL"):
        _production(tmp_path, public_url=url).resolve(str(tmp_path))


def test_development_falls_back_to_a_configured_local_address(tmp_path: Path) -> None:
    config = Config(env="development", instance_path=str(tmp_path)).resolve(str(tmp_path))
    assert config.public_url == "http://127.0.0.1:5000"
    assert config.statement_verify_url_base() == "http://127.0.0.1:5000/verify"


@pytest.fixture
def market(session: Session, monkeypatch: pytest.MonkeyPatch) -> Market:
    monkeypatch.setattr("core.clock.now", lambda: FILED)
    return make_market(session)


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils (pdftotext) not installed")
def test_a_hostile_host_header_never_reaches_the_statement_pdf(
    app: Flask, client: FlaskClient, session: Session, market: Market
) -> None:
    Line(market, 10).place().accept().receive(10).invoice_all()
    bureau = bearer(session, session.get_one(User, market.world.bureau.user_id))
    hospital = bearer(session, session.get_one(User, market.hospital_actor.user_id))
    made = client.post("/api/v1/statements/generate", json={"period": "2026-05"}, headers=bureau)
    assert made.status_code == 201, made.get_json()
    [created] = made.get_json()["created"]
    expected = f"{app.config['VBP'].public_url}/verify/{created['digest']}"
    for headers in (
        {"Host": HOSTILE},
        {"Host": HOSTILE, "X-Forwarded-Host": HOSTILE, "X-Forwarded-Proto": "https"},
    ):
        pdf = client.get(f"/api/v1/statements/{created['id']}/pdf", headers=hospital | headers)
        assert pdf.status_code == 200
        text = subprocess.run(
            ["pdftotext", "-raw", "-", "-"], input=pdf.data, capture_output=True, check=True
        ).stdout.decode()
        assert HOSTILE not in text
        assert expected in "".join(text.split())  # the address may wrap across lines
