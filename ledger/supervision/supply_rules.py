"""Daily warning rules of supply guarantee (supervision-and-interop.md §1), registered on the engine
(ledger/supervision/warnings.py). Thresholds are `SupervisionSettings` fields."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bidding.models import Award
from core import clock
from ledger.models import Order, OrderLine, OrderStatus
from ledger.supervision.delivery import delivery_by_award_region
from ledger.supervision.models import Severity
from ledger.supervision.settings import SupervisionSettings
from ledger.supervision.supply import live_stock_outs
from ledger.supervision.supply_models import StockOut
from ledger.supervision.warnings import Finding, rule


@rule("order_unanswered", "订单超时未响应 (order not answered in time)")
def order_unanswered(session: Session, now: datetime, settings: SupervisionSettings) -> Iterable[Finding]:
    """Orders still `submitted` more than `order_response_hours` after `submitted_at` (§1: Tianjin's
    2.68 h average, 24 h default). Exactly N hours does not trigger; a second more does. The
    distributor sees and answers it; twice the limit is severe."""
    hours = settings.order_response_hours
    limit = now - timedelta(hours=hours)
    rows = session.execute(
        select(Order.id, Order.distributor_id, Order.region_code, Order.submitted_at).where(
            Order.status == OrderStatus.SUBMITTED, Order.submitted_at < limit
        )
    )
    for order_id, distributor_id, region, submitted_at in rows:
        minutes = int((now - submitted_at).total_seconds() // 60)
        waited = Decimal(minutes) / 60
        yield Finding(
            subject_kind="order",
            subject_id=order_id,
            org_id=distributor_id,
            region_code=region,
            severity=Severity.HIGH if waited > 2 * hours else Severity.MEDIUM,
            value=f"{waited:.1f}",
            threshold=str(hours),
            records=[("order", order_id)],
            facts={"submitted_at": submitted_at, "minutes_waited": minutes},
        )


@rule("line_out_of_stock", "订单行缺货 (order line out of stock)")
def line_out_of_stock(session: Session, now: datetime, settings: SupervisionSettings) -> Iterable[Finding]:
    """Lines marked out of stock (缺货) and still unshipped (no threshold: a live marking is the
    finding). The distributor answers it; the bureau watches. Severe once the expected date passed."""
    today = clock.business_date(now)
    rows = session.execute(
        live_stock_outs().with_only_columns(StockOut, OrderLine.region_code).order_by(StockOut.id)
    )
    for marking, region in rows:
        yield Finding(
            subject_kind="order_line",
            subject_id=marking.order_line_id,
            org_id=marking.distributor_id,
            region_code=region,
            severity=Severity.HIGH if marking.expected_on < today else Severity.LOW,
            value=marking.expected_on.isoformat(),
            records=[("order_line", marking.order_line_id), ("order", marking.order_id)],
            facts={"reason": marking.reason, "expected_on": marking.expected_on, "stock_out_id": marking.id},
        )


@rule("delivery_rate_low", "配送率偏低 (delivery rate below the floor)")
def delivery_rate_low(session: Session, now: datetime, settings: SupervisionSettings) -> Iterable[Finding]:
    """Award × region (prefecture) whose delivery rate over lines ordered in the last `window_days`
    (today included) is below `delivery_rate_floor_pct` (a provincial setting, §1). Exactly at the
    floor does not trigger; only award × regions with orders are judged. The award's manufacturer
    (the winner, first responsible for supply) sees and answers it; below half the floor is severe."""
    today = clock.business_date(now)
    first = today - timedelta(days=settings.window_days - 1)
    floor = settings.delivery_rate_floor_pct
    figures = [
        ev
        for ev in delivery_by_award_region(session, first_day=first, last_day=today)
        if ev.ordered_packs > 0
    ]
    makers = dict(
        session.execute(
            select(Award.id, Award.manufacturer_id).where(Award.id.in_({ev.award_id for ev in figures}))
        ).all()
    )
    for ev in figures:
        rate = ev.delivery_rate_pct
        if rate is None or rate >= floor:
            continue
        yield Finding(
            subject_kind="award_region",
            subject_id=ev.award_id,
            key=f"award_region:{ev.award_id}:{ev.region_code}",
            org_id=makers.get(ev.award_id),
            region_code=ev.region_code,
            severity=Severity.HIGH if rate * 2 < floor else Severity.MEDIUM,
            value=f"{rate:.2f}",
            threshold=str(floor),
            records=[("award", ev.award_id)],
            facts={
                "ordered_packs": ev.ordered_packs,
                "delivered_packs": ev.delivered_packs,
                "ordered_lines": ev.ordered_lines,
                "first_day": first,
                "last_day": today,
            },
        )
