"""compute_indicators: every family's grouped query into one report of exact integer sums."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.actors import Actor, OrgKind
from core.organizations import Organization
from ledger.money_rules import SavingsFormula
from reports.indicators.builder import Builder
from reports.indicators.definitions import SUMMED, GroupBy, IndicatorReport, IndicatorRow, months_of
from reports.indicators.deliveries import deliveries
from reports.indicators.online import off_platform, online_flows
from reports.indicators.payments import payments
from reports.indicators.volumes import agreed_volumes


def compute_indicators(
    session: Session,
    actor: Actor,
    *,
    months: Sequence[date] | None = None,
    period_from: date | None = None,
    period_to: date | None = None,
    period_before: date | None = None,
    group_by: GroupBy | str = GroupBy.PROVINCE,
    as_of: date,
    savings_formula: SavingsFormula | None = None,
) -> IndicatorReport:
    """All §6 indicators for the months asked (`months`, or period_from..period_to inclusive, or
    period_from..period_before exclusive), grouped, over the rows the actor may see: the bureau
    the province, a hospital its own, an enterprise those where it is manufacturer or distributor.
    `as_of` judges payments (the payment clock on that day) and agreed volumes (cycle year to date)."""
    group = GroupBy(group_by)
    chosen = months_of(months, period_from, period_to, period_before)
    b = Builder(session, actor, group, chosen)
    enterprise_caller = actor.org_kind in (OrgKind.MANUFACTURER, OrgKind.DISTRIBUTOR)
    # Retained savings are between a hospital and the fund: not an enterprise's business.
    retained_visible = savings_formula is not None and not enterprise_caller
    notes: list[str] = []
    online_flows(b)
    off_platform(b)
    payments(b, as_of)
    deliveries(b)
    agreed_volumes(b, as_of, savings_formula if retained_visible else None, notes)

    if group is GroupBy.MONTH:
        notes.append("约定采购量按采购周期年度统计，仅列于合计行 (agreed volumes are yearly: total row only)")
    if group is GroupBy.ENTERPRISE or enterprise_caller:
        notes.append(
            "线下采购额无企业归属，企业口径不计线上采购率 (off-platform purchases have no enterprise: "
            "no online rate per enterprise)"
        )
    if group is GroupBy.ENTERPRISE:
        notes.append(
            "企业口径：采购额、约定量、中选占比与节约计入生产企业，配送与回款计入配送企业 "
            "(purchases, volumes, share and savings by manufacturer; delivery and payment by distributor)"
        )

    def make(key: str, label: str, sums: dict[str, Any], applicable: bool) -> IndicatorRow:
        values = {name: sums.get(name, 0) for name in SUMMED}
        values["expected_units"] = Decimal(values["expected_units"])
        values["retained_savings_fen"] = (
            int(sums.get("retained_savings_fen", 0)) if retained_visible else None
        )
        return IndicatorRow(key=key, label=label, online_rate_applicable=applicable, **values)

    labels = _labels(session, group, list(b.rows))
    row_applicable = not enterprise_caller and group is not GroupBy.ENTERPRISE
    rows = [make(k, labels.get(k, k), sums, row_applicable) for k, sums in b.rows.items()]
    if group in (GroupBy.HOSPITAL, GroupBy.ENTERPRISE):
        rows.sort(key=lambda r: (r.label, r.key))
    else:
        rows.sort(key=lambda r: r.key)
    return IndicatorReport(
        scope=_scope_label(session, actor),
        group_by=group,
        months=chosen,
        as_of=as_of,
        rows=tuple(rows),
        total=make("total", "合计", b.total, not enterprise_caller),
        notes=tuple(notes),
    )


def _labels(session: Session, group_by: GroupBy, keys: list[str]) -> dict[str, str]:
    if group_by in (GroupBy.HOSPITAL, GroupBy.ENTERPRISE):
        ids = [int(k) for k in keys if k.isdigit()]
        found = session.execute(select(Organization.id, Organization.name).where(Organization.id.in_(ids)))
        return {str(i): name for i, name in found}
    if group_by is GroupBy.PROVINCE:
        return {"province": "全省"}
    if group_by is GroupBy.MONTH:
        return {k: f"{k[:4]}年{k[5:]}月" for k in keys if len(k) == 7}
    return {}


def _scope_label(session: Session, actor: Actor) -> str:
    if actor.is_bureau:
        return "全省"
    org = session.get(Organization, actor.org_id) if actor.org_id is not None else None
    return org.name if org is not None else "—"
