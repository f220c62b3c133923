"""The demo step for the use-monitoring warnings: after the demo, each of the four rules finds
something, and the monthly supervision report is written."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import Database, unit_of_work
from app.demo import build_organizations
from app.demo_supervision_watch import seed
from core import clock
from ledger.supervision.models import SupervisionWarning
from ledger.supervision.settings import DEFAULTS
from ledger.supervision.warnings import compute_warnings
from reports.supervision_report import write_supervision_report

USE_RULES = {"non_winner_share", "volume_lag", "receipt_unconfirmed", "implausibly_fast"}


def test_the_demo_seed_makes_every_use_rule_fire(
    app: Flask, db: Database, session: Session, tmp_path: Path
) -> None:
    result = app.test_cli_runner().invoke(args=["demo", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines: list[str] = []
    for _ in range(2):  # the second run changes nothing
        with unit_of_work(db.sessionmaker()) as s:
            world = build_organizations(s)
            seed(s, orgs=world.orgs, users=world.users, now=clock.now(), echo=lines.append)
    assert "跳过" in lines[-1]
    with unit_of_work(db.sessionmaker()) as s:
        compute_warnings(s, now=clock.now(), settings=DEFAULTS)
    found = dict(
        session.execute(select(SupervisionWarning.rule, func.count()).group_by(SupervisionWarning.rule)).all()
    )
    assert {rule for rule in USE_RULES if found.get(rule)} == USE_RULES, found
    with db.sessionmaker() as s:
        paths = write_supervision_report(s, clock.business_date(clock.now()), tmp_path)
    assert all(p.stat().st_size > 1000 for p in paths)
