"""The demo generates its batch's agreements and both parties sign them; the signed PDFs verify."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from app import pki as app_pki
from app.db import Database
from ledger.contracts import queries
from ledger.contracts.models import AgreementStatus, ProcurementAgreement
from reports import agreement_signing


def test_the_demo_signs_its_agreements_with_both_parties(
    app: Flask, db: Database, session: Session, tmp_path: Path
) -> None:
    result = app.test_cli_runner().invoke(args=["demo", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "购销协议 新生成" in result.output
    agreements = list(session.scalars(select(ProcurementAgreement)))
    assert agreements
    assert {a.status for a in agreements} == {AgreementStatus.SIGNED}
    with app.app_context():
        roots = app_pki.trust_roots()
    document = queries.latest_document(session, agreements[0].id)
    assert document is not None
    assert agreement_signing.verify(session, document.pdf, roots=roots).valid
    assert list(tmp_path.glob("agreement-*.pdf"))
