"""`flask batch renew`: create the renewal (续标) of an expiring batch from the shell, as the
platform (the audit trail names the system actor). One unit of work."""

from __future__ import annotations

from datetime import date, datetime

import click
from flask.cli import with_appcontext

from app.cli_batches import batch_cli
from app.db import get_db, unit_of_work
from bidding import renewal
from bidding.rules import CarryOver, RenewalCeiling
from core import clock
from core.actors import Actor
from core.errors import DomainError


def _moment(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value if value.tzinfo is not None else value.replace(tzinfo=clock.zone())


class Moment(click.ParamType):
    """An ISO date-time; China time (VBP_TIMEZONE) when it names no zone."""

    name = "datetime"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return _moment(str(value))
        except ValueError:
            self.fail(f"须为 ISO 日期时间 (ISO date-time, e.g. 2027-01-05T09:00): {value!r}", param, ctx)


@batch_cli.command("renew")
@with_appcontext
@click.argument("batch_id", type=int)
@click.option("--name", default=None, help="default: the expiring batch's name + （续标）")
@click.option("--demand-opens", type=Moment(), required=True)
@click.option("--demand-closes", type=Moment(), required=True)
@click.option("--bid-opens", type=Moment(), required=True)
@click.option("--bid-closes", type=Moment(), required=True)
@click.option("--opening", type=Moment(), required=True)
@click.option(
    "--cycle-end", type=click.DateTime(["%Y-%m-%d"]), default=None, help="default: as long as the old cycle"
)
@click.option("--ceiling", type=click.Choice([c.value for c in RenewalCeiling]), default=None)
@click.option("--carry-over", type=click.Choice([c.value for c in CarryOver]), default=None)
def renew(
    batch_id: int,
    name: str | None,
    demand_opens: datetime,
    demand_closes: datetime,
    bid_opens: datetime,
    bid_closes: datetime,
    opening: datetime,
    cycle_end: datetime | None,
    ceiling: str | None,
    carry_over: str | None,
) -> None:
    """Create the draft renewal of BATCH_ID (its cycle starts the day after the old one ends)."""
    overrides = {
        k: v for k, v in (("renewal_ceiling", ceiling), ("renewal_carry_over", carry_over)) if v is not None
    }
    cycle_end_on: date | None = cycle_end.date() if cycle_end else None
    try:
        with unit_of_work(get_db().sessionmaker()) as session:
            new = renewal.create_renewal(
                session,
                Actor.system(),
                batch_id,
                name=name,
                rule_overrides=overrides,
                timeline={
                    "demand_opens_at": demand_opens,
                    "demand_closes_at": demand_closes,
                    "bid_opens_at": bid_opens,
                    "bid_closes_at": bid_closes,
                    "opening_at": opening,
                },
                cycle_end_on=cycle_end_on,
                now=clock.now(),
            )
            summary = (new.id, new.name, new.cycle_start_on, new.cycle_end_on, len(new.items))
    except DomainError as exc:
        problems = "; ".join(f"{k}: {', '.join(v)}" for k, v in exc.fields.items())
        raise click.ClickException(
            f"{exc.message}{' — ' + problems if problems else ''} [{exc.code}]"
        ) from exc
    new_id, new_name, start, end, items = summary
    click.echo(
        f"已创建续标批次 {new_id} {new_name}：采购周期 {start} – {end}，{items} 个品种 "
        f"(renewal batch created as a draft)"
    )
