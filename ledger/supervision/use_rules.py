"""Use-monitoring rules (使用监测, issue 18 item 3; supervision-and-interop.md §1, §3; vbp-rules.md §6).

Four daily rules, each reading the one derivation of its figure:

* `non_winner_share` — winner usage share per hospital × generic name from the goods flow
  (ledger.figures.purchases, minimum units, as the winner-share indicator counts it);
* `volume_lag` — agreed-volume completion against 序时进度 (ledger.queries.agreed_volume_progress);
* `receipt_unconfirmed` — shipments still in transit (no receipt) N days after shipping;
* `implausibly_fast` — distributors whose every logistics step lands within N minutes of the order.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from bidding.models import Award, BatchItem, ProcurementBatch, Product
from bidding.queries import PUBLIC_STATES
from core import clock
from core.actors import Actor
from core.organizations import Organization
from ledger.figures import between, bought_units, purchase_flows
from ledger.models import Order, OrderLine, OrderStatus, ReceiptLine, Shipment, ShipmentLine
from ledger.models.logistics import ShipmentLineStatus
from ledger.queries import agreed_volume_progress
from ledger.supervision import warning_messages  # noqa: F401  (who hears of a warning)
from ledger.supervision.models import Severity
from ledger.supervision.settings import SupervisionSettings
from ledger.supervision.warnings import MAX_RECORDS, Finding, rule

#: `implausibly_fast` judges a distributor once it has this many completed orders in the window
#: (the brief: at least one; Tianjin's notice names no count, supervision-and-interop.md §1).
IMPLAUSIBLE_MIN_COMPLETED_ORDERS = 1


def _pct(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


def _generic_key(hospital_id: int, generic: str) -> str:
    digest = hashlib.sha1(generic.encode()).hexdigest()[:16]  # noqa: S324 - a key, not a secret
    return f"hospital_generic:{hospital_id}:{digest}"


@rule("non_winner_share", "非中选产品使用占比偏高 (non-winner share above the threshold)")
def non_winner_share(session: Session, now: datetime, settings: SupervisionSettings) -> Iterator[Finding]:
    """Per hospital × generic name that has a winner: non-winner units ÷ all units bought (accepted
    net of returns, minimum units) in the last `window_days` days up to today. Flagged when the share
    is strictly above `non_winner_share_pct` % ("at" does not trigger). vbp-rules.md §6 (winner
    usage share); supervision-and-interop.md §3 (no national cap; ~20 % in Shanghai batch 5)."""
    today = clock.business_date(now)
    first = today - timedelta(days=settings.window_days - 1)
    flows = purchase_flows(between(first, today + timedelta(days=1)))
    ol = OrderLine
    units = bought_units(flows)
    winner = ol.award_id.is_not(None)
    vbp_generic = Product.generic_name.in_(
        select(BatchItem.generic_name).join(Award, Award.item_id == BatchItem.id)
    )
    stmt = (
        select(
            ol.hospital_id,
            Product.generic_name,
            func.sum(case((winner, units), else_=0)),
            func.sum(units),
        )
        .select_from(flows)
        .join(ol, ol.id == flows.c.order_line_id)
        .join(Product, Product.id == ol.product_id)
        .where(vbp_generic)
        .group_by(ol.hospital_id, Product.generic_name)
    )
    threshold = Decimal(settings.non_winner_share_pct)
    flagged: list[tuple[int, str, int, int, Decimal]] = []
    for hospital, generic, won, total in session.execute(stmt):
        won, total = int(won or 0), int(total or 0)
        if total <= 0:
            continue
        share = Decimal(total - won) * 100 / total
        if share > threshold:
            flagged.append((hospital, generic, won, total, share))
    if not flagged:
        return
    regions = dict(
        session.execute(
            select(Organization.id, Organization.region_code).where(
                Organization.id.in_({f[0] for f in flagged})
            )
        ).all()
    )
    for hospital, generic, won, total, share in flagged:
        lines = session.scalars(
            select(ol.id)
            .join(Product, Product.id == ol.product_id)
            .where(
                ol.hospital_id == hospital,
                Product.generic_name == generic,
                ol.award_id.is_(None),
                ol.ordered_on >= first,
                ol.ordered_on <= today,
            )
            .order_by(ol.id)
            .limit(MAX_RECORDS)
        ).all()
        yield Finding(
            subject_kind="hospital_generic",
            subject_id=hospital,
            key=_generic_key(hospital, generic),
            org_id=hospital,
            region_code=regions.get(hospital),
            severity=Severity.HIGH if share > 2 * threshold else Severity.MEDIUM,
            value=_pct(share),
            threshold=str(settings.non_winner_share_pct),
            records=[("order_line", i) for i in lines],
            facts={
                "generic_name": generic,
                "non_winner_units": total - won,
                "winner_units": won,
                "total_units": total,
                "non_winner_share_pct": _pct(share),
                "winner_share_pct": _pct(100 - share),
                "window_first_day": first,
                "window_last_day": today,
            },
        )


@rule("volume_lag", "约定采购量进度滞后 (agreed volume behind schedule)")
def volume_lag(session: Session, now: datetime, settings: SupervisionSettings) -> Iterator[Finding]:
    """Per hospital × award in a cycle year running today: 序时进度 − completion (percentage points,
    exact) strictly above `volume_lag_points` is flagged ("at" does not trigger). Completion and time
    elapsed come from ledger.queries.agreed_volume_progress (vbp-rules.md §6)."""
    today = clock.business_date(now)
    # Agreements exist once the results are published (ledger/agreements.py).
    published = set(
        session.scalars(select(ProcurementBatch.id).where(ProcurementBatch.status.in_(PUBLIC_STATES)))
    )
    rows = [
        p
        for p in agreed_volume_progress(session, Actor.system(), on=today)
        if p.batch_id in published and p.year_start <= today <= p.year_end and p.agreed_quantity > 0
    ]
    if not rows:
        return
    regions = dict(
        session.execute(
            select(Organization.id, Organization.region_code).where(
                Organization.id.in_({p.hospital_id for p in rows})
            )
        ).all()
    )
    points = Decimal(settings.volume_lag_points)
    for p in rows:
        completion = Decimal(p.accepted_quantity) * 100 / p.agreed_quantity
        lag = p.time_elapsed_pct - completion
        if lag <= points:
            continue
        yield Finding(
            subject_kind="hospital_award",
            subject_id=p.hospital_id,
            key=f"hospital_award:{p.hospital_id}:{p.award_id}",
            org_id=p.hospital_id,
            region_code=regions.get(p.hospital_id),
            severity=Severity.HIGH if lag > 2 * points else Severity.MEDIUM,
            value=_pct(lag),
            threshold=str(settings.volume_lag_points),
            records=[("award", p.award_id)],
            facts={
                "generic_name": p.generic_name,
                "batch_id": p.batch_id,
                "award_id": p.award_id,
                "agreed_units": p.agreed_quantity,
                "completed_units": p.accepted_quantity,
                "completion_pct": _pct(completion),
                "time_elapsed_pct": str(p.time_elapsed_pct),
                "lag_points": _pct(lag),
                "year_start": p.year_start,
                "year_end": p.year_end,
            },
        )


@rule("receipt_unconfirmed", "到货未及时验收 (receipt unconfirmed)")
def receipt_unconfirmed(session: Session, now: datetime, settings: SupervisionSettings) -> Iterator[Finding]:
    """Per shipment: lines still in transit (no receipt) whose shipping day is at least
    `receipt_unconfirmed_days` days before today ("at" triggers: shipped 7 days ago and still
    unconfirmed is flagged). supervision-and-interop.md §1 (Tianjin: receipts left over a week)."""
    today = clock.business_date(now)
    cutoff = today - timedelta(days=settings.receipt_unconfirmed_days)
    sl = ShipmentLine
    stmt = (
        select(sl.shipment_id, sl.hospital_id, Organization.region_code, sl.id, sl.shipped_on)
        .join(Organization, Organization.id == sl.hospital_id)
        .where(sl.status == ShipmentLineStatus.IN_TRANSIT, sl.shipped_on <= cutoff)
        .order_by(sl.shipment_id, sl.id)
    )
    shipments: dict[int, dict[str, object]] = {}
    for shipment, hospital, region, line, shipped_on in session.execute(stmt):
        entry = shipments.setdefault(
            shipment, {"hospital": hospital, "region": region, "lines": [], "shipped_on": shipped_on}
        )
        entry["lines"].append(line)  # type: ignore[attr-defined]
        entry["shipped_on"] = min(entry["shipped_on"], shipped_on)  # type: ignore[type-var]
    for shipment, entry in shipments.items():
        shipped_on: date = entry["shipped_on"]  # type: ignore[assignment]
        days = (today - shipped_on).days
        yield Finding(
            subject_kind="shipment",
            subject_id=shipment,
            org_id=entry["hospital"],  # type: ignore[arg-type]
            region_code=entry["region"],  # type: ignore[arg-type]
            severity=Severity.HIGH if days >= 2 * settings.receipt_unconfirmed_days else Severity.MEDIUM,
            value=str(days),
            threshold=str(settings.receipt_unconfirmed_days),
            records=[("shipment", shipment)] + [("shipment_line", i) for i in entry["lines"]],  # type: ignore[attr-defined]
            facts={"shipped_on": shipped_on, "days_unconfirmed": days},
        )


@rule("implausibly_fast", "物流节点时间异常偏快 (implausibly fast logistics)")
def implausibly_fast(session: Session, now: datetime, settings: SupervisionSettings) -> Iterator[Finding]:
    """A distributor whose every logged logistics step (accept or refuse, each shipment, each
    receipt confirmation) of its orders submitted in the last `window_days` days lies within
    `implausible_minutes` minutes of the order's submission ("at" counts as within, so exactly 15
    minutes triggers), judged once it has IMPLAUSIBLE_MIN_COMPLETED_ORDERS completed orders in the
    window. supervision-and-interop.md §1 (Tianjin's platform notice, 15 minutes)."""
    since = now - timedelta(days=settings.window_days)
    limit = timedelta(minutes=settings.implausible_minutes)
    shipped = (
        select(Shipment.order_id.label("order_id"), func.max(Shipment.shipped_at).label("at"))
        .group_by(Shipment.order_id)
        .subquery()
    )
    received = (
        select(OrderLine.order_id.label("order_id"), func.max(ReceiptLine.confirmed_at).label("at"))
        .join(OrderLine, OrderLine.id == ReceiptLine.order_line_id)
        .group_by(OrderLine.order_id)
        .subquery()
    )
    stmt = (
        select(
            Order.distributor_id,
            Order.id,
            Order.status,
            Order.submitted_at,
            Order.decided_at,
            shipped.c.at,
            received.c.at,
        )
        .outerjoin(shipped, shipped.c.order_id == Order.id)
        .outerjoin(received, received.c.order_id == Order.id)
        .where(and_(Order.submitted_at >= since, Order.submitted_at <= now))
        .order_by(Order.distributor_id, Order.id)
    )
    slowest: dict[int, timedelta] = {}
    completed: dict[int, list[int]] = defaultdict(list)
    for distributor, order, status, submitted, *steps in session.execute(stmt):
        for step in steps:
            if step is not None:
                lag = step - submitted
                if distributor not in slowest or lag > slowest[distributor]:
                    slowest[distributor] = lag
        slowest.setdefault(distributor, timedelta(0))
        if status is OrderStatus.COMPLETED:
            completed[distributor].append(order)
    suspects = [
        d
        for d, lag in slowest.items()
        if lag <= limit and len(completed[d]) >= IMPLAUSIBLE_MIN_COMPLETED_ORDERS
    ]
    if not suspects:
        return
    regions = dict(
        session.execute(
            select(Organization.id, Organization.region_code).where(Organization.id.in_(suspects))
        ).all()
    )
    for distributor in suspects:
        minutes = Decimal(slowest[distributor].total_seconds()) / 60
        yield Finding(
            subject_kind="distributor",
            subject_id=distributor,
            org_id=distributor,
            region_code=regions.get(distributor),
            severity=Severity.MEDIUM,
            value=_pct(minutes),
            threshold=str(settings.implausible_minutes),
            records=[("order", o) for o in completed[distributor]],
            facts={
                "completed_orders": len(completed[distributor]),
                "slowest_step_minutes": _pct(minutes),
                "window_days": settings.window_days,
            },
        )
