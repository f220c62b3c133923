"""The province's month-end statements and their PDFs as a background job (core/background.py).

Two units per hospital: its statements (`ledger.statements.generate` for that hospital with every
distributor), then its PDFs (`write_pdfs`), each committed with its unit row. They are apart so
the PDF rendering, the bulk of the work, holds no audit-chain lock: statement units of several
workers queue on the chain's head only for their short writes, PDF units never. Every unit uses
the job's fixed `as_of` and `now`, so a unit run again after a crash makes the same statement,
and `generate` makes no second version of unchanged data.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock
from core.actors import Actor
from ledger import reconcile, statements
from ledger.models import OrderLine
from reports.statements import write_pdfs

KIND = "statements"


def statement_params(
    *,
    period: date,
    as_of: datetime,
    now: datetime,
    out_dir: Path,
    verify_url_base: str,
    options: reconcile.Options = reconcile.DEFAULTS,
    hospital_id: int | None = None,
) -> dict[str, Any]:
    """The job's parameters as JSON: everything fixed at the request, the same on every retry."""
    return {
        "period": period.isoformat(),
        "as_of": as_of.isoformat(),
        "now": now.isoformat(),
        "out_dir": str(out_dir),
        "verify_url_base": verify_url_base,
        "invoice_grace_days": options.invoice_grace_days,
        "hospital_id": hospital_id,
    }


class StatementJob:
    """Registered under KIND by the shell (app/background.py)."""

    name = KIND

    def plan(self, session: Session, params: dict[str, Any]) -> list[list[str]]:
        period = date.fromisoformat(params["period"])
        stmt = (
            select(OrderLine.hospital_id)
            .where(OrderLine.ordered_on >= period, OrderLine.ordered_on < clock.next_month(period))
            .group_by(OrderLine.hospital_id)
            .order_by(OrderLine.hospital_id)
        )
        if params.get("hospital_id") is not None:
            stmt = stmt.where(OrderLine.hospital_id == params["hospital_id"])
        return [[f"statements:{h:08d}", f"pdfs:{h:08d}"] for h in session.scalars(stmt)]

    def run_unit(self, session: Session, params: dict[str, Any], unit_key: str) -> dict[str, Any]:
        step, _, hospital = unit_key.partition(":")
        hospital_id = int(hospital)
        period = date.fromisoformat(params["period"])
        system = Actor.system()
        if step == "statements":
            result = statements.generate(
                session,
                system,
                period=period,
                as_of=datetime.fromisoformat(params["as_of"]),
                now=datetime.fromisoformat(params["now"]),
                hospital_id=hospital_id,
                options=reconcile.Options(invoice_grace_days=params["invoice_grace_days"]),
            )
            return {"new_versions": len(result.created), "unchanged": result.unchanged}
        if step == "pdfs":
            written = write_pdfs(
                session,
                system,
                period,
                Path(params["out_dir"]),
                verify_url_base=params["verify_url_base"],
                hospital_id=hospital_id,
            )
            return {"pdfs": len(written)}
        raise ValueError(f"unknown unit {unit_key!r}")

    def summarize(self, params: dict[str, Any], results: list[dict[str, Any]]) -> dict[str, Any]:
        total = {"new_versions": 0, "unchanged": 0, "pdfs": 0}
        for result in results:
            for name in total:
                total[name] += int(result.get(name, 0))
        return {"period": params["period"][:7], **total, "folder": params["out_dir"]}
