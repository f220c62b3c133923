"""Uploads above VBP_UPLOAD_JOB_ROWS and the month's reports as background jobs, through the HTTP
API, in process (no broker): a large order upload answers 202 and its job does exactly what the
synchronous path does (the same orders, the same per-cell refusals, the same scoping); the same
Idempotency-Key gives the same job; the reports job lists its files and the bureau downloads them.
The threshold is set low here rather than uploading thousands of rows."""

from __future__ import annotations

import dataclasses
import io
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.order_upload import uploader
from core.actors import Actor, OrgKind, Role
from core.background import BackgroundJob, BackgroundJobInput
from core.errors import PermissionDenied
from core.organizations import User
from ledger.models import Order, OrderLine
from ledger.services import listings
from tests.factories import bearer, login, make_org, make_user
from tests.ordering import NOW, Market, make_market

UPLOAD = "/api/v1/orders/upload"


@pytest.fixture
def market(session: Session, monkeypatch: pytest.MonkeyPatch) -> Market:
    monkeypatch.setattr("core.clock.now", lambda: NOW)
    return make_market(session)


def _rows_over(app: Flask, monkeypatch: pytest.MonkeyPatch, rows: int) -> None:
    monkeypatch.setitem(app.config, "VBP", dataclasses.replace(app.config["VBP"], upload_job_rows=rows))


def _headers(session: Session, actor: Actor, **extra: str) -> dict[str, str]:
    return {**bearer(session, session.get_one(User, actor.user_id)), **extra}


def _post(client: FlaskClient, csv: str, headers: dict[str, str]) -> Any:
    return client.post(UPLOAD, data={"file": (io.BytesIO(csv.encode()), "o.csv")}, headers=headers)


def _lines(session: Session) -> list[tuple[int, int, int, int]]:
    rows = session.execute(
        select(Order.distributor_id, OrderLine.listing_id, OrderLine.quantity, OrderLine.amount_fen)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .order_by(OrderLine.id)
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def _count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Order)) or 0


def _good(market: Market) -> str:
    row = f"{market.listing.id},{{}},{market.distributor.id}\n"
    return "挂网ID,数量,配送企业ID\n" + row.format(10) + row.format(4) + row.format(7)


