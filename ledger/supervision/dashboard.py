"""What people read of the warnings: filtered lists, the bureau's dashboard counts (rule × region ×
state, severity) and the drill-down to the records behind one warning, never showing a party a
record it is not a party to (ledger.scoping's rule, per record kind)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, exists, func, select
from sqlalchemy.orm import Session

from bidding.models import Award, Product, VolumeAllocation
from core import clock
from core.actors import Actor
from core.errors import ValidationFailed
from core.glossary import term
from ledger.models import InvoiceLine, Listing, Order, OrderLine, ReceiptLine, Shipment, ShipmentLine
from ledger.scoping import party_scope
from ledger.services.listings import listings_visible_to
from ledger.supervision.models import Severity, SupervisionWarning, WarningState
from ledger.supervision.settings import SupervisionSettings
from ledger.supervision.warnings import RULES, load_rules, warnings_visible_to


@dataclass(frozen=True)
class WarningFilter:
    rule: str | None = None
    state: WarningState | None = None
    severity: Severity | None = None
    region_code: str | None = None
    org_id: int | None = None
    #: Raised on or after / before (first_seen_on), for the monthly report.
    since: date | None = None
    before: date | None = None


def filtered_warnings(actor: Actor, f: WarningFilter) -> Select[tuple[SupervisionWarning]]:
    """The warnings the actor may see, filtered; newest first. An unknown rule is a 422 on `rule`."""
    w = SupervisionWarning
    if f.rule is not None and f.rule not in load_rules():
        raise ValidationFailed(fields={"rule": ["未知的预警规则 (unknown rule)"]})
    stmt = warnings_visible_to(actor)
    if f.rule is not None:
        stmt = stmt.where(w.rule == f.rule)
    if f.state is not None:
        stmt = stmt.where(w.state == f.state)
    if f.severity is not None:
        stmt = stmt.where(w.severity == f.severity)
    if f.region_code is not None:
        # A prefecture or province code takes the regions under it (510100 → 5101xx).
        code = f.region_code.rstrip("0") if f.region_code.endswith("00") else f.region_code
        stmt = stmt.where(w.region_code.like(f"{code}%"))
    if f.org_id is not None:
        stmt = stmt.where(w.org_id == f.org_id)
    if f.since is not None:
        stmt = stmt.where(w.first_seen_on >= f.since)
    if f.before is not None:
        stmt = stmt.where(w.first_seen_on < f.before)
    return stmt.order_by(w.last_seen_on.desc(), w.id.desc())


def summary(session: Session, actor: Actor) -> dict[str, Any]:
    """Counts of the warnings the actor may see: by rule × region × state (rows) and by severity of
    the live ones, with each rule's label, and totals by state."""
    rules = load_rules()
    visible = warnings_visible_to(actor).subquery()
    rows = session.execute(
        select(visible.c.rule, visible.c.region_code, visible.c.state, visible.c.severity, func.count())
        .group_by(visible.c.rule, visible.c.region_code, visible.c.state, visible.c.severity)
        .order_by(visible.c.rule, visible.c.region_code, visible.c.state, visible.c.severity)
    ).all()
    cells: Counter[tuple[str, str | None, str]] = Counter()
    by_state: Counter[str] = Counter()
    by_severity: Counter[str] = Counter()
    by_rule: dict[str, Counter[str]] = {}
    for rule, region, state, severity, count in rows:
        state, severity = WarningState(state), Severity(severity)
        cells[(rule, region, state.value)] += count
        by_state[state.value] += count
        by_rule.setdefault(rule, Counter())[state.value] += count
        if state is not WarningState.RESOLVED:
            by_severity[severity.value] += count
    return {
        "rows": [
            {
                "rule": rule,
                "label": rules[rule].label if rule in rules else rule,
                "region_code": region,
                "state": state,
                "count": count,
            }
            for (rule, region, state), count in sorted(
                cells.items(), key=lambda i: (i[0][0], i[0][1] or "", i[0][2])
            )
        ],
        "by_rule": [
            {
                "rule": code,
                "label": spec.label,
                "daily": spec.daily,
                **{s.value: by_rule.get(code, Counter())[s.value] for s in WarningState},
            }
            for code, spec in sorted(rules.items())
        ],
        "by_state": {s.value: by_state[s.value] for s in WarningState},
        "live_by_severity": {s.value: by_severity[s.value] for s in Severity},
    }


