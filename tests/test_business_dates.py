"""Business dates are dates in the province's time zone (Asia/Shanghai unless VBP_TIMEZONE says
otherwise), never UTC dates. At 2026-11-30T16:30Z it is already 00:30 on 1 December in Beijing:
December is the current month, "today" is 12-01 and last month is November. Each kind of place
that takes a date from the clock is checked at that instant — a service, the API, a web page,
the CLI, a scheduler job, the demo — and again with the zone configured as UTC, where the same
instant is still 30 November."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import create_app
from app.config import Config, ConfigError
from app.db import Database
from app.scheduler import JOBS, JobContext, run_job
from core import clock
from core.actors import OrgKind, Role
from core.errors import ValidationFailed
from core.jobs import JobStatus
from core.organizations import User
from ledger.models import Invoice, OffPlatformPurchase, PurchaseCategory, SettlementApplication
from ledger.services import purchases
from tests.factories import actor_of, bearer, make_org, make_user
from tests.ordering import NOW, make_market
from tests.tendering import SEALER
from tests.web.test_pages import web_login

ROOT = Path(__file__).resolve().parent.parent
#: 00:30 on 2026-12-01 in Beijing; still 2026-11-30 in UTC.
LATE = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)
DECEMBER, NOVEMBER, OCTOBER = date(2026, 12, 1), date(2026, 11, 1), date(2026, 10, 1)
#: zone → (today, last month) at LATE
EXPECTED = {"Asia/Shanghai": (date(2026, 12, 1), NOVEMBER), "UTC": (date(2026, 11, 30), OCTOBER)}


@pytest.fixture(params=sorted(EXPECTED))
def zone(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The province's zone as create_app passes it to the domain, the clock stopped at LATE."""
    clock.configure(request.param)
    monkeypatch.setattr("core.clock.now", lambda: LATE)
    yield request.param
    clock.configure(clock.DEFAULT_ZONE)


def _hospital(session: Session) -> Any:
    return make_user(session, make_org(session, OrgKind.HOSPITAL), Role.OPERATOR)


def test_the_clock_dates_an_instant_in_the_configured_zone(zone: str) -> None:
    assert clock.business_date(LATE) == EXPECTED[zone][0]
    assert clock.local(date(2026, 12, 1)).utcoffset() == (
        clock.zone().utcoffset(datetime(2026, 12, 1))  # noqa: DTZ001 - a wall-clock time, by design
    )
    with pytest.raises(ValueError, match="naive"):
        clock.business_date(datetime(2026, 11, 30, 16, 30))  # noqa: DTZ001 - the refused input


def test_a_service_takes_the_current_month_in_the_provinces_zone(zone: str, session: Session) -> None:
    hospital = actor_of(_hospital(session))
    today = EXPECTED[zone][0]
    current, following = clock.month_start(today), clock.next_month(today)
    row = purchases.report_off_platform(
        session, hospital, month=current, category=PurchaseCategory.DRUGS, amount_fen=100, now=LATE
    )
    assert row.month == current
    with pytest.raises(ValidationFailed) as refused:
        purchases.report_off_platform(
            session, hospital, month=following, category=PurchaseCategory.DRUGS, amount_fen=100, now=LATE
        )
    assert list(refused.value.fields) == ["month"]


def test_the_api_takes_today_in_the_provinces_zone(zone: str, client: FlaskClient, session: Session) -> None:
    headers = bearer(session, _hospital(session))
    december = client.post(
        "/api/v1/off-platform-purchases",
        headers=headers,
        json={"month": DECEMBER.isoformat(), "category": "drugs", "amount": "1.00"},
    )
    if zone == "Asia/Shanghai":
        assert december.status_code == 200, december.get_json()
        assert session.scalars(select(OffPlatformPurchase.month)).one() == DECEMBER
    else:
        assert december.status_code == 422, december.get_json()
        assert list(december.get_json()["error"]["fields"]) == ["month"]


