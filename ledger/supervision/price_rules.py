"""Price-governance warning rules (supervision-and-interop.md §2, vbp-rules.md §1.7, §8).

Every rule's party is the listing's manufacturer; the subject is the listing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.orm import Session

from core.money import fen_to_str
from ledger.models import Listing, ListingMode, ListingStatus, Order, OrderLine, OrderLineStatus
from ledger.supervision.models import Severity
from ledger.supervision.price_models import ListingPrice, PriceRisk
from ledger.supervision.prices import above_by_more_than, refresh_listings
from ledger.supervision.settings import SupervisionSettings
from ledger.supervision.supply import out_of_stock_now
from ledger.supervision.supply_models import LineVoid
from ledger.supervision.warnings import Finding, rule


def supply_trouble() -> ColumnElement[bool]:
    """An order line the supplier failed: refused, voided by the platform (作废, a `line_voids`
    row), or marked out of stock (缺货) and still unshipped. A line the hospital cancelled itself
    is not supply trouble."""
    return or_(
        OrderLine.status == OrderLineStatus.REFUSED,
        exists().where(LineVoid.order_line_id == OrderLine.id),
        out_of_stock_now(),
    )


def _listed(session: Session) -> Iterator[Listing]:
    yield from session.scalars(
        select(Listing).where(Listing.status == ListingStatus.LISTED).order_by(Listing.id)
    )


def _finding(
    listing: Listing,
    severity: Severity,
    value: str,
    threshold: str,
    records: list[tuple[str, int]] | None = None,
    **facts: object,
) -> Finding:
    return Finding(
        subject_kind="listing",
        subject_id=listing.id,
        org_id=listing.manufacturer_id,
        region_code=listing.region_code,
        severity=severity,
        value=value,
        threshold=threshold,
        records=records or [("listing", listing.id)],
        facts={"pack_price": fen_to_str(listing.pack_price_fen), "product_id": listing.product_id, **facts},
    )


@rule("price_risk", "挂网价格风险 (listing price risk against prices elsewhere)")
def price_risk(session: Session, now: datetime, settings: SupervisionSettings) -> Iterator[Finding]:
    """A listed price red or yellow against its four-same group elsewhere (prices.py). Recomputes
    the stored comparison first. "At" a threshold is not above it: no finding."""
    refresh_listings(session, settings=settings, now=now)
    for listing in _listed(session):
        if listing.price_risk not in (PriceRisk.RED, PriceRisk.YELLOW):
            continue
        red = listing.price_risk == PriceRisk.RED
        base = listing.peer_lowest_fen if red else listing.peer_median_fen
        pct = settings.price_risk_red_pct if red else settings.price_risk_yellow_pct
        yield _finding(
            listing,
            Severity.HIGH if red else Severity.MEDIUM,
            fen_to_str(listing.pack_price_fen),
            f"{fen_to_str(base or 0)} +{pct}%",
            level=listing.price_risk,
            peer_lowest=fen_to_str(listing.peer_lowest_fen or 0),
            peer_median=fen_to_str(listing.peer_median_fen or 0),
            peer_count=listing.peer_count,
        )


@rule("price_increase", "价格异常上涨 (abnormal price increase)")
def price_increase(session: Session, now: datetime, settings: SupervisionSettings) -> Iterator[Finding]:
    """A listed price above the lowest price it had within `price_window_days` by more than
    `price_max_increase_pct` % (vbp-rules.md §8: no national number; default off, None). The price
    in effect when the window opened counts. "At" the threshold does not trigger."""
    pct = settings.price_max_increase_pct
    if pct is None:
        return
    since = now - timedelta(days=settings.price_window_days)
    changed = select(ListingPrice.listing_id).where(
        ListingPrice.effective_at > since, ListingPrice.effective_at <= now, ListingPrice.reason == "change"
    )
    for listing in session.scalars(
        select(Listing)
        .where(Listing.status == ListingStatus.LISTED, Listing.id.in_(changed))
        .order_by(Listing.id)
    ):
        in_window = session.scalar(
            select(func.min(ListingPrice.pack_price_fen)).where(
                ListingPrice.listing_id == listing.id,
                ListingPrice.effective_at > since,
                ListingPrice.effective_at <= now,
            )
        )
        opening = session.scalar(
            select(ListingPrice.pack_price_fen)
            .where(ListingPrice.listing_id == listing.id, ListingPrice.effective_at <= since)
            .order_by(ListingPrice.effective_at.desc(), ListingPrice.id.desc())
            .limit(1)
        )
        lowest = min(p for p in (in_window, opening) if p is not None)
        if above_by_more_than(listing.pack_price_fen, lowest, pct):
            yield _finding(
                listing,
                Severity.MEDIUM,
                fen_to_str(listing.pack_price_fen),
                f"{fen_to_str(lowest)} +{pct}%",
                lowest_in_window=fen_to_str(lowest),
                window_days=settings.price_window_days,
            )


@rule("non_winner_red_line", "非中选产品超红线价 (non-winner above its price ceiling)")
def non_winner_red_line(session: Session, now: datetime, settings: SupervisionSettings) -> Iterator[Finding]:
    """A listed, not volume-based listing of a variety with a VBP winner priced above its red line
    (red_line.py: multiple × the variety's lowest winning unit comparable price, converted to the
    product's spec and pack). "At" the red line is allowed (≤, §1.7)."""
    from ledger.supervision.red_line import red_line_fen

    for listing in _listed(session):
        if listing.mode is ListingMode.VOLUME_BASED:
            continue
        line = red_line_fen(session, listing, settings=settings)
        listing.red_line_fen = line
        if line is not None and listing.pack_price_fen > line:
            yield _finding(
                listing,
                Severity.HIGH,
                fen_to_str(listing.pack_price_fen),
                fen_to_str(line),
                red_line=fen_to_str(line),
                multiple=str(settings.non_winner_red_line_multiple),
            )


@rule("shortage_watch", "短缺药品监测 (shortage-prone product watch)")
def shortage_watch(session: Session, now: datetime, settings: SupervisionSettings) -> Iterator[Finding]:
    """A listing of a shortage-prone product priced above the median elsewhere by more than
    `shortage_price_watch_pct` % ("at" does not trigger), or with order lines of supply trouble
    (`supply_trouble`: refused, voided, out of stock) ordered in the last `window_days` days."""
    from ledger.supervision.shortage import on_shortage_list

    since = now - timedelta(days=settings.window_days)
    short: dict[int, bool] = {}
    for listing in _listed(session):
        if listing.product_id not in short:
            short[listing.product_id] = on_shortage_list(session, listing.product_id)
        listing.shortage = listing.shortage_direct or short[listing.product_id]
        if not listing.shortage:
            continue
        voided = list(
            session.scalars(
                select(OrderLine.id)
                .join(Order, Order.id == OrderLine.order_id)
                .where(OrderLine.listing_id == listing.id, supply_trouble(), Order.submitted_at > since)
                .order_by(OrderLine.id)
            )
        )
        median = listing.peer_median_fen
        high = median is not None and above_by_more_than(
            listing.pack_price_fen, median, settings.shortage_price_watch_pct
        )
        if not (high or voided):
            continue
        yield _finding(
            listing,
            Severity.MEDIUM if high else Severity.LOW,
            fen_to_str(listing.pack_price_fen),
            f"{fen_to_str(median)} +{settings.shortage_price_watch_pct}%" if median is not None else "",
            above_median=high,
            voided_lines=len(voided),
            records=[("listing", listing.id), *(("order_line", i) for i in voided)],
        )
