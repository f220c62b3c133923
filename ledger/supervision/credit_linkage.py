"""Credit linkage (信用评价联动, vbp-rules.md §7.1, §7.2): recording or repairing a credit rating
suspends or restores what the grade requires, in the same unit of work, audited, with messages.

What a grade suspends in this province (`home_province`, the platform's VBP_PROVINCE_CODE):
- 失信: nothing (a risk prompt only);
- 严重失信 (rated here): the listings of the products involved; a distributor's authorizations for
  the products involved (§7.1: "listing and distribution of the products involved cancelled");
- 特别严重失信 (rated here): every listing of the enterprise, and the products involved; for a
  distributor, its distribution authorizations in the province (§7.2: distribution rights suspended);
- 特别严重失信 rated in ANOTHER province: the products involved are still suspended here (§7.2:
  "the products involved in all provinces"); the rest of the enterprise's listings are not.

Each suspension is a `CreditSuspension` row naming the rating. A listing already held by another
rating gets a row too, without a second transition; one the bureau suspended for another reason
gets none. A repair restores a record only when no other in-force rating still holds it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Exists, and_, exists, select
from sqlalchemy.orm import Session

from bidding import ratings
from bidding.credit import CreditGrade
from bidding.models import CreditRating, Product
from core import audit, clock
from core.actors import Actor, OrgKind
from core.audit import AuditEvent
from core.errors import Conflict, InvalidState, ValidationFailed
from core.messages import Delivery, register
from core.organizations import Organization
from ledger.models import DistributionAuthorization, Listing, ListingStatus, OrderLine
from ledger.states import LISTING
from ledger.supervision.credit_models import CreditSuspension

#: Hospitals that ordered a suspended listing this many days back hear that they must buy
#: elsewhere (the brief's window; no national number).
RECENT_BUYER_DAYS = 90


@dataclass(frozen=True)
class Linkage:
    """What one recording or repair changed."""

    rating: CreditRating
    listing_ids: tuple[int, ...] = ()
    authorization_ids: tuple[int, ...] = ()


def _same_province(code: str, home: str) -> bool:
    return code[:2] == home[:2]


def _in_province(column: Any, home: str) -> ColumnElement[bool]:
    return column.like(home[:2] + "%")


def covered_listings(session: Session, rating: CreditRating, home: str) -> list[Listing]:
    """Listings in the home province the rating's grade suspends (see the module docstring)."""
    grade = CreditGrade(rating.grade)
    enterprise = session.get_one(Organization, rating.enterprise_id)
    if grade is CreditGrade.SHIXIN or enterprise.kind is OrgKind.DISTRIBUTOR:
        return []
    here = _same_province(rating.province_code, home)
    involved = Listing.product_id.in_(rating.product_ids or [-1])
    which: ColumnElement[bool]
    if grade is CreditGrade.PARTICULARLY_SERIOUS and here:
        which = (Listing.manufacturer_id == rating.enterprise_id) | involved
    elif grade is CreditGrade.PARTICULARLY_SERIOUS or (grade is CreditGrade.SERIOUS and here):
        # Another province's 特别严重失信 reaches the products involved in every province (§7.2).
        which = involved
    else:
        return []
    stmt = select(Listing).where(which, _in_province(Listing.region_code, home)).order_by(Listing.id)
    return list(session.scalars(stmt.with_for_update()))


def covered_authorizations(
    session: Session, rating: CreditRating, home: str
) -> list[DistributionAuthorization]:
    """A rated distributor's authorizations in the home province the grade suspends."""
    grade = CreditGrade(rating.grade)
    enterprise = session.get_one(Organization, rating.enterprise_id)
    if enterprise.kind is not OrgKind.DISTRIBUTOR or not _same_province(rating.province_code, home):
        return []
    da = DistributionAuthorization
    stmt = select(da).where(da.distributor_id == rating.enterprise_id, _in_province(da.region_code, home))
    if grade is CreditGrade.SERIOUS:
        stmt = stmt.where(da.product_id.in_(rating.product_ids or [-1]))
    elif grade is not CreditGrade.PARTICULARLY_SERIOUS:
        return []
    return list(session.scalars(stmt.order_by(da.id).with_for_update()))


