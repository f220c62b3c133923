"""`flask` commands: database migrations, bootstrap, demo, audit verification.

Each command is one unit of work (commit on success, roll back on failure).
"""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path

import click
from alembic import command
from alembic.config import Config as AlembicConfig
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from app.db import get_db, unit_of_work
from core import audit, clock

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(url: str) -> AlembicConfig:
    """Alembic config for `url` (independent of the Flask app, usable from tests too)."""
    cfg = AlembicConfig(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    return cfg


db_cli = AppGroup("db", help="Database schema (Alembic migrations).")


@db_cli.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Bring the configured database to REVISION (default: head)."""
    command.upgrade(alembic_config(current_app.config["VBP"].database_url), revision)
    click.echo(f"数据库已升级到 {revision} (database upgraded to {revision})")


@db_cli.command("downgrade")
@click.argument("revision", default="-1")
def db_downgrade(revision: str) -> None:
    """Step the schema back to REVISION (default: one step)."""
    command.downgrade(alembic_config(current_app.config["VBP"].database_url), revision)


@db_cli.command("current")
def db_current() -> None:
    """Show the database's current revision."""
    command.current(alembic_config(current_app.config["VBP"].database_url), verbose=False)


@db_cli.command("check")
def db_check() -> None:
    """Fail if the models and the migrations disagree (schema drift)."""
    command.check(alembic_config(current_app.config["VBP"].database_url))
    click.echo("模型与迁移一致 (no drift)")


audit_cli = AppGroup("audit", help="Audit trail.")


@audit_cli.command("verify")
def audit_verify() -> None:
    """Recompute every audit lane's hash chain and every daily root; exit 1 at the first problem."""
    with unit_of_work(get_db().sessionmaker()) as session:
        report = audit.verify_chain(session)
        lanes = len(audit.lane_heads(session))
    if report.ok:
        click.echo(
            f"审计链完整：{lanes} 条通道 {report.checked} 条记录，{report.roots} 个日根 "
            f"(audit chain intact: {report.checked} events in {lanes} lanes, {report.roots} daily roots)"
        )
        return
    if report.day is not None:
        where_zh = f"{report.day.isoformat()} 的日根"
    else:
        where_zh = f"通道 {report.lane} 第 {report.first_bad_seq} 条"
    click.echo(
        f"审计链被破坏：{where_zh}，{report.problem} "
        f"(audit chain broken at {report.where()}: {report.problem})",
        err=True,
    )
    sys.exit(1)


@audit_cli.command("root")
@click.option("--day", type=click.DateTime(formats=["%Y-%m-%d"]), help="business day (default: yesterday)")
def audit_root(day: datetime | None) -> None:
    """Compute the daily root over every lane head (once per day; again: shows the stored one)."""
    from core.audit_roots import compute_root
    from core.errors import DomainError

    now = clock.now()
    wanted = day.date() if day else clock.business_date(now) - timedelta(days=1)
    try:
        with unit_of_work(get_db().sessionmaker()) as session:
            root, made = compute_root(session, wanted, now=now)
            lanes = len(root.heads)
            line = (
                f"{root.day.isoformat()} {root.root_hash} ({lanes} lanes, prev {root.prev_root_hash[:16]}…)"
            )
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(("已计算日根 (root computed): " if made else "日根已存在 (root exists): ") + line)


@audit_cli.command("lanes")
@click.argument("count", type=int, required=False)
def audit_lanes(count: int | None) -> None:
    """Show the lanes in use, or set their number to COUNT (default: VBP_AUDIT_LANES)."""
    from core.errors import DomainError

    if count is None:
        with get_db().sessionmaker() as session:
            heads = audit.lane_heads(session)
        configured = current_app.config["VBP"].audit_lanes
        click.echo(f"使用中的审计通道 (lanes in use): {len(heads)}; VBP_AUDIT_LANES={configured}")
        for lane, seq, last_hash in heads:
            click.echo(f"  {lane:>4} {seq:>10} {last_hash}")
        return
    try:
        with unit_of_work(get_db().sessionmaker()) as session:
            before, after = audit.set_lane_count(session, count, now=clock.now())
    except DomainError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"审计通道 {before} → {after} (audit lanes {before} → {after})")


