"""`flask batch …`: results decided elsewhere and alliances led here, from the shell, acting as a
named bureau operator (the audit trail names who imported what)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from app.db import get_db, unit_of_work
from bidding import alliance, publicity, results_import
from core import accounts, clock
from core.actors import Actor
from core.errors import DomainError
from core.organizations import User

batch_cli = AppGroup("batch", help="批次：导入并执行国家/联盟中选结果，联盟牵头 (batches)")
USER = click.option("--user", "username", required=True, help="医保局经办人员用户名 (bureau operator)")


def _actor(session, username: str) -> Actor:  # type: ignore[no-untyped-def]
    user = session.scalars(select(User).where(User.username == username, User.active.is_(True))).first()
    if user is None:
        raise click.ClickException(f"没有该用户 (no such active user): {username}")
    return accounts.actor_for_user(user)


def _province() -> str:
    return str(current_app.config["VBP"].province_code)


def _fail(exc: DomainError) -> click.ClickException:
    lines = [exc.message] + [f"  {k}: {'; '.join(v)}" for k, v in sorted((exc.fields or {}).items())]
    return click.ClickException("\n".join(lines))


@batch_cli.command("import-results")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--demand-opens", type=click.DateTime(["%Y-%m-%dT%H:%M"]), required=True)
@click.option("--demand-closes", type=click.DateTime(["%Y-%m-%dT%H:%M"]), required=True)
@USER
def import_results(path: Path, demand_opens: datetime, demand_closes: datetime, username: str) -> None:
    """Create a national or alliance batch from its results file (xlsx, csv, json)."""
    zone = clock.zone()
    with unit_of_work(get_db().sessionmaker()) as session:
        try:
            summary = results_import.import_results(
                session,
                _actor(session, username),
                data=path.read_bytes(),
                filename=path.name,
                province_code=_province(),
                demand_opens_at=demand_opens.replace(tzinfo=zone),
                demand_closes_at=demand_closes.replace(tzinfo=zone),
                now=clock.now(),
            )
        except DomainError as exc:
            raise _fail(exc) from exc
        batch = summary.batch
        click.echo(f"批次 {batch.id}（{batch.name}）：{summary.items} 个品种，{summary.winners} 家中选企业")
        if summary.unsupplied_items:
            click.echo(
                "本省无主供企业的品种 (no primary supplier here): " + "、".join(summary.unsupplied_items)
            )


@batch_cli.command("execute")
@click.argument("batch_id", type=int)
@USER
def execute(batch_id: int, username: str) -> None:
    """落地: turn the province's demand into agreed volumes (after demand closes)."""
    with unit_of_work(get_db().sessionmaker()) as session:
        try:
            s = results_import.execute_results(session, _actor(session, username), batch_id, now=clock.now())
        except DomainError as exc:
            raise _fail(exc) from exc
    click.echo(f"批次 {s.batch_id}：{s.items} 个品种，{s.allocations} 条约定采购量，合计 {s.agreed_quantity}")


@batch_cli.command("rederive")
@click.argument("batch_id", type=int)
def rederive(batch_id: int) -> None:
    """Re-run the selection from the stored inputs (or say it was not done here)."""
    with get_db().sessionmaker() as session:
        report = results_import.rederive_batch(session, batch_id)
    click.echo(report.statement)
    for item_id, differences in sorted(report.differences.items()):
        for line in differences:
            click.echo(f"  品种 {item_id}: {line}")
    if report.selected_here and any(report.differences.values()):
        raise SystemExit(1)


@batch_cli.command("members")
@click.argument("batch_id", type=int)
@click.argument("provinces", nargs=-1, required=True)
@USER
def members(batch_id: int, provinces: tuple[str, ...], username: str) -> None:
    """Set the member provinces of an alliance batch led here."""
    with unit_of_work(get_db().sessionmaker()) as session:
        try:
            batch = alliance.set_member_provinces(
                session,
                _actor(session, username),
                batch_id,
                provinces,
                own_province=_province(),
                now=clock.now(),
            )
        except DomainError as exc:
            raise _fail(exc) from exc
        click.echo("联盟成员 (members): " + ", ".join(batch.member_provinces or []))


@batch_cli.command("member-demand")
@click.argument("batch_id", type=int)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--province", required=True)
@USER
def member_demand(batch_id: int, path: Path, province: str, username: str) -> None:
    """Replace a member province's demand with a file (xlsx or csv)."""
    with unit_of_work(get_db().sessionmaker()) as session:
        try:
            rows = alliance.import_member_demand(
                session,
                _actor(session, username),
                batch_id,
                province=province,
                own_province=_province(),
                data=path.read_bytes(),
                filename=path.name,
                now=clock.now(),
            )
        except DomainError as exc:
            raise _fail(exc) from exc
    click.echo(f"{province}：{rows} 行报量 (rows)")


@batch_cli.command("export-results")
@click.argument("batch_id", type=int)
@click.option(
    "--province", "provinces", multiple=True, help="成员省；不填则导出全部成员省 (default: every member)"
)
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv", "json"]), default="xlsx")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
@USER
def export_results(batch_id: int, provinces: tuple[str, ...], fmt: str, out_dir: Path, username: str) -> None:
    """Write each member province's results file (the format `import-results` reads)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with unit_of_work(get_db().sessionmaker()) as session:
        actor = _actor(session, username)
        try:
            batch = alliance.lead_batch(session, actor, batch_id)
            wanted = list(provinces) or [p for p in batch.member_provinces or [] if p != _province()]
            with click.progressbar(wanted, label="导出 (exporting)") as bar:
                for province in bar:
                    data = alliance.export_for_member(
                        session, actor, batch_id, province, own_province=_province(), fmt=fmt, now=clock.now()
                    )
                    (out_dir / f"results-{batch_id}-{province}.{fmt}").write_bytes(data)
        except DomainError as exc:
            raise _fail(exc) from exc
    click.echo(f"已导出 {len(wanted)} 个文件到 {out_dir}")


@batch_cli.command("finalize-due")
@click.option(
    "--at", "at", type=click.DateTime(["%Y-%m-%dT%H:%M"]), help="当作此刻（中国时间）(as of this time)"
)
def finalize_due(at: datetime | None) -> None:
    """Make final the results whose publicity period (公示期) has ended with no open objection."""
    now = at.replace(tzinfo=clock.zone()) if at else clock.now()
    with unit_of_work(get_db().sessionmaker()) as session:
        done = publicity.finalize_due(session, now)
    click.echo(f"公示期满，结果已确定的批次 (batches made final): {done or '无 (none)'}")
