"""Demo step: supply guarantee (issue 18 item 1). After ordering and invoicing, it leaves an order
nobody answered (order_unanswered), a line out of stock (line_out_of_stock), an order voided for
not shipping in 7 days (作废) whose winner's delivery rate falls below the floor
(delivery_rate_low), a supply failure recorded against that winner and, where the demo batch has a
backup winner, the region switched to it (备供启用). Runs once per database."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bidding.models import Award, RegionAssignment
from core import clock
from core.accounts import actor_for_user
from core.organizations import Organization, User
from ledger.models import Listing, ListingStatus
from ledger.services import ordering
from ledger.supervision import backup, supply
from ledger.supervision.settings import DEFAULTS
from ledger.supervision.supply_models import StockOut


def _primary_listings(session: Session, hospital: Organization) -> list[Listing]:
    region = hospital.region_code[:4] + "00"
    return list(
        session.scalars(
            select(Listing)
            .where(
                Listing.region_code == region,
                Listing.supply_role == "primary",
                Listing.status == ListingStatus.LISTED,
            )
            .order_by(Listing.id)
        )
    )


def seed(
    session: Session,
    *,
    orgs: dict[str, Organization],
    users: dict[str, User],
    now: datetime,
    echo: Callable[[str], None],
) -> None:
    if session.scalar(select(func.count()).select_from(StockOut)):
        echo("供应保障演示已存在 (supply demo exists): 跳过")
        return
    bureau = actor_for_user(users["bureau-op"])
    distributor = actor_for_user(users["dist1-op"])
    hospitals = [orgs[k] for k in ("hosp1", "hosp2", "hosp3", "hosp4", "hosp6") if k in orgs]
    with_listings = [(h, ls) for h in hospitals if (ls := _primary_listings(session, h))]
    if not with_listings:
        echo("无主供挂网 (no primary listings): 跳过供应保障演示")
        return
    hospital, listing = _with_backup(session, with_listings) or (with_listings[0][0], with_listings[0][1][0])
    buyer = actor_for_user(users[f"{_key(orgs, hospital)}-op"])
    expiry = date(clock.business_date(now).year + 2, 6, 30)

    def place(listing: Listing, quantity: int, at: datetime) -> ordering.Order:
        return ordering.place_orders(
            session,
            buyer,
            distributor_id=orgs["dist1"].id,
            urgency=ordering.Urgency.NORMAL,
            now=at,
            lines=[ordering.LineRequest(listing.id, quantity)],
        )

    # 1. An order nobody answered for longer than the response limit.
    place(listing, 20, now - timedelta(hours=DEFAULTS.order_response_hours + 6))
    # 2. A line out of stock: read, accepted, marked with a reason and an expected date.
    short = place(listing, 30, now - timedelta(days=1))
    supply.note_first_read(session, distributor, short, now=now - timedelta(days=1) + timedelta(minutes=40))
    ordering.decide_order(
        session, distributor, short.id, accept=True, reason=None, now=now - timedelta(hours=20)
    )
    supply.mark_out_of_stock(
        session,
        distributor,
        short.id,
        short.lines[0].id,
        reason="原料药供应紧张，生产排期延后",
        expected_on=clock.business_date(now) + timedelta(days=5),
        now=now - timedelta(hours=19),
    )
    # 3. A large order shipped in small part and voided 7 days after ordering.
    days = DEFAULTS.void_after_days
    big = place(listing, 2000, now - timedelta(days=days + 1))
    ordering.decide_order(
        session, distributor, big.id, accept=True, reason=None, now=now - timedelta(days=days)
    )
    ordering.ship(
        session,
        distributor,
        big.id,
        lines=[ordering.ShipRequest(big.lines[0].id, 100, "DEMO-SUP-1", expiry)],
        now=now - timedelta(days=days) + timedelta(hours=6),
    )
    voided = supply.void_unshipped_lines(session, bureau, now=now, days=days, order_ids=[big.id])
    # 4. The bureau records the failure of that winner in the hospital's prefecture.
    region = hospital.region_code[:4] + "00"
    award_id = big.lines[0].award_id
    failure = None
    if award_id is not None:
        failure = supply.record_supply_failure(
            session,
            bureau,
            award_id=award_id,
            region_code=region,
            first_day=clock.business_date(now) - timedelta(days=30),
            last_day=clock.business_date(now),
            note="下单后7日未配送被作废，配送率低于下限",
            now=now,
        )
    # 5. Where that item has a backup winner for the region, switch the region to it.
    activated = None
    if award_id is not None:
        item_id = session.get_one(Award, award_id).item_id
        to_award = session.scalar(
            select(RegionAssignment.award_id).where(
                RegionAssignment.item_id == item_id,
                RegionAssignment.region_code == region,
                RegionAssignment.kind == "backup",
            )
        )
        if to_award is not None:
            activated = backup.activate_backup(
                session,
                bureau,
                item_id=item_id,
                region_code=region,
                to_award_id=to_award,
                reason="主供企业断供，启用备供",
                supply_failure_id=failure.id if failure else None,
                now=now,
            )
    echo(
        f"供应保障 (supply guarantee): 1 张超时未响应订单, 1 行缺货, 作废 {voided.lines} 行, "
        f"断供记录 {1 if failure else 0} 条, 备供启用 {1 if activated else 0} 次"
    )


def _with_backup(
    session: Session, candidates: list[tuple[Organization, list[Listing]]]
) -> tuple[Organization, Listing] | None:
    """A hospital and a primary listing of its region whose item has a backup winner there."""
    for hospital, listings in candidates:
        for listing in listings:
            if listing.award_id is None:
                continue
            item_id = session.get_one(Award, listing.award_id).item_id
            if session.scalar(
                select(RegionAssignment.id).where(
                    RegionAssignment.item_id == item_id,
                    RegionAssignment.region_code == listing.region_code,
                    RegionAssignment.kind == "backup",
                )
            ):
                return hospital, listing
    return None


def _key(orgs: dict[str, Organization], org: Organization) -> str:
    return next(k for k, v in orgs.items() if v.id == org.id)
