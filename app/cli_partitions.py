"""`flask partitions maintain|list`: monthly partitions of the history tables (core/partitions.py).

Retention per table: core/partitions.py POLICIES, overridden by VBP_PARTITION_RETENTION
("table=months,table=keep", e.g. "idempotency_keys=6,trace_codes=keep"). The scheduler runs
`maintain` monthly with the same settings (app/scheduler.py)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date

import click
from flask import Flask
from flask.cli import AppGroup

from app.db import get_db, unit_of_work
from core import partitions

partitions_cli = AppGroup("partitions", help="历史表按月分区 (monthly partitions of the history tables).")


def retention_from_env(environ: Mapping[str, str] | None = None) -> dict[str, int | None]:
    """Per-table retention overrides from VBP_PARTITION_RETENTION; a bad entry fails loudly."""
    raw = (os.environ if environ is None else environ).get("VBP_PARTITION_RETENTION", "")
    found: dict[str, int | None] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        table, _, months = item.partition("=")
        if table not in partitions.BY_TABLE or not (months == "keep" or months.isdigit()):
            raise click.UsageError(f"VBP_PARTITION_RETENTION: {item!r} is not table=months or table=keep")
        found[table] = None if months == "keep" else int(months)
    return found


def _month(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        year, month = (int(x) for x in text.split("-"))
        return date(year, month, 1)
    except ValueError as exc:
        raise click.BadParameter("须为 YYYY-MM (a month, e.g. 2026-05)") from exc


@partitions_cli.command("maintain")
@click.option("--months-ahead", default=3, show_default=True, type=click.IntRange(0, 36))
@click.option("--archive-before", help="archive months before this one (YYYY-MM), where retention allows")
def maintain_command(months_ahead: int, archive_before: str | None) -> None:
    """Create the coming months' partitions and archive old ones (schema `archive`)."""
    with unit_of_work(get_db().sessionmaker()) as session:
        report = partitions.maintain(
            session,
            months_ahead=months_ahead,
            archive_before=_month(archive_before),
            retention=retention_from_env(),
        )
    for line in report.lines or ["nothing to do"]:
        click.echo(line)


@partitions_cli.command("list")
def list_command() -> None:
    """Each history table's partitions with their row counts."""
    with get_db().sessionmaker() as session:
        for line in partitions.listing(session):
            click.echo(line)


def init_app(app: Flask) -> None:
    app.cli.add_command(partitions_cli)
