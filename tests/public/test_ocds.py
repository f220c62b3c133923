"""Open data (OCDS 1.1): a release package per stage and a compiled record for a published batch,
each valid against the schema of the standard's required fields and codelists; a broken field
fails validation; the public API serves the public stages only; the CLI writes them all."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bidding.models import Award, VolumeAllocation
from core import pki
from core.organizations import Organization
from ledger.contracts import generation
from ledger.contracts.models import AgreementStatus, ProcurementAgreement
from reports import agreement_signing, ocds
from reports.ocds.contracts import CONTRACT_STATUS
from reports.ocds.values import unit_value, value, when
from tests.ordering import NOW
from tests.public.scenario import ORDERED_ON, PAID_ON, Scene, make_scene

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
    assert "agreement" in kinds  # no agreement records yet: one derived per award (the fallback)
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
    agreements = [
        c
        for path in (tmp_path / "ocds").rglob("contract.json")
        for r in json.loads(path.read_text())["releases"]
        for c in r["contracts"]
        if not c["id"].startswith(("calloff-", "agreement-"))
    ]
    assert agreements  # the demo generates and signs agreements: the records, not the fallback
    assert "active" in {c["status"] for c in agreements}
    print(f"demo: {len(files)} OCDS files, {len(agreements)} agreements, {len(transactions)} transactions")


def _contracts(session: Session, batch_id: int, stage: str) -> dict[str, dict[str, Any]]:
    package = ocds.release_package(session, batch_id, stage, publisher=PUBLISHER, published=AT)
    assert package is not None
    assert ocds.problems(package) == []
    (release,) = package["releases"]
    return {c["id"]: c for c in release["contracts"]}


def _sign_both(scene: Scene, agreement: ProcurementAgreement) -> None:
    world = scene.market.world
    ca = pki.create_ca(name="测试CA", now=NOW - timedelta(days=30))
    keys = agreement_signing.Pki(ca=ca, roots=(ca.cert,), key_password=b"test-key-password-0123456789")
    for org_id in (agreement.hospital_id, agreement.manufacturer_id):
        party = world.actor(world.session.get_one(Organization, org_id))
        agreement_signing.sign(world.session, party, agreement.id, keys=keys, now=NOW)


def test_the_contract_stage_carries_the_generated_and_signed_agreements(session: Session) -> None:
    scene = make_scene(session)
    market, batch = scene.market, scene.market.world.batch
    agreements = generation.generate_agreements(session, market.world.bureau, batch.id, now=NOW)
    assert len(agreements) >= 2
    ordered = next(a for a in agreements if a.hospital_id == market.hospital.id and any(
        ln.award_id == market.award.id for ln in a.lines))  # fmt: skip
    _sign_both(scene, ordered)
    ended = next(a for a in agreements if a is not ordered)
    generation.terminate_agreement(session, market.world.bureau, ended.id, reason="测试终止", now=NOW)
    assert (ordered.status, ended.status) == (AgreementStatus.SIGNED, AgreementStatus.TERMINATED)

    contracts = _contracts(session, batch.id, "contract")
    frameworks = {k: c for k, c in contracts.items() if not k.startswith("calloff-")}
    assert sorted(frameworks) == sorted(a.number for a in agreements)  # one per agreement, no other
    for agreement in agreements:
        c = frameworks[agreement.number]
        assert c["status"] == CONTRACT_STATUS[agreement.status]
        assert c["awardID"] == f"award-{agreement.lines[0].award_id}"
        assert c["value"] == value(agreement.amount_fen)
        assert c["period"] == {"startDate": when(agreement.starts_on), "endDate": when(agreement.ends_on)}
        assert [(i["quantity"], i["unit"]["value"]) for i in c["items"]] == [
            (ln.agreed_quantity, unit_value(ln.unit_price_e4)) for ln in agreement.lines
        ]
    assert frameworks[ordered.number]["status"] == "active"
    assert frameworks[ordered.number]["dateSigned"] == when(NOW)
    assert frameworks[ended.number]["status"] == "terminated"
    assert "dateSigned" not in frameworks[ended.number]
    (call,) = [c for k, c in contracts.items() if k.startswith("calloff-")]
    assert call["awardID"] == f"award-{market.award.id}"
    assert ordered.number in call["description"]  # the hospital's order: a call-off of its agreement
    assert call["dateSigned"] == when(ORDERED_ON)

    paid = _contracts(session, batch.id, "implementation")
    assert sorted(paid) == sorted(frameworks)
    assert {k: len(c["implementation"]["transactions"]) for k, c in paid.items() if c["implementation"][
        "transactions"]} == {ordered.number: 1}  # fmt: skip
    (transaction,) = paid[ordered.number]["implementation"]["transactions"]
    assert transaction["value"] == value(200_00)
    assert transaction["payer"]["name"] == market.hospital.name


def test_pending_agreements_before_signing_and_the_status_map_is_total(session: Session) -> None:
    scene = make_scene(session, payments=False)
    batch = scene.market.world.batch
    agreements = generation.generate_agreements(session, scene.market.world.bureau, batch.id, now=NOW)
    contracts = _contracts(session, batch.id, "contract")
    assert {contracts[a.number]["status"] for a in agreements} == {"pending"}
    assert set(CONTRACT_STATUS) == set(AgreementStatus)
    assert set(CONTRACT_STATUS.values()) <= set(ocds.schema.CONTRACT_STATUS)


def test_without_agreement_records_one_agreement_is_derived_per_award(session: Session) -> None:
    scene = make_scene(session)
    batch = scene.market.world.batch
    assert session.scalar(select(func.count(ProcurementAgreement.id))) == 0
    contracts = _contracts(session, batch.id, "contract")
    awards = session.scalars(select(Award).where(Award.batch_id == batch.id)).all()
    assert sorted(k for k in contracts if k.startswith("agreement-")) == sorted(
        f"agreement-{a.id}" for a in awards
    )
    for award in awards:
        units = session.scalar(
            select(func.sum(VolumeAllocation.agreed_quantity)).where(VolumeAllocation.award_id == award.id)
        )
        c = contracts[f"agreement-{award.id}"]
        assert (c["awardID"], c["items"][0]["quantity"]) == (f"award-{award.id}", units or 0)
        assert c["period"]["startDate"] == when(batch.cycle_start_on)
    (call,) = [c for k, c in contracts.items() if k.startswith("calloff-")]
    assert f"agreement-{scene.market.award.id}" in call["description"]
    paid = _contracts(session, batch.id, "implementation")
    assert len(paid[f"agreement-{scene.market.award.id}"]["implementation"]["transactions"]) == 1
