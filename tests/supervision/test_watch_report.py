"""The monthly supervision report: counts by rule (raised in the month, open at its end) against
the previous month, the largest non-winner shares from the warnings' values, the PDF and xlsx."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from core.actors import OrgKind
from ledger.supervision import warnings as engine
from ledger.supervision.models import Severity
from ledger.supervision.settings import DEFAULTS
from reports.supervision_report import build_supervision_report, render_xlsx, write_supervision_report
from tests.factories import make_org

RULE = "non_winner_share"


@pytest.fixture
def found(session: Session, monkeypatch: pytest.MonkeyPatch) -> dict[int, str]:
    """hospital id → the share the fake rule finds today."""
    shares: dict[int, str] = {}

    def compute(_s: Session, _now: datetime, _settings: object) -> list[engine.Finding]:
        return [
            engine.Finding("hospital", h, h, "510104", Severity.MEDIUM, value=v, threshold="20")
            for h, v in shares.items()
        ]

    engine.load_rules()
    monkeypatch.setitem(engine.RULES, RULE, engine.Rule(RULE, "非中选 (test)", True, compute))
    return shares


def _day(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 2, 0, tzinfo=UTC)


def test_counts_trend_and_ranking(session: Session, found: dict[int, str], tmp_path: Path) -> None:
    a, b, c = (make_org(session, OrgKind.HOSPITAL, name=f"医院{n}") for n in "甲乙丙")
    found |= {a.id: "35.00", b.id: "60.00"}
    engine.compute_warnings(session, now=_day(6, 10), settings=DEFAULTS, rules=[RULE])
    del found[a.id]  # a's share falls back in June: resolved within the month
    engine.compute_warnings(session, now=_day(6, 20), settings=DEFAULTS, rules=[RULE])
    found[c.id] = "25.00"  # July: one new
    engine.compute_warnings(session, now=_day(7, 3), settings=DEFAULTS, rules=[RULE])

    june = build_supervision_report(session, date(2026, 6, 1), generated_at=_day(8, 1))
    (count,) = [x for x in june.counts if x.rule == RULE]
    assert (count.raised, count.open_at_end, count.previous_raised, count.previous_open_at_end) == (
        2,
        1,
        0,
        0,
    )
    assert [r.value for r in june.non_winner_shares] == ["60.00", "35.00"]
    assert june.non_winner_shares[0].name == "医院乙"

    july = build_supervision_report(session, date(2026, 7, 15), generated_at=_day(8, 1))
    (count,) = [x for x in july.counts if x.rule == RULE]
    assert (count.raised, count.open_at_end, count.raised_delta, count.open_delta) == (1, 2, -1, 1)
    assert [r.value for r in july.non_winner_shares] == ["60.00", "25.00"]

    sheet = load_workbook(io.BytesIO(render_xlsx(july)))["预警数量"]
    rows = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows[RULE][2:] == (1, 2, -1, 2, 1, 1)
    pdf, xlsx = write_supervision_report(session, date(2026, 7, 1), tmp_path)
    assert pdf.read_bytes().startswith(b"%PDF")
    assert xlsx.name == "supervision-2026-07.xlsx"
