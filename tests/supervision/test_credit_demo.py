"""The credit part's demo seed on the demo world: a suspended listing held by a rating, a repaired
rating's listing listed again, messages to the buyer, and fund savings this month."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import Database, unit_of_work
from app.demo import build_organizations
from app.demo_supervision_credit import seed
from core import clock
from core.accounts import actor_for_user
from core.messages import Message
from ledger.models import Listing, ListingStatus
from ledger.supervision.credit_models import CreditSuspension
from ledger.supervision.fund_savings import fund_savings


def test_the_seed_shows_linkage_repair_and_savings(
    app: Flask, db: Database, session: Session, tmp_path: Path
) -> None:
    result = app.test_cli_runner().invoke(args=["demo", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    lines: list[str] = []
    for _ in range(2):  # the second run finds it done
        with unit_of_work(db.sessionmaker()) as work:
            world = build_organizations(work)
            seed(work, orgs=world.orgs, users=world.users, now=clock.now(), echo=lines.append)
    assert "跳过" in lines[-1]

    rows = session.scalars(select(CreditSuspension)).all()
    held = [r for r in rows if r.restored_at is None]
    restored = [r for r in rows if r.restored_at is not None]
    assert held
    assert restored
    assert session.get_one(Listing, held[0].listing_id).status is ListingStatus.SUSPENDED
    assert session.get_one(Listing, restored[0].listing_id).status is ListingStatus.LISTED
    kinds = {m.kind for m in session.scalars(select(Message))}
    assert {"credit_suspended", "credit_restored", "credit_buy_elsewhere"} <= kinds

    world = build_organizations(session)
    bureau = actor_for_user(world.users["bureau-op"])
    report = fund_savings(session, bureau, month=clock.business_date(clock.now()).replace(day=1))
    assert report.total_savings_fen > 0
