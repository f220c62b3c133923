"""Demo step: supervision (issue 18). Each part's seed makes its rules find something through the
services (an unanswered order, an out-of-stock line, a void, a supply failure and a backup
activation; imported prices, a red line crossed, a shortage product; a credit rating and its
suspensions, fund savings; non-winner use, volume lag, unconfirmed receipts, implausibly fast
logistics), then the daily warnings run as the scheduler would and the month's supervision report
is written into the output folder. Each seed skips itself on a second run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from app import (
    demo_supervision_credit,
    demo_supervision_price,
    demo_supervision_supply,
    demo_supervision_watch,
)
from app.db import Database, unit_of_work
from core import clock
from ledger.supervision.settings import SupervisionSettings
from ledger.supervision.warnings import compute_warnings
from reports.supervision_report import write_supervision_report

DEMO_PRICE_INCREASE_PCT = 20

SEEDS = (demo_supervision_supply, demo_supervision_price, demo_supervision_credit, demo_supervision_watch)


def run_supervision(
    db: Database,
    *,
    world_of: Callable[[Any], Any],
    now: datetime,
    out_dir: Path,
    settings: SupervisionSettings,
    echo: Callable[[str], None],
) -> list[Path]:
    for part in SEEDS:
        with unit_of_work(db.sessionmaker()) as session:
            world = world_of(session)
            part.seed(session, orgs=world.orgs, users=world.users, now=now, echo=echo)
    if settings.price_max_increase_pct is None:
        # The abnormal price-change rule is off by default (no national threshold, vbp-rules.md §8);
        # the demo turns it on at 20 % so the bureau sees every kind of warning once.
        settings = replace(settings, price_max_increase_pct=DEMO_PRICE_INCREASE_PCT)
        echo(f"演示启用价格异常上涨规则 (demo turns on the price-increase rule): {DEMO_PRICE_INCREASE_PCT}%")
    with unit_of_work(db.sessionmaker()) as session:
        summary = compute_warnings(session, now=now, settings=settings)
        found = sum(summary.seen.values())
        echo(f"监督预警 (supervision warnings): {found} 条在册，新增 {sum(summary.raised.values())} 条")
    with unit_of_work(db.sessionmaker()) as session:
        paths = write_supervision_report(
            session, clock.month_start(clock.business_date(now)), out_dir / "reports"
        )
    for path in paths:
        echo(f"监督报告 (supervision report): {path.name}")
    return paths
