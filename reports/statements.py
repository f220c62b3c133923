"""A stored statement (ledger.statements) as a printable document, and its PDF."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

from sqlalchemy.orm import Session

from core.actors import Actor
from core.audit_roots import latest_root_before
from core.glossary import terms_of
from ledger import reconcile, statements
from ledger.models import PartyDecision, Statement
from reports.documents import (
    Confirmation,
    DiscrepancyRow,
    Party,
    StatementDocument,
    StatementLineRow,
    StatusTotal,
)
from reports.statement_pdf import render_statement

_DECISION_LABELS = terms_of(PartyDecision)  #: from core/glossary.py


def _label(code: str) -> str:
    try:
        return reconcile.LABELS[reconcile.Status(code)]
    except ValueError:
        return reconcile.ORPHAN_LABELS[reconcile.OrphanKind(code)]


def _confirmation(
    label: str,
    decision: PartyDecision,
    reason: str | None,
    at: datetime | None,
    resolution: str | None = None,
) -> Confirmation:
    text = _DECISION_LABELS[decision]
    if decision is PartyDecision.DISPUTED and reason:
        text = f"{text}：{reason}"
    return Confirmation(label, text, at, reason=reason, resolution=resolution)


def to_document(session: Session, statement: Statement, *, verify_url_base: str) -> StatementDocument:
    """`verify_url_base` is the public verification address; the code is appended to it."""
    p = statement.payload
    current = statements.is_current(session, statement)
    state = _DECISION_LABELS[statement.state] + ("" if current else "（已被新版本取代）")
    return StatementDocument(
        number=p["number"],
        version=statement.version,
        period=statement.period_month,
        hospital=Party(p["hospital"]["role_label"], p["hospital"]["name"], p["hospital"]["code"]),
        enterprise=Party(p["enterprise"]["role_label"], p["enterprise"]["name"], p["enterprise"]["code"]),
        as_of=statement.as_of,
        generated_at=statement.generated_at,
        lines=[
            StatementLineRow(
                **{k: v for k, v in line.items() if k != "status"},
                status=line["status"],
                status_label=_label(line["status"]),
            )
            for line in p["lines"]
        ],
        totals=[
            StatusTotal(t["status"], _label(t["status"]), t["lines"], t["order_amount_fen"], t["diff_fen"])
            for t in p["totals"]
        ],
        discrepancies=[
            DiscrepancyRow(_label(d["status"]), d["records"], d["diff_qty"], d["diff_fen"], d["description"])
            for d in p["discrepancies"]
        ],
        confirmations=[
            _confirmation(
                "医疗机构",
                statement.hospital_decision,
                statement.hospital_reason,
                statement.hospital_decided_at,
                statement.hospital_resolution,
            ),
            _confirmation(
                "配送企业",
                statement.enterprise_decision,
                statement.enterprise_reason,
                statement.enterprise_decided_at,
                statement.enterprise_resolution,
            ),
            Confirmation("对账单状态", state, None),
        ],
        verification_code=statement.digest,
        verify_url=f"{verify_url_base.rstrip('/')}/{statement.digest}",
        audit_root=_audit_root(session, statement.generated_at),
    )


def _audit_root(session: Session, at: datetime) -> tuple[date, str] | None:
    # The root that existed when the statement was made: a PDF rendered again prints the same one.
    root = latest_root_before(session, at)
    return (root.day, root.root_hash) if root is not None else None


def write_pdfs(
    session: Session,
    actor: Actor,
    period: date,
    out_dir: Path,
    *,
    verify_url_base: str,
    hospital_id: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """The current version of each statement of the month the actor may see, one PDF each."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stmt = statements.statements_for(actor, period=period)
    if hospital_id is not None:
        stmt = stmt.where(Statement.hospital_id == hospital_id)
    current = session.scalars(stmt).all()
    written = []
    for n, statement in enumerate(current, start=1):
        path = out_dir / f"{statement.payload['number']}.pdf"
        # Whole or not at all: a worker killed mid-write leaves no truncated PDF under the name.
        partial = path.with_name(f".{path.name}.{os.getpid()}.part")
        partial.write_bytes(
            render_statement(to_document(session, statement, verify_url_base=verify_url_base))
        )
        os.replace(partial, path)
        written.append(path)
        if progress:
            progress(n, len(current))
    return written