def test_a_small_upload_stays_synchronous(
    app: Flask, client: FlaskClient, session: Session, market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    _rows_over(app, monkeypatch, 3)  # three rows: at the threshold, answered as ever
    answer = _post(client, _good(market), _headers(session, market.hospital_actor))
    assert answer.status_code == 201, answer.get_json()
    assert [(o["line_count"], o["amount"]) for o in answer.get_json()] == [(3, "420.00")]


def test_a_large_upload_runs_as_a_job_and_writes_what_the_request_would(
    app: Flask, client: FlaskClient, session: Session, market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = _headers(session, market.hospital_actor)
    before = len(_lines(session))
    now = _post(client, _good(market), headers)
    assert now.status_code == 201
    by_request = _lines(session)[before:]
    _rows_over(app, monkeypatch, 2)
    answer = _post(client, _good(market), headers)
    assert answer.status_code == 202, answer.get_json()
    job = client.get(answer.headers["Location"], headers=headers).get_json()  # the hospital follows it
    assert (job["kind"], job["status"], job["progress_done"], job["progress_total"]) == (
        "order_upload",
        "succeeded",
        1,
        1,
    )
    assert job["result"]["rows"] == 3
    strip = [{k: v for k, v in o.items() if k != "id"} for o in now.get_json()]
    assert [{k: v for k, v in o.items() if k != "id"} for o in job["result"]["orders"]] == strip
    assert _lines(session)[before + len(by_request) :] == by_request
    made = session.get_one(Order, job["result"]["orders"][0]["id"])
    assert made.hospital_id == market.hospital.id
    assert session.scalar(select(func.count()).select_from(BackgroundJobInput)) == 0  # dropped once done
    other = _headers(session, market.other_hospital_actor)
    assert client.get(answer.headers["Location"], headers=other).status_code == 404
    assert job["page"] is None  # the progress page is the bureau's: no link it could not open
    # The bureau follows it on the page, a list of records shown by its count.
    bureau = make_user(session, make_org(session, OrgKind.BUREAU), Role.OPERATOR)
    session.commit()
    login(client, bureau)
    page = client.get(f"/jobs/{job['id']}").get_data(as_text=True)
    assert "订单批量上传" in page
    assert "<dt>订单</dt><dd>1 项</dd>" in page  # one order of three lines


def test_a_large_upload_with_bad_cells_fails_its_job_naming_them_and_writes_nothing(
    app: Flask, client: FlaskClient, session: Session, market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = _headers(session, market.hospital_actor)
    csv = (
        "挂网ID,数量,配送企业ID\n"
        f"{market.listing.id},10,{market.distributor.id}\n"
        f"{market.listing.id},0,{market.distributor.id}\n"
        f"{market.listing.id},5,{market.stranger_distributor.id}\n"
    )
    refused = _post(client, csv, headers)
    assert refused.status_code == 422
    counts = _count(session)
    _rows_over(app, monkeypatch, 1)
    answer = _post(client, csv, headers)
    assert answer.status_code == 202
    job = client.get(answer.headers["Location"], headers=headers).get_json()
    assert job["status"] == "failed"
    assert job["result"]["errors"] == refused.get_json()["error"]["fields"]
    assert set(job["result"]["errors"]) == {"row 3.quantity", "row 4.distributor_id"}
    assert _count(session) == counts


def test_a_large_upload_with_a_header_the_request_can_check_is_refused_at_once(
    app: Flask, client: FlaskClient, session: Session, market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    _rows_over(app, monkeypatch, 1)
    csv = "挂网ID,数量,价格\n" + f"{market.listing.id},1,3\n" * 3
    answer = _post(client, csv, _headers(session, market.hospital_actor))
    assert answer.status_code == 422
    assert "row 1.distributor_id" in answer.get_json()["error"]["fields"]
    assert session.scalar(select(func.count()).select_from(BackgroundJob)) == 0  # no job made


def test_another_hospitals_listing_in_a_large_upload_is_refused_as_in_the_request(
    app: Flask, client: FlaskClient, session: Session, market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    theirs = listings.file_purchase(
        session,
        market.other_hospital_actor,
        product_id=market.listing.product_id,
        pack_price_fen=2100,
        reason="急需",
        now=NOW,
    ).id
    headers = _headers(session, market.hospital_actor)
    csv = "挂网ID,数量,配送企业ID\n" + "".join(
        f"{listing},{n},{market.distributor.id}\n" for listing, n in ((market.listing.id, 3), (theirs, 2))
    )
    refused = _post(client, csv, headers)
    assert refused.status_code == 422
    counts = _count(session)
    _rows_over(app, monkeypatch, 1)
    job = client.get(_post(client, csv, headers).headers["Location"], headers=headers).get_json()
    assert job["status"] == "failed"
    assert job["result"]["errors"] == refused.get_json()["error"]["fields"]
    assert _count(session) == counts


def test_the_same_idempotency_key_gives_the_same_upload_job(
    app: Flask, client: FlaskClient, session: Session, market: Market, monkeypatch: pytest.MonkeyPatch
) -> None:
    _rows_over(app, monkeypatch, 2)
    headers = _headers(session, market.hospital_actor, **{"Idempotency-Key": "his-upload-7"})
    counts = _count(session)
    first = _post(client, _good(market), headers)
    again = _post(client, _good(market), headers)
    assert (first.status_code, again.status_code) == (202, 202)
    assert first.get_json()["id"] == again.get_json()["id"]
    assert _count(session) == counts + 1
    other_file = _post(client, _good(market).replace(",10,", ",11,"), headers)
    assert other_file.status_code == 409


def test_the_months_reports_as_a_job_list_their_files_for_the_bureau(
    client: FlaskClient, session: Session
) -> None:
    bureau = make_user(session, make_org(session, OrgKind.BUREAU), Role.OPERATOR)
    auth = bearer(session, bureau)
    session.commit()
    answer = client.post("/api/v1/background-jobs/reports", json={"period": "2031-02"}, headers=auth)
    assert answer.status_code == 202, answer.get_json()
    job = client.get(answer.headers["Location"], headers=auth).get_json()
    assert (job["kind"], job["status"]) == ("monthly_reports", "succeeded")
    files = job["result"]["files"]
    assert "supervision-2031-02.pdf" in files
    assert "indicators-2031-02-region.xlsx" in files
    assert len(files) == job["progress_total"] + 1  # the supervision unit writes its PDF and xlsx
    pdf = client.get(f"/api/v1/background-jobs/{job['id']}/files/supervision-2031-02.pdf", headers=auth)
    assert pdf.status_code == 200
    assert pdf.data.startswith(b"%PDF")
    pdf.close()  # the file sent
    missing = client.get(f"/api/v1/background-jobs/{job['id']}/files/statements.pdf", headers=auth)
    assert missing.status_code == 404
    for period in ("2031-13", "0000-01", "1999-12"):  # not a month; year 0 (no date); out of range
        bad = client.post("/api/v1/background-jobs/reports", json={"period": period}, headers=auth)
        assert bad.status_code == 422, period
        assert "period" in bad.get_json()["error"]["fields"]


def test_the_worker_acts_as_the_uploader_as_they_are_now(session: Session) -> None:
    hospital = make_org(session, OrgKind.HOSPITAL)
    user = make_user(session, hospital, Role.OPERATOR)
    assert uploader(session, user.id).org_id == hospital.id
    user.role = Role.AUDITOR  # no longer a writer: the route's gate, held again on the worker
    with pytest.raises(PermissionDenied):
        uploader(session, user.id)
    user.role, user.active = Role.OPERATOR, False
    with pytest.raises(PermissionDenied):
        uploader(session, user.id)