#: The settings each rule reads (ledger/supervision/settings.py); a rule not named here shows the
#: settings its docstring names.
RULE_SETTINGS: dict[str, tuple[str, ...]] = {
    "order_unanswered": ("order_response_hours",),
    "line_out_of_stock": ("void_after_days",),
    "delivery_rate_low": ("delivery_rate_floor_pct", "window_days"),
    "price_risk": ("price_risk_red_pct", "price_risk_yellow_pct"),
    "price_increase": ("price_max_increase_pct", "price_window_days"),
    "non_winner_red_line": ("non_winner_red_line_multiple",),
    "shortage_watch": ("shortage_price_watch_pct", "window_days"),
    "non_winner_share": ("non_winner_share_pct", "window_days"),
    "volume_lag": ("volume_lag_points",),
    "receipt_unconfirmed": ("receipt_unconfirmed_days",),
    "implausibly_fast": ("implausible_minutes", "window_days"),
}


def rule_catalogue(settings: SupervisionSettings) -> list[dict[str, Any]]:
    """Every registered rule with its label and the settings it reads (the thresholds now)."""
    values = dataclasses.asdict(settings)
    catalogue = []
    for code, spec in sorted(load_rules().items()):
        doc = (spec.compute.__doc__ or "") if spec.compute else ""
        names = RULE_SETTINGS.get(code) or tuple(n for n in values if f"`{n}`" in doc)
        thresholds = {name: _plain(values[name]) for name in names if name in values}
        catalogue.append({"code": code, "label": spec.label, "daily": spec.daily, "thresholds": thresholds})
    return catalogue


def _plain(value: object) -> object:
    return str(value) if value is not None and not isinstance(value, int | str) else value


# --- drill-down ----------------------------------------------------------------------------------


def _local(at: datetime) -> datetime:
    """A moment in the platform's time zone (China time), as people read it."""
    return at.astimezone(clock.zone()) if at.tzinfo is not None else at


def _describe_order_line(session: Session, actor: Actor, ids: list[int]) -> dict[int, str]:
    stmt = party_scope(
        select(
            OrderLine.id, OrderLine.order_id, Product.generic_name, OrderLine.quantity, OrderLine.ordered_on
        )
        .join(Product, Product.id == OrderLine.product_id)
        .where(OrderLine.id.in_(ids)),
        actor,
        hospital=OrderLine.hospital_id,
        distributor=OrderLine.distributor_id,
        manufacturer=OrderLine.manufacturer_id,
    )
    return {
        i: f"订单{order}：{name} {qty}包，{day:%Y-%m-%d}下单 (order line)"
        for i, order, name, qty, day in session.execute(stmt)
    }


def _describe_order(session: Session, actor: Actor, ids: list[int]) -> dict[int, str]:
    stmt = party_scope(
        select(Order.id, Order.status, Order.submitted_at).where(Order.id.in_(ids)),
        actor,
        hospital=Order.hospital_id,
        distributor=Order.distributor_id,
    )
    return {
        i: f"订单{i}，{_local(at):%Y-%m-%d %H:%M}提交，状态 {term(status)} (order)"
        for i, status, at in session.execute(stmt)
    }


def _describe_shipment(session: Session, actor: Actor, ids: list[int]) -> dict[int, str]:
    stmt = party_scope(
        select(Shipment.id, Shipment.order_id, Shipment.shipped_at).where(Shipment.id.in_(ids)),
        actor,
        hospital=Shipment.hospital_id,
        distributor=Shipment.distributor_id,
    )
    return {
        i: f"订单{order}的发货，{_local(at):%Y-%m-%d %H:%M}发出 (shipment)"
        for i, order, at in session.execute(stmt)
    }


def _describe_shipment_line(session: Session, actor: Actor, ids: list[int]) -> dict[int, str]:
    sl = ShipmentLine
    stmt = party_scope(
        select(sl.id, sl.order_line_id, sl.quantity, sl.shipped_on, sl.status).where(sl.id.in_(ids)),
        actor,
        hospital=sl.hospital_id,
        distributor=sl.distributor_id,
    )
    return {
        i: f"订单行{line}发货{qty}包，{day:%Y-%m-%d}，状态 {term(status)} (shipment line)"
        for i, line, qty, day, status in session.execute(stmt)
    }


