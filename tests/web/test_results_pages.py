"""The bureau's pages for results decided elsewhere and alliances led here, through the test
client: a bad results file names its rows in Chinese and imports nothing; a good one becomes a batch
whose page says where its results came from; executing it waits for demand to close; an alliance's
members and a member province's demand are set from its page."""

from __future__ import annotations

import io

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bidding.models import MemberDemand, ProcurementBatch, Scope, VolumeAllocation
from core.actors import Role
from core.organizations import Organization
from tests.bidding.test_alliance import CHONGQING, demand_csv
from tests.bidding.test_results_import import national_rows
from tests.factories import make_user
from tests.national import AFTER, DURING, IMPORTED_AT, new_platform
from tests.national import csv_bytes as results_csv
from tests.tendering import make_world
from tests.web.test_pages import csrf, web_login


@pytest.fixture
def clock_at(monkeypatch: pytest.MonkeyPatch):
    state = {"now": IMPORTED_AT}
    monkeypatch.setattr("core.clock.now", lambda: state["now"])
    return lambda value: state.update(now=value)


def _client(app: Flask, session: Session, org: Organization):
    user = make_user(session, org, Role.OPERATOR)
    session.commit()
    client = app.test_client()
    web_login(client, user.username)
    client.username = user.username  # type: ignore[attr-defined]  (to sign in again later)
    return client


def _import(client, data: bytes, name: str):
    return client.post(
        "/bureau/batches/import-results",
        data={
            "csrf_token": csrf(client),
            "file": (io.BytesIO(data), name),
            "demand_opens_at": "2026-09-02T09:00",
            "demand_closes_at": "2026-09-11T09:00",
        },
        content_type="multipart/form-data",
    )


def test_import_execute_and_the_source_on_the_batch_page(app: Flask, session: Session, clock_at) -> None:
    p = new_platform(session)
    rows = national_rows(p)
    client = _client(app, session, session.get_one(Organization, p.bureau.org_id))
    form = client.get("/bureau/batches/import-results").get_data(as_text=True)
    assert "中选结果文件" in form
    bad = [dict(r) for r in rows]
    bad[6]["winning_pack_price"] = "abc"
    bad[6]["item_no"] = "99"  # its own item, so the price is not "as above"
    refused = _import(client, results_csv(bad), "国采.csv")
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "第 8 行（中选价格（元/包装））" in text
    assert session.scalar(select(func.count()).select_from(ProcurementBatch)) == 0

    created = _import(client, results_csv(rows), "国采.csv")
    assert created.status_code == 302, created.get_data(as_text=True)
    batch = session.scalars(select(ProcurementBatch)).one()
    page = client.get(f"/bureau/batches/{batch.id}").get_data(as_text=True)
    assert "国家组织药品联合采购办公室" in page
    assert "不在本平台" in page  # why it is not re-derived here
    assert "国家组织集采" in page  # the scope in words
    client.post(
        f"/bureau/batches/{batch.id}/transition", data={"csrf_token": csrf(client), "to": "demand_collection"}
    )
    maker = _client(app, session, p.manufacturer("B"))
    seen = maker.get(f"/enterprise/batches/{batch.id}").get_data(as_text=True)
    assert "101.50" in seen  # its winning pack price for item 01: public from the import
    clock_at(DURING)
    web_login(client, client.username)  # days later: a new sign-in
    page = client.get(f"/bureau/batches/{batch.id}").get_data(as_text=True)
    assert "报量截止后即可执行落地" in page
    hospital = p.hospital("H1", "510104")
    session.refresh(batch)
    p.report(hospital, batch.id, batch.items[0].id, 4321)
    session.commit()
    clock_at(AFTER)
    web_login(client, client.username)
    done = client.post(f"/bureau/batches/{batch.id}/execute", data={"csrf_token": csrf(client)})
    assert done.status_code == 302
    session.expire_all()
    assert session.scalar(select(func.sum(VolumeAllocation.agreed_quantity))) == 2161  # 4321 × 50 %, half up


def test_an_alliance_led_here_sets_members_and_imports_their_demand(app: Flask, session: Session) -> None:
    world = make_world(
        session, items=[{"generic_name": f"联盟药{n}"} for n in range(3)], scope=Scope.ALLIANCE
    )
    client = _client(app, session, session.get_one(Organization, world.bureau.org_id))
    saved = client.post(
        f"/bureau/batches/{world.batch.id}/members",
        data={"csrf_token": csrf(client), "province": [CHONGQING, "530000"]},
    )
    assert saved.status_code == 302
    session.expire_all()
    assert session.get_one(ProcurementBatch, world.batch.id).member_provinces == [
        "500000",
        "510000",
        "530000",
    ]
    page = client.get(f"/bureau/batches/{world.batch.id}").get_data(as_text=True)
    assert "重庆市" in page
    assert "云南省" in page
    bad = demand_csv(CHONGQING).replace(b"500200", b"510100")
    refused = client.post(
        f"/bureau/batches/{world.batch.id}/member-demand",
        data={"csrf_token": csrf(client), "province": CHONGQING, "file": (io.BytesIO(bad), "cq.csv")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    assert "第 8 行（报量地区代码）" in refused.get_data(as_text=True)
    good = client.post(
        f"/bureau/batches/{world.batch.id}/member-demand",
        data={
            "csrf_token": csrf(client),
            "province": CHONGQING,
            "file": (io.BytesIO(demand_csv(CHONGQING)), "c.csv"),
        },
        content_type="multipart/form-data",
    )
    assert good.status_code == 302
    assert session.scalar(select(func.count()).select_from(MemberDemand)) == 9