def _held(column: Any, record_id: int, *, other_than: int | None = None) -> Exists:
    cs = CreditSuspension
    cond = and_(column == record_id, cs.restored_at.is_(None))
    if other_than is not None:
        cond = and_(cond, cs.rating_id != other_than)
    return exists().where(cond)


def _reason(rating: CreditRating) -> str:
    return f"信用评价 #{rating.id} 联动暂停 (suspended by credit rating #{rating.id})"


def apply_rating(
    session: Session, actor: Actor, rating: CreditRating, *, home: str, now: datetime
) -> Linkage:
    """Suspend what the rating's grade requires; records already held by another rating are joined."""
    cs = CreditSuspension
    moved_listings: list[int] = []
    for listing in covered_listings(session, rating, home):
        joined = listing.status is ListingStatus.SUSPENDED and session.scalar(
            select(_held(cs.listing_id, listing.id))
        )
        if listing.status is ListingStatus.LISTED:
            before = listing.status
            LISTING.move(listing, ListingStatus.SUSPENDED)
            listing.status_reason, listing.updated_at = _reason(rating), now
            audit.record(
                session,
                actor,
                "listing.status",
                subject_type="listing",
                subject_id=listing.id,
                subject_org_id=listing.manufacturer_id,
                before={"status": before},
                after={
                    "status": ListingStatus.SUSPENDED,
                    "reason": listing.status_reason,
                    "rating_id": rating.id,
                },
                now=now,
            )
            moved_listings.append(listing.id)
            session.add(cs(rating_id=rating.id, listing_id=listing.id, moved=True, suspended_at=now))
        elif joined:
            session.add(cs(rating_id=rating.id, listing_id=listing.id, moved=False, suspended_at=now))
    moved_auths: list[int] = []
    for auth in covered_authorizations(session, rating, home):
        if auth.active:
            auth.active = False
            moved_auths.append(auth.id)
            session.add(cs(rating_id=rating.id, authorization_id=auth.id, moved=True, suspended_at=now))
        elif session.scalar(select(_held(cs.authorization_id, auth.id))):
            session.add(cs(rating_id=rating.id, authorization_id=auth.id, moved=False, suspended_at=now))
    session.flush()
    if moved_listings or moved_auths:
        audit.record(
            session,
            actor,
            "credit.suspend",
            subject_type="credit_rating",
            subject_id=rating.id,
            subject_org_id=rating.enterprise_id,
            after={"grade": rating.grade, "listing_ids": moved_listings, "authorization_ids": moved_auths},
            now=now,
        )
    return Linkage(rating, tuple(moved_listings), tuple(moved_auths))


