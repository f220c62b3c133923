"""Open data (OCDS 1.1): a release package per stage and a compiled record for a published batch,
each valid against the schema of the standard's required fields and codelists; a broken field
fails validation; the public API serves the public stages only; the CLI writes them all."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from reports import ocds
from tests.public.scenario import PAID_ON, make_scene

PUBLISHER = ocds.Publisher(prefix="ocds-xxxxxx-", base_uri="https://ybj.example.gov.cn/api/v1/public/ocds")
AT = datetime(2026, 6, 30, tzinfo=UTC)


def _packages(session: Session, batch_id: int) -> dict[str, dict[str, Any]]:
    found = {
        stage: ocds.release_package(session, batch_id, stage, publisher=PUBLISHER, published=AT)
        for stage in ocds.STAGES
    }
    found["record"] = ocds.record_package(session, batch_id, ocds.STAGES, publisher=PUBLISHER, published=AT)
    return {k: v for k, v in found.items() if v is not None}


def test_every_stage_and_the_record_of_a_published_batch_validate(session: Session) -> None:
    scene = make_scene(session)
    batch = scene.market.world.batch
    packages = _packages(session, batch.id)
    assert set(packages) == {*ocds.STAGES, "record"}
    for name, package in packages.items():
        assert ocds.problems(package) == [], name
        assert package["version"] == "1.1"
    (award,) = packages["award"]["releases"]
    assert award["ocid"] == f"ocds-xxxxxx-vbp-{batch.id}"
    assert award["tag"] == ["award"]
    assert {s["measure"] for s in award["bids"]["statistics"]} >= {"bids", "validBids"}
    first = next(a for a in award["awards"] if "第1名" in a["title"])
    assert first["items"][0]["unit"]["value"] == {"amount": 0.2, "currency": "CNY"}
    assert first["suppliers"][0]["name"] == "企业A"
    (planning,) = packages["planning"]["releases"]
    assert planning["tender"]["items"][0]["quantity"] == 150_000  # the two hospitals' demand, summed
    (contract,) = packages["contract"]["releases"]
    kinds = [c["id"].split("-")[0] for c in contract["contracts"]]
    assert "agreement" in kinds
    assert "calloff" in kinds  # the hospital's order against the agreement
    (done,) = packages["implementation"]["releases"]
    transactions = [t for c in done["contracts"] for t in c["implementation"]["transactions"]]
    assert [(t["value"], t["payer"]["name"], t["payee"]["name"]) for t in transactions] == [
        ({"amount": 200.0, "currency": "CNY"}, scene.market.hospital.name, scene.market.distributor.name)
    ]  # 10 packs × 20.00 yuan, paid by the hospital to its distributor
    assert transactions[0]["date"].startswith(PAID_ON.isoformat())
    record = packages["record"]["records"][0]
    assert record["compiledRelease"]["tag"] == ["compiled"]
    assert len(record["releases"]) == 5
    assert record["compiledRelease"]["tender"]["status"] == "complete"  # later stages win


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        (("version",), "1.0"),
        (("releases", 0, "tag"), ["awarded"]),
        (("releases", 0, "initiationType"), "auction"),
        (("releases", 0, "date"), "2026-05-01"),
        (("releases", 0, "awards", 0, "status"), "won"),
        (("releases", 0, "awards", 0, "value", "amount"), "0.20"),
        (("releases", 0, "parties", 0, "roles"), ["winner"]),
    ],
)
def test_one_broken_field_fails_the_validation(session: Session, path: tuple[Any, ...], bad: Any) -> None:
    scene = make_scene(session, payments=False)
    package = ocds.release_package(
        session, scene.market.world.batch.id, "award", publisher=PUBLISHER, published=AT
    )
    assert package is not None
    assert ocds.problems(package) == []
    broken = copy.deepcopy(package)
    target = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = bad
    assert ocds.problems(broken) != []


def test_a_missing_required_field_fails_the_validation(session: Session) -> None:
    scene = make_scene(session, payments=False)
    package = ocds.record_package(
        session, scene.market.world.batch.id, ocds.STAGES, publisher=PUBLISHER, published=AT
    )
    assert package is not None
    del package["records"][0]["releases"][0]["ocid"]
    assert any("ocid" in p for p in ocds.problems(package))


def test_the_public_api_serves_the_public_stages_only(visitor: FlaskClient, session: Session) -> None:
    scene = make_scene(session)
    base = f"/api/v1/public/ocds/batches/{scene.market.world.batch.id}"
    for stage in ("planning", "tender", "award", "record"):
        answer = visitor.get(f"{base}/{stage}")
        assert answer.status_code == 200, stage
        assert ocds.problems(answer.get_json()) == [], stage
    for stage in ("contract", "implementation", "bogus"):
        assert visitor.get(f"{base}/{stage}").status_code == 404, stage
    record = visitor.get(f"{base}/record").get_json()
    assert [r["tag"] for r in record["records"][0]["releases"]] == [["planning"], ["tender"], ["award"]]
    assert "ocds-xxxxxx-" in record["records"][0]["ocid"]


def test_the_cli_writes_every_stage_of_every_published_batch(
    app: Flask, session: Session, tmp_path: Path
) -> None:
    scene = make_scene(session)
    session.commit()
    result = app.test_cli_runner().invoke(args=["ocds", "export", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    folder = tmp_path / f"ocds-xxxxxx-vbp-{scene.market.world.batch.id}"
    written = sorted(p.name for p in folder.iterdir())
    assert written == sorted(f"{s}.json" for s in (*ocds.STAGES, "record"))
    for path in folder.iterdir():
        assert ocds.problems(json.loads(path.read_text())) == [], path.name
    refused = app.test_cli_runner().invoke(
        args=["ocds", "export", "--out", str(tmp_path), "--batch", "987654"]
    )
    assert refused.exit_code != 0
    assert "987654" in refused.output


def test_every_ocds_package_of_the_demo_validates(app: Flask, session: Session, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    demo = runner.invoke(args=["demo", "--out", str(tmp_path / "demo")])
    assert demo.exit_code == 0, demo.output
    result = runner.invoke(args=["ocds", "export", "--out", str(tmp_path / "ocds")])
    assert result.exit_code == 0, result.output
    files = sorted((tmp_path / "ocds").rglob("*.json"))
    assert len(files) >= 6  # at least one published batch: five stages and its record
    for path in files:
        assert ocds.problems(json.loads(path.read_text())) == [], path
    transactions = [
        t
        for path in (tmp_path / "ocds").rglob("implementation.json")
        for r in json.loads(path.read_text())["releases"]
        for c in r["contracts"]
        for t in c["implementation"]["transactions"]
    ]
    print(f"demo: {len(files)} OCDS files, {len(transactions)} monthly transactions")
