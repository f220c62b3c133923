"""The audit trail's daily roots are published without login, as a page and as JSON."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.public.guard import CACHE
from core import clock
from core.audit_roots import compute_root
from tests.core.test_audit_lanes import _write
from tests.ordering import NOW


def test_anyone_reads_the_daily_roots_newest_first(visitor: FlaskClient, session: Session) -> None:
    empty = visitor.get("/public/audit-roots")
    assert empty.status_code == 200
    assert "暂无日根" in empty.get_data(as_text=True)
    visitor.application.extensions[CACHE].clear()
    _write(session, 5)
    today = clock.business_date(NOW)
    first, _ = compute_root(session, today - timedelta(days=2), now=NOW)
    _write(session, 6)
    second, _ = compute_root(session, today - timedelta(days=1), now=NOW)
    session.commit()

    body = visitor.get("/api/v1/public/audit-roots").get_json()
    assert body["total"] == 2
    assert [r["root_hash"] for r in body["items"]] == [second.root_hash, first.root_hash]
    newest = body["items"][0]
    assert newest["day"] == second.day.isoformat()
    assert newest["prev_root_hash"] == first.root_hash
    assert len(newest["heads"]) == 16
    assert newest["heads"][0][0] == 0
    page = visitor.get("/public/audit-roots").get_data(as_text=True)
    assert "审计日根" in page
    assert second.root_hash in page
    assert first.root_hash in page
    assert 'href="/public/audit-roots"' in visitor.get("/public/").get_data(as_text=True)