def release_rating(session: Session, actor: Actor, rating: CreditRating, *, now: datetime) -> Linkage:
    """Restore what this rating holds and no other in-force rating still holds."""
    cs = CreditSuspension
    rows = list(
        session.scalars(
            select(cs)
            .where(cs.rating_id == rating.id, cs.restored_at.is_(None))
            .order_by(cs.id)
            .with_for_update()
        )
    )
    restored_listings: list[int] = []
    restored_auths: list[int] = []
    for row in rows:
        row.restored_at = now
        if row.listing_id is not None:
            if session.scalar(select(_held(cs.listing_id, row.listing_id, other_than=rating.id))):
                continue
            listing = session.get_one(Listing, row.listing_id, with_for_update=True)
            if listing.status is not ListingStatus.SUSPENDED:
                continue  # delisted meanwhile: nothing to restore
            LISTING.move(listing, ListingStatus.LISTED)
            listing.status_reason, listing.updated_at = None, now
            audit.record(
                session,
                actor,
                "listing.status",
                subject_type="listing",
                subject_id=listing.id,
                subject_org_id=listing.manufacturer_id,
                before={"status": ListingStatus.SUSPENDED},
                after={
                    "status": ListingStatus.LISTED,
                    "reason": "信用修复 (credit repaired)",
                    "rating_id": rating.id,
                },
                now=now,
            )
            restored_listings.append(listing.id)
        elif row.authorization_id is not None:
            if session.scalar(select(_held(cs.authorization_id, row.authorization_id, other_than=rating.id))):
                continue
            auth = session.get_one(DistributionAuthorization, row.authorization_id, with_for_update=True)
            if not auth.active:
                auth.active = True
                restored_auths.append(auth.id)
    session.flush()
    if restored_listings or restored_auths:
        audit.record(
            session,
            actor,
            "credit.restore",
            subject_type="credit_rating",
            subject_id=rating.id,
            subject_org_id=rating.enterprise_id,
            after={"listing_ids": restored_listings, "authorization_ids": restored_auths},
            now=now,
        )
    return Linkage(rating, tuple(restored_listings), tuple(restored_auths))


def record_rating(
    session: Session,
    actor: Actor,
    *,
    home_province: str,
    enterprise_id: int,
    province_code: str,
    cause: str,
    amount_fen: int | None,
    product_ids: list[int],
    effective_on: date,
    now: datetime,
) -> Linkage:
    """Record a rating (bidding.ratings) and suspend what its grade requires, in one unit of work.

    The same rating recorded again while the first is in force (a retrying client without an
    Idempotency-Key) is a 409, so nothing is applied twice.
    """
    products = sorted(set(product_ids))
    _check_ids(session, enterprise_id, products)
    duplicate = session.scalar(
        select(CreditRating.id).where(
            CreditRating.enterprise_id == enterprise_id,
            CreditRating.province_code == province_code,
            CreditRating.cause == cause,
            CreditRating.amount_fen.is_(None)
            if amount_fen is None
            else CreditRating.amount_fen == amount_fen,
            CreditRating.effective_on == effective_on,
            CreditRating.repaired_on.is_(None),
        )
    )
    if duplicate is not None and _products_of(session, duplicate) == products:
        raise Conflict(f"该信用评价已登记 (rating already recorded: #{duplicate})", code="rating_exists")
    rating = ratings.record_rating(
        session,
        actor,
        enterprise_id=enterprise_id,
        province_code=province_code,
        cause=cause,
        amount_fen=amount_fen,
        product_ids=products,
        effective_on=effective_on,
        now=now,
    )
    return apply_rating(session, actor, rating, home=home_province, now=now)


#: Ids beyond a BIGINT are nobody's (a hostile number must be a 422, not a database error).
_MAX_ID = 2**63 - 1


def _check_ids(session: Session, enterprise_id: int, products: list[int]) -> None:
    if not 0 < enterprise_id <= _MAX_ID:
        raise ValidationFailed(fields={"enterprise_id": ["不是已登记的企业 (not a registered enterprise)"]})
    plausible = [p for p in products if 0 < p <= _MAX_ID]
    found = set(session.scalars(select(Product.id).where(Product.id.in_(plausible)))) if plausible else set()
    missing = [p for p in products if p not in found]
    if missing:
        shown = ", ".join(str(p) for p in missing[:5])
        raise ValidationFailed(fields={"product_ids": [f"产品不存在 (unknown products: {shown})"]})


def _products_of(session: Session, rating_id: int) -> list[int]:
    return list(session.get_one(CreditRating, rating_id).product_ids or [])


