"""`flask supervision void-unshipped [--day]`: the bureau's hand on the automatic void (作废) of
lines not shipped `VBP_SUP_VOID_AFTER_DAYS` days after ordering, as the platform (the audit trail
names the system actor). One unit of work; running it twice on a day voids nothing more."""

from __future__ import annotations

from datetime import datetime, time

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from app.db import get_db, unit_of_work
from core import clock
from core.actors import Actor


@click.command("void-unshipped")
@with_appcontext
@click.option(
    "--day",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="business day to judge (default: today); lines ordered N or more days before are voided",
)
def void_unshipped(day: datetime | None) -> None:
    """Void what remains to ship on lines ordered N days ago or earlier (N = void_after_days)."""
    from ledger.supervision.supply import void_unshipped_lines

    now = clock.now() if day is None else datetime.combine(day.date(), time(12), tzinfo=clock.zone())
    days = current_app.config["VBP"].supervision.void_after_days
    with unit_of_work(get_db().sessionmaker()) as session:
        summary = void_unshipped_lines(session, Actor.system(), now=now, days=days)
    click.echo(
        f"{summary.day}: 作废 {summary.orders} 张订单 {summary.lines} 行 {summary.packs} 包 "
        f"(voided {summary.lines} lines of {summary.orders} orders, {summary.packs} packs; N = {days})"
    )


def init_app(app: Flask) -> None:
    """Add the command to the `supervision` group (created here if no other part made it)."""
    group = app.cli.commands.get("supervision")
    if not isinstance(group, click.Group):
        group = AppGroup("supervision", help="Supervision (监督): warnings, supply guarantee.")
        app.cli.add_command(group)
    group.add_command(void_unshipped)
