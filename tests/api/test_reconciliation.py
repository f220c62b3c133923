"""Reconciliation and statements over HTTP: scoped reads, paging, the statement's life
(generate → confirm by both → frozen), its PDF, and the public verification of its code."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from core.organizations import User
from tests.factories import bearer
from tests.ledger.test_reconcile import FILED, PRICE, Line
from tests.ordering import Market, make_market


@pytest.fixture
def market(session: Session, monkeypatch: pytest.MonkeyPatch) -> Market:
    monkeypatch.setattr("core.clock.now", lambda: FILED)
    return make_market(session)


def _h(session: Session, actor: Any) -> dict[str, str]:
    return bearer(session, session.get_one(User, actor.user_id))


def test_lines_summary_and_scoping(client: FlaskClient, session: Session, market: Market) -> None:
    Line(market, 10).place().accept().receive(10)
    Line(market, 4).place().accept()
    bureau = _h(session, market.world.bureau)
    page = client.get("/api/v1/reconciliation/lines?page_size=1", headers=bureau)
    assert page.status_code == 200, page.get_json()
    assert len(page.get_json()) == 1
    assert '"total": 2' in page.headers["X-Pagination"]
    overdue = client.get("/api/v1/reconciliation/lines?status=shipment_overdue", headers=bureau).get_json()
    assert [(x["status"], x["diff_quantity"], x["difference"]) for x in overdue] == [
        ("shipment_overdue", 4, f"{4 * PRICE // 100}.00")
    ]
    summary = client.get("/api/v1/reconciliation/summary", headers=bureau).get_json()
    assert [(x["status"], x["lines"], x["difference"]) for x in summary] == [
        ("awaiting_invoice", 1, "200.00"),
        ("shipment_overdue", 1, "80.00"),
    ]
    other = _h(session, market.other_hospital_actor)
    assert client.get("/api/v1/reconciliation/lines", headers=other).get_json() == []
    bad = client.get("/api/v1/reconciliation/lines?region_prefix=51%25", headers=bureau)
    assert bad.status_code == 422
    assert "region_prefix" in bad.get_json()["error"]["fields"]


def test_statement_lifecycle_pdf_and_verification(
    client: FlaskClient, session: Session, market: Market
) -> None:
    Line(market, 10).place().accept().receive(10).invoice_all()
    bureau, hospital = _h(session, market.world.bureau), _h(session, market.hospital_actor)
    distributor = _h(session, market.distributor_actor)
    made = client.post("/api/v1/statements/generate", json={"period": "2026-05"}, headers=bureau)
    assert made.status_code == 201, made.get_json()
    [created] = made.get_json()["created"]
    sid, code = created["id"], created["digest"]
    assert (
        client.get(f"/api/v1/statements/{sid}", headers=_h(session, market.other_hospital_actor)).status_code
        == 404
    )
    detail = client.get(f"/api/v1/statements/{sid}", headers=hospital).get_json()
    assert detail["order_amount"] == "200.00"
    assert detail["lines"][0]["status"] == "awaiting_payment"

    pdf = client.get(f"/api/v1/statements/{sid}/pdf", headers=hospital)
    assert pdf.status_code == 200
    assert pdf.mimetype == "application/pdf"
    assert pdf.data.startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-layout", "-", "-"], input=pdf.data, capture_output=True, check=True
        ).stdout.decode()
        assert "对账单" in text
        assert market.hospital.name in text
        assert "200.00" in text

    public = client.get(f"/api/v1/statements/verify/{code}")
    assert public.status_code == 200
    assert public.get_json() == {
        "valid": True,
        "number": created["number"],
        "period_month": "2026-05-01",
        "version": 1,
        "current": True,
        "state": "pending",
    }
    assert client.get(f"/api/v1/statements/verify/{'0' * 64}").get_json() == {"valid": False}

    no_reason = client.post(f"/api/v1/statements/{sid}/decision", json={"confirm": False}, headers=hospital)
    assert no_reason.status_code == 422
    assert "reason" in no_reason.get_json()["error"]["fields"]
    for who in (hospital, distributor):
        r = client.post(f"/api/v1/statements/{sid}/decision", json={"confirm": True}, headers=who)
        assert r.status_code == 200, r.get_json()
    assert r.get_json()["state"] == "confirmed"
    again = client.post(f"/api/v1/statements/{sid}/decision", json={"confirm": True}, headers=hospital)
    assert again.status_code == 409
    assert (
        client.post("/api/v1/statements/generate", json={"period": "2026-13"}, headers=bureau).status_code
        == 422
    )
    assert (
        client.post("/api/v1/statements/generate", json={"period": "2026-05"}, headers=hospital).status_code
        == 403
    )


def test_province_run_and_findings_are_scoped(client: FlaskClient, session: Session, market: Market) -> None:
    Line(market, 4).place().accept()
    bureau = _h(session, market.world.bureau)
    run = client.post("/api/v1/reconciliation/runs", json={}, headers=bureau)
    assert run.status_code == 201, run.get_json()
    body = run.get_json()
    assert (body["line_count"], body["finding_count"]) == (1, 1)
    url = f"/api/v1/reconciliation/runs/{body['id']}/findings"
    assert len(client.get(url, headers=_h(session, market.hospital_actor)).get_json()) == 1
    assert client.get(url, headers=_h(session, market.other_hospital_actor)).get_json() == []
    assert (
        client.post(
            "/api/v1/reconciliation/runs", json={}, headers=_h(session, market.hospital_actor)
        ).status_code
        == 403
    )
    assert client.get("/api/v1/reconciliation/runs/999999/findings", headers=bureau).status_code == 404
