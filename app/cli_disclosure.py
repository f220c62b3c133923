"""`flask ocds export` (OCDS 1.1 release packages and records of every published batch) and
`flask sharing export` (listed prices and the shortage list in the other platforms' import format)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.db import get_db
from core import clock
from ledger.disclosure import public_batches
from ledger.supervision import sharing
from reports import ocds

ocds_cli = AppGroup("ocds", help="开放合同数据标准 OCDS 1.1 导出 (open contracting data export).")
sharing_cli = AppGroup("sharing", help="平台间共享文件 (files for other platforms).")


@ocds_cli.command("export")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--batch", "batch_ids", type=int, multiple=True, help="only this batch (repeatable)")
@click.option(
    "--stage",
    "stages",
    type=click.Choice(ocds.STAGES),
    multiple=True,
    help="only these stages (repeatable); default all five, whatever is public on the API",
)
def export_ocds(out: Path, batch_ids: tuple[int, ...], stages: tuple[str, ...]) -> None:
    """Write <out>/<ocid>/<stage>.json and record.json for every published batch, each validated."""
    config = current_app.config["VBP"]
    publisher = ocds.Publisher(prefix=config.ocds_prefix, base_uri=f"{config.public_url}/api/v1/public/ocds")
    chosen = stages or ocds.STAGES
    now = clock.now()
    with get_db().sessionmaker() as session:
        stmt = public_batches()
        ids = [b.id for b in session.scalars(stmt) if not batch_ids or b.id in batch_ids]
        missing = sorted(set(batch_ids) - set(ids))
        if missing:
            raise click.BadParameter(
                f"未公布或不存在的批次 (not published or unknown): {missing}", param_hint="--batch"
            )
        written = 0
        with click.progressbar(ids, label="OCDS 导出 (exporting)") as bar:
            for batch_id in bar:
                folder = out / ocds.ocid(publisher, batch_id)
                folder.mkdir(parents=True, exist_ok=True)
                packages = {
                    stage: ocds.release_package(session, batch_id, stage, publisher=publisher, published=now)
                    for stage in chosen
                }
                packages["record"] = ocds.record_package(
                    session, batch_id, chosen, publisher=publisher, published=now
                )
                for name, package in packages.items():
                    if package is None:  # published a moment ago, closed since: nothing to write
                        continue
                    wrong = ocds.problems(package)
                    if wrong:
                        raise click.ClickException(f"{batch_id}/{name}: {'; '.join(wrong[:5])}")
                    text = json.dumps(package, ensure_ascii=False, indent=1)
                    (folder / f"{name}.json").write_text(text, encoding="utf-8")
                    written += 1
    click.echo(f"{len(ids)} 个批次，{written} 个文件 (batches, files) → {out}")


@sharing_cli.command("export")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), required=True)
def export_sharing(out: Path) -> None:
    """Write listed-prices.xlsx and shortage-list.xlsx, in the files other platforms import."""
    out.mkdir(parents=True, exist_ok=True)
    province = current_app.config["VBP"].province_code
    with get_db().sessionmaker() as session, click.progressbar(length=2, label="导出 (exporting)") as bar:
        (out / "listed-prices.xlsx").write_bytes(sharing.price_file(session, province_code=province))
        bar.update(1)
        (out / "shortage-list.xlsx").write_bytes(sharing.shortage_file(session))
        bar.update(1)
    click.echo(f"listed-prices.xlsx, shortage-list.xlsx → {out}")


def init_app(app: Flask) -> None:
    app.cli.add_command(ocds_cli)
    app.cli.add_command(sharing_cli)