def test_a_receipt_confirmed_over_the_api_is_dated_in_the_provinces_zone(
    zone: str, client: FlaskClient, session: Session
) -> None:
    market = make_market(session)
    order: Any = market.order(5, now=NOW)
    shipment: Any = market.accept_and_ship(order.id, 5)
    headers = bearer(session, session.get_one(User, market.hospital_actor.user_id))
    response = client.post(
        f"/api/v1/shipment-lines/{shipment.lines[0].id}/receipt",
        headers=headers,
        json={"accepted_quantity": 5},
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["accepted_on"] == EXPECTED[zone][0].isoformat()


def test_a_web_page_offers_today_in_the_provinces_zone(zone: str, app: Flask, session: Session) -> None:
    market = make_market(session)
    order: Any = market.order(5, now=NOW)
    market.accept_and_ship(order.id, 5)
    user = make_user(session, market.hospital, Role.OPERATOR)
    session.commit()
    client = app.test_client()
    web_login(client, user.username)
    page = client.get("/hospital/deliveries").get_data(as_text=True)
    # The acceptance date of each delivery row defaults to today in the province (hospital_bulk.py).
    assert re.search(rf'name="on-\d+" type="date" value="{EXPECTED[zone][0].isoformat()}"', page)


def test_a_cli_report_is_as_of_today_in_the_provinces_zone(
    zone: str, app: Flask, db: Database, tmp_path: Path
) -> None:
    out = tmp_path / "report.json"
    result = app.test_cli_runner().invoke(
        args=["report", "indicators", "--from", "2026-11", "--format", "json", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["as_of"] == EXPECTED[zone][0].isoformat()


def test_a_scheduler_job_settles_last_month_in_the_provinces_zone(
    zone: str, db: Database, session: Session, tmp_path: Path
) -> None:
    ctx = JobContext(config=Config(env="testing"), instance_path=tmp_path, sealer_factory=lambda: SEALER)
    run = run_job(db, JOBS["monthly_documents"], LATE, ctx)
    assert run is not None
    assert run.status is JobStatus.SUCCEEDED, run.error
    assert run.result["period"] == f"{EXPECTED[zone][1]:%Y-%m}"


def test_the_demo_runs_last_month_in_the_provinces_zone(
    app: Flask, db: Database, session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("core.clock.now", lambda: LATE)
    result = app.test_cli_runner().invoke(args=["demo", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert set(session.scalars(select(OffPlatformPurchase.month))) == {NOVEMBER}
    assert set(session.scalars(select(SettlementApplication.period_month))) == {NOVEMBER}
    assert set(session.scalars(select(Invoice.issued_on))) == {date(2026, 11, 30)}


def test_the_zone_is_configured_from_the_environment_and_passed_to_the_clock(tmp_path: Path) -> None:
    config = Config.from_env({"VBP_TIMEZONE": "UTC", "VBP_INSTANCE_PATH": str(tmp_path)})
    assert config.timezone == "UTC"
    try:
        create_app(Config(env="testing", instance_path=str(tmp_path), timezone="UTC"))
        assert clock.business_date(LATE) == date(2026, 11, 30)
        create_app(Config(env="testing", instance_path=str(tmp_path)))
        assert clock.business_date(LATE) == date(2026, 12, 1)  # the default: Asia/Shanghai
    finally:
        clock.configure(clock.DEFAULT_ZONE)


@pytest.mark.parametrize("name", ["Beijing", "Asia/Nowhere", "", "../etc/passwd"])
def test_an_unknown_zone_is_refused_at_start_up(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError, match="VBP_TIMEZONE"):
        Config(env="testing", instance_path=str(tmp_path), timezone=name).resolve(str(tmp_path))


#: Ways of reading a date off the wall clock or a UTC instant without the province's zone.
UTC_DATES = re.compile(
    r"date\.today\(|datetime\.(now|utcnow|today)\(|\b\w*(now|tick|moment|_at|as_of)\b\)?\.date\(\)"
    r"|ZoneInfo\(|CHINA_TZ"
)


def test_no_business_date_is_read_off_the_clock_outside_core_clock() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for package in ("core", "bidding", "ledger", "reports", "app")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path.relative_to(ROOT).as_posix() not in ("core/clock.py", "app/config.py")
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if UTC_DATES.search(line)
    ]
    assert offenders == []
