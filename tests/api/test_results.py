"""Results decided elsewhere through the HTTP API and the CLI: import (a bad row is a 422 naming it),
demand, execution, rederive; an alliance's member demand and results export; who may do what."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bidding.models import ProcurementBatch, VolumeAllocation
from core.actors import Role
from core.organizations import Organization
from tests.api.test_tendering import Api, Clock
from tests.bidding.test_results_import import EXPECTED, national_rows
from tests.factories import make_user
from tests.national import AFTER, DEMAND_CLOSES, DEMAND_OPENS, DURING, IMPORTED_AT, csv_bytes, new_platform

WINDOW = {"demand_opens_at": DEMAND_OPENS.isoformat(), "demand_closes_at": DEMAND_CLOSES.isoformat()}
URL = f"/api/v1/batches/import-results?{urlencode(WINDOW)}"


def _upload(data: bytes, name: str) -> dict[str, object]:
    import io

    return {"file": (io.BytesIO(data), name)}


@pytest.fixture
def clock_at(monkeypatch: pytest.MonkeyPatch) -> Clock:
    state = {"now": IMPORTED_AT}
    monkeypatch.setattr("core.clock.now", lambda: state["now"])
    return lambda value: state.update(now=value)


@pytest.fixture
def scene(session: Session):
    p = new_platform(session)
    rows = national_rows(p)
    p.product("F", "XN07F", "落地药07")
    bureau_user = make_user(session, session.get_one(Organization, p.bureau.org_id), Role.OPERATOR)
    return p, rows, bureau_user


def test_import_report_execute_and_rederive_over_http(
    client: FlaskClient, session: Session, clock_at: Clock, scene
):
    p, rows, bureau_user = scene
    api = Api(client, session).as_(bureau_user)
    clock_at(IMPORTED_AT)
    bad = [dict(r) for r in rows]
    bad[3]["province_code"] = "123456"
    response = api.call("POST", URL, 422, data=_upload(csv_bytes(bad), "bad.csv"))
    assert "row 5.province_code" in str(response.get_json())
    assert session.scalar(select(func.count()).select_from(ProcurementBatch)) == 0
    body = api.call("POST", URL, 201, data=_upload(csv_bytes(rows), "国采.csv")).get_json()
    batch_id = body["batch"]["id"]
    assert (body["items"], body["batch"]["scope"], body["batch"]["selection"]) == (10, "national", "imported")
    assert "content" not in body["batch"]["results_source"]
    api.call("POST", f"/api/v1/batches/{batch_id}/transitions", 200, json={"to": "demand_collection"})
    # A manufacturer may not import or execute.
    maker_user = make_user(session, p.manufacturer("A"), Role.ADMIN)
    Api(client, session).as_(maker_user).call("POST", f"/api/v1/batches/{batch_id}/execute", 403)
    clock_at(DURING)
    batch = session.get_one(ProcurementBatch, batch_id)
    items = {i.generic_name: i for i in batch.items}
    for key, region in (("H1", "510104"), ("H2", "510105"), ("H3", "510700")):
        p.hospital(key, region)
    for n in range(1, 11):
        item = items[f"落地药{n:02d}"]
        p.report(p.hospitals["H1"], batch_id, item.id, 1000 * n + 333)
        p.report(p.hospitals["H2"], batch_id, item.id, 777 * n + 1)
        p.report(p.hospitals["H3"], batch_id, item.id, 505 * n + 2)
    early = api.call("POST", f"/api/v1/batches/{batch_id}/execute", 422)  # demand is still open
    assert early.get_json()["error"]["code"] == "too_early"
    clock_at(AFTER)
    summary = api.call("POST", f"/api/v1/batches/{batch_id}/execute", 200).get_json()
    # No brand reports here: the hand figures less item 2's brand line (H3 → D) and item 7's extra.
    assert summary["agreed_quantity"] == session.scalar(
        select(func.sum(VolumeAllocation.agreed_quantity)).where(VolumeAllocation.batch_id == batch_id)
    )
    assert {k: v for k, v in EXPECTED.items() if k[0] not in (2, 7)}.items() <= _agreed(p, batch_id).items()
    api.call("POST", f"/api/v1/batches/{batch_id}/execute", 409)  # once
    report = api.call("GET", f"/api/v1/batches/{batch_id}/rederive", 200).get_json()
    assert report["selected_here"] is False
    assert "GY-YD2025-1" in report["statement"]
    template = api.call("GET", "/api/v1/batches/results-template?format=csv", 200)
    assert "中选产品编码".encode() in template.data


def test_the_cli_imports_executes_and_says_where_results_came_from(app, session: Session, scene, tmp_path):
    _, rows, bureau_user = scene
    path = tmp_path / "national.csv"
    path.write_bytes(csv_bytes(rows))
    session.commit()
    runner = app.test_cli_runner()
    opens = (DEMAND_OPENS + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M")
    closes = (DEMAND_CLOSES + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M")
    result = runner.invoke(
        args=["batch", "import-results", str(path), "--demand-opens", opens, "--demand-closes", closes,
              "--user", bureau_user.username]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "10 个品种" in result.output
    batch_id = session.scalar(select(func.max(ProcurementBatch.id)))
    again = runner.invoke(
        args=["batch", "import-results", str(path), "--demand-opens", opens, "--demand-closes", closes,
              "--user", bureau_user.username]
    )  # fmt: skip
    assert again.exit_code != 0
    assert f"批次 {batch_id}" in again.output
    rederived = runner.invoke(args=["batch", "rederive", str(batch_id)])
    assert "不在本平台" in rederived.output


def _agreed(p, batch_id: int) -> dict[tuple[int, str, str], int]:
    from bidding.models import Award, BatchItem

    names = {org.id: key for key, org in p.hospitals.items()}
    makers = {org.id: key for key, org in p.manufacturers.items()}
    rows = p.session.execute(
        select(
            BatchItem.generic_name,
            VolumeAllocation.hospital_id,
            Award.manufacturer_id,
            VolumeAllocation.agreed_quantity,
        )
        .join(Award, Award.id == VolumeAllocation.award_id)
        .join(BatchItem, BatchItem.id == VolumeAllocation.item_id)
        .where(VolumeAllocation.batch_id == batch_id)
    )
    return {(int(g[-2:]), names[h], makers[m]): q for g, h, m, q in rows}
