"""The settlement lists built on app/web/tables.py: settlement applications (the distributor its
receivables, the hospital its payables, over settlement.applications_visible_to) and the bureau's
settlement runs; searchable, sortable, dated, totalled, exported and printed."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, select
from sqlalchemy.orm import aliased

from app.web.tables import DATETIME, INT, MONEY, TERM, Column, Table
from core.actors import Actor
from core.organizations import Organization
from ledger.models import SettlementApplication, SettlementRun
from ledger.services import settlement


def _month(day: date | None) -> str:
    return day.strftime("%Y-%m") if day is not None else ""


def _of(entity: str, name: str) -> Any:
    """The export's value: an attribute of the row's entity."""
    return lambda row: getattr(getattr(row, entity), name)


def applications_table(who: Actor, *, default_sort: str = "id") -> tuple[Table, Select[Any]]:
    """The settlement applications `who` may see, with both parties' names. The amounts' keys are
    labels of their own (an entity's column name may not be reused as a label)."""
    a = SettlementApplication
    hospital, enterprise = aliased(Organization), aliased(Organization)
    table = Table(
        "settlement-applications",
        columns=(
            Column("id", _l("Application"), sort=a.id, kind=INT, value=_of("SettlementApplication", "id")),
            Column(
                "hospital_id",
                _l("Hospital ID"),
                kind=INT,
                export_only=True,
                value=_of("SettlementApplication", "hospital_id"),
            ),
            Column("hospital", _l("Hospital"), sort=hospital.name),
            Column(
                "enterprise_id",
                _l("Enterprise ID"),
                kind=INT,
                export_only=True,
                value=_of("SettlementApplication", "enterprise_id"),
            ),
            Column("enterprise", _l("Enterprise"), sort=enterprise.name),
            Column(
                "month",
                _l("Month"),
                sort=a.period_month,
                value=lambda r: _month(r.SettlementApplication.period_month),
            ),
            Column("net", _l("Net (yuan)"), sort=a.net_fen, kind=MONEY, total=True),
            Column("confirmed", _l("Confirmed (yuan)"), sort=a.confirmed_fen, kind=MONEY, total=True),
            Column("disputed", _l("Disputed (yuan)"), sort=a.disputed_fen, kind=MONEY, total=True),
            Column(
                "filed_at",
                _l("Filed"),
                sort=a.filed_at,
                kind=DATETIME,
                value=_of("SettlementApplication", "filed_at"),
            ),
            Column(
                "status", _l("Status"), sort=a.status, kind=TERM, value=_of("SettlementApplication", "status")
            ),
        ),
        search=(hospital.name, enterprise.name),
        ids=(a.id,),
        dated=a.filed_at,
        default_sort=default_sort,
        tiebreak=a.id,
    )
    stmt = (
        settlement.applications_visible_to(who)
        .join(hospital, hospital.id == a.hospital_id)
        .join(enterprise, enterprise.id == a.enterprise_id)
        .add_columns(
            hospital.name.label("hospital"),
            enterprise.name.label("enterprise"),
            a.net_fen.label("net"),
            a.confirmed_fen.label("confirmed"),
            a.disputed_fen.label("disputed"),
        )
        .order_by(a.id.desc())
    )
    return table, stmt


def runs_table() -> tuple[Table, Select[Any]]:
    """The bureau's settlement runs (only the bureau reaches the page: runs are province-wide)."""
    r = SettlementRun
    table = Table(
        "settlement-runs",
        columns=(
            Column("id", _l("Run"), sort=r.id, kind=INT, value=_of("SettlementRun", "id")),
            Column(
                "month",
                _l("Month"),
                sort=r.period_month,
                value=lambda row: _month(row.SettlementRun.period_month),
            ),
            Column("total", _l("Total (yuan)"), sort=r.total_fen, kind=MONEY, total=True),
            Column(
                "approved_at",
                _l("Approved"),
                sort=r.approved_at,
                kind=DATETIME,
                value=_of("SettlementRun", "approved_at"),
            ),
            Column(
                "paid_at", _l("Paid"), sort=r.paid_at, kind=DATETIME, value=_of("SettlementRun", "paid_at")
            ),
            Column("status", _l("Status"), sort=r.status, kind=TERM, value=_of("SettlementRun", "status")),
        ),
        ids=(r.id,),
        dated=r.approved_at,
        default_sort="id",
        tiebreak=r.id,
    )
    return table, select(r).add_columns(r.total_fen.label("total")).order_by(r.id.desc())
