"""Statement PDFs print the audit trail's latest daily root from before they were generated, in
the verification block; the root is not part of the statement's digested data."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from core import clock
from core.audit_roots import compute_root
from ledger import statements
from reports.statement_pdf import render_statement
from reports.statements import to_document
from tests.ledger.test_reconcile import FILED, PERIOD, Line
from tests.ordering import make_market

pytestmark = pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils missing")


def _text(pdf: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()


def test_the_statement_pdf_prints_the_latest_root_before_it_was_generated(session: Session) -> None:
    market = make_market(session)
    Line(market, 10).place().accept().receive(10).invoice_all()
    day = clock.business_date(FILED) - timedelta(days=2)
    older, _ = compute_root(session, day - timedelta(days=1), now=FILED - timedelta(days=1))
    root, _ = compute_root(session, day, now=FILED - timedelta(days=1))
    result = statements.generate(session, market.world.bureau, period=PERIOD, as_of=FILED, now=FILED)
    (statement,) = result.created
    # A root made after the statement does not change what its PDF prints.
    compute_root(session, clock.business_date(FILED), now=FILED + timedelta(days=1))
    document = to_document(session, statement, verify_url_base="https://example.gov.cn/verify")
    assert document.audit_root == (day, root.root_hash)
    text = _text(render_statement(document))
    assert "审计日根" in text
    assert f"{day.isoformat()}" in text
    assert root.root_hash in text
    assert older.root_hash not in text
    assert root.root_hash not in str(statement.payload)