def _describe_receipt_line(session: Session, actor: Actor, ids: list[int]) -> dict[int, str]:
    rl = ReceiptLine
    stmt = party_scope(
        select(rl.id, rl.order_line_id, rl.accepted_quantity, rl.accepted_on).where(rl.id.in_(ids)),
        actor,
        hospital=rl.hospital_id,
        distributor=rl.distributor_id,
        manufacturer=rl.manufacturer_id,
    )
    return {
        i: f"订单行{line}验收{qty}包，{day:%Y-%m-%d} (receipt)" for i, line, qty, day in session.execute(stmt)
    }


def _describe_invoice_line(session: Session, actor: Actor, ids: list[int]) -> dict[int, str]:
    il = InvoiceLine
    stmt = party_scope(
        select(il.id, il.order_line_id, il.due_on).where(il.id.in_(ids)),
        actor,
        hospital=il.hospital_id,
        distributor=il.enterprise_id,
        manufacturer=il.enterprise_id,
    )
    return {
        i: f"订单行{line}的发票行，{due:%Y-%m-%d}到期 (invoice line)"
        for i, line, due in session.execute(stmt)
    }


def _describe_listing(session: Session, actor: Actor, ids: list[int]) -> dict[int, str]:
    stmt = (
        listings_visible_to(actor)
        .join(Product, Product.id == Listing.product_id)
        .where(Listing.id.in_(ids))
        .with_only_columns(Listing.id, Product.generic_name, Listing.region_code, Listing.status)
    )
    return {
        i: f"{name} 挂网（{region}），状态 {term(status)} (listing)"
        for i, name, region, status in session.execute(stmt)
    }


def _describe_award(session: Session, actor: Actor, ids: list[int]) -> dict[int, str]:
    allocated = exists().where(
        VolumeAllocation.award_id == Award.id, VolumeAllocation.hospital_id == actor.org_id
    )
    stmt = select(Award.id, Award.rank, Award.pack_price_fen).where(Award.id.in_(ids))
    if not actor.is_bureau:
        stmt = stmt.where((Award.manufacturer_id == actor.org_id) | allocated)
    return {i: f"中选结果{i}（第{rank}名）(award)" for i, rank, _price in session.execute(stmt)}


#: Record kind → who may see it and its short description.
DESCRIBERS = {
    "order_line": _describe_order_line,
    "order": _describe_order,
    "shipment": _describe_shipment,
    "shipment_line": _describe_shipment_line,
    "receipt_line": _describe_receipt_line,
    "invoice_line": _describe_invoice_line,
    "listing": _describe_listing,
    "award": _describe_award,
}

#: Record kind → its API address, where there is one.
LINKS = {
    "order": "/api/v1/orders/{id}",
    "order_line": None,
    "listing": None,
}


def evidence(session: Session, actor: Actor, warning: SupervisionWarning) -> list[dict[str, Any]]:
    """The records behind a warning the actor may see, each with kind, id, a short description and a
    link where the API has one. The bureau sees every record (kinds no describer knows, without a
    description); a party only those it is a party to."""
    records = (warning.evidence or {}).get("records", [])
    by_kind: dict[str, list[int]] = {}
    for r in records:
        by_kind.setdefault(str(r["kind"]), []).append(int(r["id"]))
    described: dict[tuple[str, int], str] = {}
    for kind, ids in by_kind.items():
        describe = DESCRIBERS.get(kind)
        if describe is not None:
            described |= {(kind, i): text for i, text in describe(session, actor, ids).items()}
    out = []
    for r in records:
        kind, rid = str(r["kind"]), int(r["id"])
        text = described.get((kind, rid))
        if text is None and not actor.is_bureau:
            continue
        link = LINKS.get(kind)
        out.append(
            {
                "kind": kind,
                "id": rid,
                "description": text,
                "link": link.format(id=rid) if link and text is not None else None,
            }
        )
    return out


def state_counts(session: Session, actor: Actor) -> dict[str, int]:
    """Live warnings the actor may see by state (for the navigation badge)."""
    visible = warnings_visible_to(actor).where(SupervisionWarning.state != WarningState.RESOLVED).subquery()
    return {
        WarningState(state).value: count
        for state, count in session.execute(select(visible.c.state, func.count()).group_by(visible.c.state))
    }


__all__ = [
    "RULES",
    "WarningFilter",
    "evidence",
    "filtered_warnings",
    "rule_catalogue",
    "state_counts",
    "summary",
]
