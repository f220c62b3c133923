"""Stored runs: a province's reconciliation frozen as findings (every line not settled, with its
difference) and totals per hospital × distributor × status, written set-based in the caller's unit
of work."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, MetaData, Table, func, insert, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.schema import DropTable

from core import audit
from core.actors import Actor
from core.errors import PermissionDenied
from ledger.models import ReconciliationFinding, ReconciliationRun, ReconciliationTotal
from ledger.reconcile.facts import DEFAULTS, Options, Slice, without_jit
from ledger.reconcile.orphans import orphans
from ledger.reconcile.rules import SETTLED, classified, judged_at


def run_reconciliation(
    session: Session,
    actor: Actor,
    where: Slice,
    *,
    as_of: datetime,
    now: datetime,
    options: Options = DEFAULTS,
    progress: Callable[[str], None] | None = None,
) -> ReconciliationRun:
    """Store a snapshot: every line that is not settled (with its difference), totals per
    hospital × distributor × status, and the orphan count — all in the caller's unit of work, so
    an interrupted run leaves nothing behind and a rerun starts clean (a new run, never a patch)."""
    if not actor.is_bureau:
        raise PermissionDenied("仅医保部门可运行全省对账 (bureau only)")
    step = progress or (lambda _name: None)
    run = ReconciliationRun(
        as_of=as_of,
        scope={k: v for k, v in _scope_dict(where).items() if v is not None},
        invoice_grace_days=options.invoice_grace_days,
        line_count=0,
        finding_count=0,
        orphan_count=0,
        created_at=now,
        created_by=actor.user_id,
    )
    session.add(run)
    session.flush()
    without_jit(session)
    full = classified(actor, where).subquery("full")
    judged = judged_at(as_of, options)
    run_id = literal(run.id, BigInteger)
    findings_columns = [
        "order_line_id",
        "hospital_id",
        "distributor_id",
        "manufacturer_id",
        "region_code",
        "ordered_on",
        "status",
        "amount_fen",
        "diff_qty",
        "diff_fen",
    ]
    totals_columns = [
        "hospital_id",
        "distributor_id",
        "status",
        "lines",
        "amount_fen",
        "diff_qty",
        "diff_fen",
    ]

    def findings_from(c: Any) -> Any:
        return insert(ReconciliationFinding).from_select(
            ["run_id", *findings_columns],
            select(run_id, *[c.c[name] for name in findings_columns]).where(
                c.c.status.not_in([s.value for s in SETTLED])
            ),
        )

    def totals_from(c: Any) -> Any:
        return insert(ReconciliationTotal).from_select(
            ["run_id", *totals_columns],
            select(
                run_id,
                c.c.hospital_id,
                c.c.distributor_id,
                c.c.status,
                func.count(),
                func.sum(c.c.amount_fen),
                func.sum(c.c.diff_qty),
                func.sum(c.c.diff_fen),
            ).group_by(c.c.hospital_id, c.c.distributor_id, c.c.status),
        )

    kept = select(*[full.c[name] for name in findings_columns])
    if session.get_bind().dialect.name == "postgresql":
        # One pass over the flows: the classification is a CTE read by both writes (PostgreSQL
        # materializes a CTE referenced twice), the findings written by a data-modifying CTE.
        c = kept.cte("classified")
        write_findings = findings_from(c).cte("write_findings")
        # Core execution: an ORM insert given parameters would read them as rows to insert.
        session.connection().execute(totals_from(c).add_cte(write_findings), judged)
    else:
        # Elsewhere: classify once into a temporary table of the columns kept, then write both.
        c = Table(
            f"recon_run_{run.id}",
            MetaData(),
            *[Column(name, full.c[name].type) for name in findings_columns],
            prefixes=["TEMPORARY"],
        )
        c.create(session.connection())
        session.execute(insert(c).from_select(findings_columns, kept), judged)
        session.execute(findings_from(c))
        session.execute(totals_from(c))
        session.execute(DropTable(c))
    step("findings and totals")
    run.orphan_count = len(orphans(session, actor, where))
    step("orphans")
    lines, found = session.execute(
        select(
            select(func.coalesce(func.sum(ReconciliationTotal.lines), 0))
            .where(ReconciliationTotal.run_id == run.id)
            .scalar_subquery(),
            select(func.count()).where(ReconciliationFinding.run_id == run.id).scalar_subquery(),
        )
    ).one()
    run.line_count, run.finding_count = int(lines), int(found)  # PostgreSQL sums bigints as numeric
    session.flush()
    audit.record(
        session,
        actor,
        "reconciliation.run",
        subject_type="reconciliation_run",
        subject_id=run.id,
        after={
            "scope": run.scope,
            "lines": run.line_count,
            "findings": run.finding_count,
            "orphans": run.orphan_count,
        },
        now=now,
    )
    return run


def _scope_dict(where: Slice) -> dict[str, Any]:
    return {
        "hospital_id": where.hospital_id,
        "enterprise_id": where.enterprise_id,
        "distributor_id": where.distributor_id,
        "region_prefix": where.region_prefix,
        "ordered_from": where.ordered_from.isoformat() if where.ordered_from else None,
        "ordered_before": where.ordered_before.isoformat() if where.ordered_before else None,
    }
