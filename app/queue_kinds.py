"""Background-job kinds that read the province's settings: a stored reconciliation run (one unit:
the run is one snapshot) and the supervision warnings (one unit per rule; each rule is idempotent
within a day, so a rule run again after a lost worker raises nothing twice)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from app.config import Config
from core.actors import Actor

RECONCILIATION = "reconciliation_run"
WARNINGS = "warnings"


def reconciliation_params(filters: dict[str, Any], *, as_of: datetime, now: datetime) -> dict[str, Any]:
    """The slice's filters (dates as ISO text) and the run's fixed moments."""
    plain = {k: v.isoformat() if isinstance(v, date) else v for k, v in filters.items() if k != "as_of"}
    return {"filters": plain, "as_of": as_of.isoformat(), "now": now.isoformat()}


@dataclass(frozen=True)
class ReconciliationRunJob:
    config: Config
    name: str = RECONCILIATION

    def plan(self, session: Session, params: dict[str, Any]) -> list[list[str]]:
        return [["run"]]

    def run_unit(self, session: Session, params: dict[str, Any], unit_key: str) -> dict[str, Any]:
        from ledger import reconcile

        filters = {
            k: date.fromisoformat(v) if k.startswith("ordered_") and v else v
            for k, v in params["filters"].items()
        }
        run = reconcile.run_reconciliation(
            session,
            Actor.system(),
            reconcile.Slice.of(filters),
            as_of=datetime.fromisoformat(params["as_of"]),
            now=datetime.fromisoformat(params["now"]),
            options=self.config.reconcile_options(),
        )
        return {"run_id": run.id, "lines": run.line_count, "findings": run.finding_count}

    def summarize(self, params: dict[str, Any], results: list[dict[str, Any]]) -> dict[str, Any]:
        return results[0] if results else {}


@dataclass(frozen=True)
class WarningsJob:
    config: Config
    name: str = WARNINGS

    def plan(self, session: Session, params: dict[str, Any]) -> list[list[str]]:
        from ledger.supervision.warnings import load_rules

        rules = params.get("rules") or [c for c, r in sorted(load_rules().items()) if r.daily]
        return [[code] for code in rules]

    def run_unit(self, session: Session, params: dict[str, Any], unit_key: str) -> dict[str, Any]:
        from ledger.supervision.warnings import compute_warnings

        summary = compute_warnings(
            session,
            now=datetime.fromisoformat(params["now"]),
            settings=self.config.supervision,
            rules=[unit_key],
        )
        return summary.as_dict()

    def summarize(self, params: dict[str, Any], results: list[dict[str, Any]]) -> dict[str, Any]:
        total: dict[str, Any] = {"raised": {}, "seen": {}, "cleared": {}}
        for result in results:
            total["day"] = result.get("day")
            for part in ("raised", "seen", "cleared"):
                total[part].update(result.get(part, {}))
        return total


def config_kinds(config: Config) -> dict[str, Any]:
    from app.order_upload import KIND as ORDER_UPLOAD
    from app.order_upload import OrderUploadJob

    return {
        RECONCILIATION: ReconciliationRunJob(config),
        WARNINGS: WarningsJob(config),
        ORDER_UPLOAD: OrderUploadJob(config),
    }
