"""`flask reconcile` and `flask report …` on the test database."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask
from sqlalchemy.orm import Session

from tests.ledger.test_reconcile import Line
from tests.ordering import make_market


def test_reconcile_and_report_commands(app: Flask, session: Session, tmp_path: Path) -> None:
    market = make_market(session)
    Line(market, 10).place().accept().receive(10)
    Line(market, 4).place().accept()
    session.commit()
    runner = app.test_cli_runner()

    result = runner.invoke(args=["reconcile", "--store", "--as-of", "2026-06-03T10:00:00"])
    assert result.exit_code == 0, result.output
    assert "异常/未结 2 行" in result.output
    assert "待开票" in result.output
    assert "逾期未配送" in result.output

    bad = runner.invoke(args=["report", "statements", "--period", "2026-13"])
    assert bad.exit_code != 0
    out = tmp_path / "st"
    made = runner.invoke(args=["report", "statements", "--period", "2026-05", "--out", str(out)])
    assert made.exit_code == 0, made.output
    assert len(list(out.glob("DZD-202605-*-V1.pdf"))) == 1

    report = tmp_path / "ind.json"
    ind = runner.invoke(
        args=["report", "indicators", "--from", "2026-05", "--format", "json", "--out", str(report)]
    )
    assert ind.exit_code == 0, ind.output
    body = json.loads(report.read_text())
    assert body["group_by"] == "province"