ledger_cli = AppGroup("ledger", help="The double-entry journal.")


@ledger_cli.command("verify")
def ledger_verify() -> None:
    """Check the ledger's invariants (ledger/invariants.py); exit 1 if any fails."""
    from ledger.invariants import check_ledger

    with get_db().sessionmaker() as session:
        report = check_ledger(session)
    journal = report.journal
    click.echo(
        f"分录 {journal.entries} 笔，过账 {journal.postings} 条，余额合计 {journal.total_fen} 分 "
        f"(entries, postings, sum of balances in fen)"
    )
    if not report.ok:
        for problem in report.problems():
            click.echo(problem, err=True)
        sys.exit(1)
    click.echo(
        "账簿平衡，付款不超过确认金额，资金记录均对应订单行，账簿与三流一致 "
        "(ledger invariants hold; the journal agrees with the flows per order line and party)"
    )


@click.command("bootstrap")
@with_appcontext
@click.option("--bureau-name", required=True, help="e.g. 四川省医疗保障局")
@click.option("--uscc", required=True, help="统一社会信用代码 of the bureau")
@click.option("--region", "region_code", required=True, help="6-digit region code, e.g. 510000")
@click.option("--admin-username", required=True)
@click.option("--admin-password", prompt=True, hide_input=True, confirmation_prompt=True)
def bootstrap(
    bureau_name: str, uscc: str, region_code: str, admin_username: str, admin_password: str
) -> None:
    """Create the bureau organization and its first admin on an empty platform."""
    from core import accounts
    from core.actors import Actor, OrgKind, Role

    now, system = clock.now(), Actor.system()
    with unit_of_work(get_db().sessionmaker()) as session:
        org = accounts.create_organization(
            session,
            system,
            kind=OrgKind.BUREAU,
            name=bureau_name,
            uscc=uscc,
            region_code=region_code,
            now=now,
        )
        accounts.create_user(
            session,
            system,
            organization_id=org.id,
            username=admin_username,
            display_name="管理员",
            password=admin_password,
            role=Role.ADMIN,
            now=now,
        )
    click.echo(f"已创建 {bureau_name} 与管理员 {admin_username}")


@click.command("demo")
@with_appcontext
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Output folder for the demo's documents (default: instance/demo-output)",
)
def demo(out_dir: Path | None) -> None:
    """Build (or refresh) a demo province and run the procurement cycle on it. Safe to run twice."""
    from app import bid_sealer
    from app.demo import run_demo
    from app.pki import signing_keys

    if current_app.config["VBP"].production:
        raise click.ClickException("拒绝在生产环境运行演示 (refusing to run the demo in production)")
    out = out_dir or Path(current_app.instance_path) / "demo-output"
    out.mkdir(parents=True, exist_ok=True)
    from app.cli_reports import verify_base

    run_demo(
        get_db(),
        out_dir=out,
        echo=click.echo,
        sealer=bid_sealer(),
        terms=current_app.config["VBP"].payment_terms(),
        verify_url_base=verify_base(),
        province_code=current_app.config["VBP"].province_code,
        supervision=current_app.config["VBP"].supervision,
        agreement_keys=signing_keys(),
    )


def init_app(app: Flask) -> None:
    from app.cli_batches import batch_cli
    from app.cli_renewal import renew  # noqa: F401  (registers `flask batch renew` on batch_cli)
    from app.cli_reports import reconcile_command, report_cli
    from app.cli_supervision import supervision_cli
    from app.scheduler import scheduler_cli

    commands = (
        db_cli,
        audit_cli,
        ledger_cli,
        bootstrap,
        demo,
        reconcile_command,
        report_cli,
        scheduler_cli,
        batch_cli,
        supervision_cli,
    )
    for cmd in commands:
        app.cli.add_command(cmd)
    from app import cli_supervision_supply

    cli_supervision_supply.init_app(app)
    from app import cli_disclosure

    cli_disclosure.init_app(app)
    from app import pki

    pki.init_app(app)
    from app.cli_jobs import jobs_cli

    app.cli.add_command(jobs_cli)
    from app import cli_partitions

    cli_partitions.init_app(app)