def repair_rating(
    session: Session, actor: Actor, rating_id: int, *, repaired_on: date, now: datetime
) -> Linkage:
    """信用修复: record the repair and restore what this rating alone held suspended. A second
    repair of the same rating is a 409 (nothing restored twice)."""
    current = session.scalars(
        ratings.ratings_visible_to(actor).where(CreditRating.id == rating_id).with_for_update()
    ).first()
    if current is not None and current.repaired_on is not None:
        raise InvalidState("该信用评价已修复 (rating already repaired)", code="already_repaired")
    rating = ratings.repair_rating(session, actor, rating_id, repaired_on=repaired_on, now=now)
    return release_rating(session, actor, rating, now=now)


# --- in force, for listings ---------------------------------------------------------------------


@dataclass(frozen=True)
class CreditStanding:
    """An enterprise's worst credit grade on the platform, as shown on its listings."""

    grade: str | None
    repaired: bool


_ORDER = {
    CreditGrade.SHIXIN.value: 1,
    CreditGrade.SERIOUS.value: 2,
    CreditGrade.PARTICULARLY_SERIOUS.value: 3,
}


def standings(session: Session, enterprise_ids: Iterable[int]) -> dict[int, CreditStanding]:
    """Per enterprise: its highest in-force grade, or (none in force) whether a repaired one exists."""
    ids = sorted(set(enterprise_ids))
    out: dict[int, CreditStanding] = {}
    if not ids:
        return out
    rows = session.execute(
        select(CreditRating.enterprise_id, CreditRating.grade, CreditRating.repaired_on).where(
            CreditRating.enterprise_id.in_(ids)
        )
    )
    for enterprise_id, grade, repaired_on in rows:
        have = out.get(enterprise_id)
        if repaired_on is None:
            if have is None or have.grade is None or _ORDER.get(grade, 0) > _ORDER.get(have.grade, 0):
                out[enterprise_id] = CreditStanding(grade, False)
        elif have is None:
            out[enterprise_id] = CreditStanding(None, True)
    return out


# --- messages -----------------------------------------------------------------------------------


def _ids(value: object) -> list[int]:
    return [int(i) for i in value] if isinstance(value, list) else []


def _recent_buyers(session: Session, listing_ids: list[int], at: datetime) -> list[int]:
    if not listing_ids:
        return []
    since = clock.business_date(at) - timedelta(days=RECENT_BUYER_DAYS)
    stmt = (
        select(OrderLine.hospital_id)
        .where(OrderLine.listing_id.in_(listing_ids), OrderLine.ordered_on >= since)
        .distinct()
        .order_by(OrderLine.hospital_id)
    )
    return list(session.scalars(stmt))


def _manufacturers(session: Session, authorization_ids: list[int]) -> list[int]:
    if not authorization_ids:
        return []
    da = DistributionAuthorization
    return list(session.scalars(select(da.manufacturer_id).where(da.id.in_(authorization_ids)).distinct()))


@register("credit.suspend", "credit.restore")
def credit_linkage_messages(session: Session, event: AuditEvent) -> Iterable[Delivery]:
    """The enterprise hears its listings / distribution rights were suspended or restored; hospitals
    that ordered those listings in the last 90 days hear they must buy elsewhere (or may again);
    manufacturers hear that a distributor of theirs was suspended or restored."""
    suspended = event.action == "credit.suspend"
    after = event.after or {}
    listing_ids, auth_ids = _ids(after.get("listing_ids")), _ids(after.get("authorization_ids"))
    data = {"listings": len(listing_ids), "authorizations": len(auth_ids)}
    if event.subject_org_id is not None:
        yield Delivery(
            event.subject_org_id, "credit_suspended" if suspended else "credit_restored", None, None, data
        )
    for hospital_id in _recent_buyers(session, listing_ids, event.at):
        kind = "credit_buy_elsewhere" if suspended else "credit_listing_restored"
        yield Delivery(hospital_id, kind, None, None, {"listings": len(listing_ids)})
    for manufacturer_id in _manufacturers(session, auth_ids):
        kind = "credit_distributor_suspended" if suspended else "credit_distributor_restored"
        yield Delivery(manufacturer_id, kind, None, None, {"authorizations": len(auth_ids)})
