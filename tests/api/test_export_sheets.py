"""Exported batch results and agreed volumes read on their own: names next to ids, an autofilter
on the header row, a frozen header and (for volumes) a bold totals row with the sums."""

from __future__ import annotations

import io
from pathlib import Path

from flask.testing import FlaskClient
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bidding.models import VolumeAllocation
from core.organizations import User
from tests.factories import bearer
from tests.ordering import make_market


def _sheet(client: FlaskClient, url: str, headers: dict[str, str]) -> Worksheet:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return load_workbook(io.BytesIO(response.data)).active


def test_results_and_volumes_name_what_their_ids_point_at(client: FlaskClient, session: Session) -> None:
    market = make_market(session)
    batch_id = market.world.batch.id
    bureau = bearer(session, session.get_one(User, market.world.bureau.user_id))
    session.commit()

    results = _sheet(client, f"/api/v1/batches/{batch_id}/results/export?format=xlsx", bureau)
    header = [c.value for c in results[1]]
    assert header[:2] == ["品种ID", "品种名称"]
    assert header[header.index("产品ID") + 1] == "产品名称"
    first = [c.value for c in results[2]]
    assert first[1] == market.world.items[0].generic_name
    assert (
        first[header.index("产品名称")]
        == market.award.product.generic_name + " " + market.award.product.spec_text
    )
    assert (
        results.auto_filter.ref
        == f"A1:{results.cell(row=1, column=len(header)).column_letter}{results.max_row}"
    )
    assert results.freeze_panes == "A2"

    volumes = _sheet(client, f"/api/v1/batches/{batch_id}/allocations/export?format=xlsx", bureau)
    header = [c.value for c in volumes[1]]
    for named in ("品种", "医疗机构", "中选企业", "产品"):
        assert header[header.index(f"{named}ID") + 1] == f"{named}名称", named
    rows = [[c.value for c in row] for row in volumes.iter_rows(min_row=2)]
    *lines, total = rows
    hospital = header.index("医疗机构名称")
    assert market.hospital.name in {line[hospital] for line in lines}
    assert total[0] == "合计"
    assert volumes.cell(row=volumes.max_row, column=1).font.bold
    agreed = session.scalar(
        select(func.sum(VolumeAllocation.agreed_quantity)).where(VolumeAllocation.batch_id == batch_id)
    )
    assert total[header.index("约定采购量")] == agreed
    assert volumes.auto_filter.ref.endswith(str(volumes.max_row - 1))  # the filter leaves the total out


def test_the_demo_results_workbook_names_hospitals_and_sums_volumes(session: Session, tmp_path: Path) -> None:
    from app.demo_tendering import write_results

    market = make_market(session)
    write_results(session, market.world.batch, tmp_path, lambda _: None)
    volumes = load_workbook(tmp_path / "batch-results.xlsx")["约定采购量"]
    header = [c.value for c in volumes[1]]
    assert header[header.index("医疗机构ID") + 1] == "医疗机构名称"
    names = {row[header.index("医疗机构名称")].value for row in volumes.iter_rows(min_row=2)}
    assert market.hospital.name in names
    total = [c.value for c in volumes[volumes.max_row]]
    assert total[0] == "合计"
    agreed = session.scalar(
        select(func.sum(VolumeAllocation.agreed_quantity)).where(
            VolumeAllocation.batch_id == market.world.batch.id
        )
    )
    assert total[header.index("约定采购量")] == agreed
