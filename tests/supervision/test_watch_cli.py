"""`flask supervision warnings` and `flask supervision report` on the test database."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ledger.services import ordering
from ledger.services.ordering import ShipRequest
from ledger.supervision.models import SupervisionWarning
from tests.flows import at
from tests.ordering import EXPIRY, make_market

DAY = date(2026, 6, 1)


def test_warnings_and_report_commands(app: Flask, session: Session, tmp_path: Path) -> None:
    m = make_market(session)
    order = m.order(5, now=at(DAY))
    ordering.decide_order(session, m.distributor_actor, order.id, accept=True, reason=None, now=at(DAY))
    ordering.ship(
        session,
        m.distributor_actor,
        order.id,
        lines=[ShipRequest(order.lines[0].id, 5, "B1", EXPIRY)],
        now=at(DAY),
    )
    session.commit()
    runner = app.test_cli_runner()

    args = ["supervision", "warnings", "--day", "2026-06-08", "--rule", "receipt_unconfirmed"]
    first = runner.invoke(args=args)
    assert first.exit_code == 0, first.output
    assert "新增 1" in first.output
    again = runner.invoke(args=args)
    assert "新增 0" in again.output
    assert session.scalar(select(func.count()).select_from(SupervisionWarning)) == 1

    bad = runner.invoke(args=["supervision", "warnings", "--rule", "no_such_rule"])
    assert bad.exit_code != 0
    assert "--rule" in bad.output
    every = runner.invoke(args=["supervision", "warnings", "--day", "2026-06-08"])
    assert every.exit_code == 0, every.output
    assert "volume_lag" in every.output

    out = tmp_path / "sup"
    made = runner.invoke(args=["supervision", "report", "--month", "2026-06", "--out", str(out)])
    assert made.exit_code == 0, made.output
    assert sorted(p.name for p in out.iterdir()) == ["supervision-2026-06.pdf", "supervision-2026-06.xlsx"]
    assert runner.invoke(args=["supervision", "report", "--month", "2026-6x"]).exit_code != 0
