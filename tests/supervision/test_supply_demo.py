"""The supply-guarantee demo step, after the demo's ordering and invoicing, makes each of this
part's rules fire and leaves a void, a supply failure and a backup activation to look at."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import Database, unit_of_work
from app.demo import build_organizations
from app.demo_supervision_supply import seed
from core import clock
from ledger.supervision.models import SupervisionWarning
from ledger.supervision.settings import DEFAULTS
from ledger.supervision.supply_models import BackupActivation, LineVoid, SupplyFailure
from ledger.supervision.warnings import compute_warnings


def test_the_demo_seed_makes_every_supply_rule_fire(
    app: Flask, db: Database, session: Session, tmp_path: Path
) -> None:
    result = app.test_cli_runner().invoke(args=["demo", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    now = clock.now()
    lines: list[str] = []
    with unit_of_work(db.sessionmaker()) as s:
        world = build_organizations(s)
        seed(s, orgs=world.orgs, users=world.users, now=now, echo=lines.append)
        compute_warnings(s, now=now, settings=DEFAULTS)
    rules = set(
        session.scalars(select(SupervisionWarning.rule).where(SupervisionWarning.live_key.is_not(None)))
    )
    assert {"order_unanswered", "line_out_of_stock", "delivery_rate_low"} <= rules, lines
    assert session.scalar(select(func.count()).select_from(LineVoid)) == 1
    assert session.scalar(select(func.count()).select_from(SupplyFailure)) == 1
    assert session.scalar(select(func.count()).select_from(BackupActivation)) == 1, lines
    with unit_of_work(db.sessionmaker()) as s:
        world = build_organizations(s)
        seed(s, orgs=world.orgs, users=world.users, now=now, echo=lines.append)  # a second run adds nothing
    assert session.scalar(select(func.count()).select_from(SupplyFailure)) == 1
