from pathlib import Path

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import Database
from core import audit
from core.organizations import Organization, User


def test_demo_runs_twice_without_duplicating_anything(
    app: Flask, db: Database, session: Session, tmp_path: Path
) -> None:
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "--out", str(tmp_path)])
    assert first.exit_code == 0, first.output
    counts = (
        session.scalar(select(func.count(Organization.id))),
        session.scalar(select(func.count(User.id))),
    )
    second = runner.invoke(args=["demo", "--out", str(tmp_path)])
    assert second.exit_code == 0, second.output
    assert (
        session.scalar(select(func.count(Organization.id))),
        session.scalar(select(func.count(User.id))),
    ) == counts
    assert counts[0] >= 13  # bureau, 4 manufacturers, 2 distributors, 6 hospitals
    assert "Demo-2026-vbp" in first.output
    assert audit.verify_chain(session).ok
