"""Listings (挂网) in the three procurement modes, distribution authorizations, reference prices."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from bidding.batches import get_batch, require_bureau_writer
from bidding.models import Award, BatchStatus, Product, RegionAssignment, VolumeAllocation
from core import audit
from core.actors import Actor, OrgKind, Role
from core.errors import InvalidState, NotFound, PermissionDenied, RuleViolation, ValidationFailed
from core.organizations import Organization
from core.uscc import region_code_error
from ledger.models import DistributionAuthorization, Listing, ListingMode, ListingStatus, ReferencePrice
from ledger.states import LISTING
from ledger.supervision.price_models import ListingPrice

PUBLISHED = (BatchStatus.RESULTS_PUBLISHED, BatchStatus.EXECUTING)
#: Batch 9 rule for winners outside their primary/backup regions (非主非备, §1.7, S25): at most
#: 1.5 × their own winning price. Price-linked applications of a winning product are held to it.
NON_ASSIGNED_MULTIPLE_TENTHS = 15
#: A price-linked application above the lowest price the platform holds (high-price risk, §3,
#: S26) waits, `applied`, for the bureau's review (approve → listed, refuse → delisted) when
#: True; when False it is listed at once with the warning shown. The sources support both
#: readings (the listing states run "applied → under review → listed", while S26 speaks of a
#: warning shown on the platform), so this is a setting; the default holds flagged ones.
HOLD_FLAGGED_FOR_REVIEW = True


def prefecture(region_code: str) -> str:
    return region_code[:4] + "00"


def province(region_code: str) -> str:
    return region_code[:2] + "0000"


def covers(listing_region: str, hospital_region: str) -> bool:
    """A listing for a prefecture covers its hospitals; one for the province covers all."""
    return listing_region in (prefecture(hospital_region), province(hospital_region))


def listings_visible_to(actor: Actor) -> Select[tuple[Listing]]:
    """Hospitals see listed products (and their own filed purchases); a manufacturer its own
    listings; distributors the listings they are authorized for; the bureau all."""
    stmt = select(Listing)
    if actor.is_bureau:
        return stmt
    if actor.org_kind is OrgKind.MANUFACTURER:
        return stmt.where(Listing.manufacturer_id == actor.org_id)
    if actor.org_kind is OrgKind.HOSPITAL:
        return stmt.where((Listing.mode != ListingMode.FILED) | (Listing.hospital_id == actor.org_id))
    if actor.org_kind is OrgKind.DISTRIBUTOR:
        authorized = select(DistributionAuthorization.manufacturer_id).where(
            DistributionAuthorization.distributor_id == actor.org_id,
            DistributionAuthorization.active.is_(True),
        )
        return stmt.where(Listing.manufacturer_id.in_(authorized), Listing.mode != ListingMode.FILED)
    return stmt.where(False)


def get_listing(session: Session, actor: Actor, listing_id: int, *, for_update: bool = False) -> Listing:
    stmt = listings_visible_to(actor).where(Listing.id == listing_id)
    listing = session.scalars(stmt.with_for_update() if for_update else stmt).first()
    if listing is None:
        raise NotFound("挂网记录不存在 (listing not found)")
    return listing


def _new_listing(session: Session, actor: Actor, *, now: datetime, **values: object) -> Listing:
    listing = Listing(created_at=now, updated_at=now, **values)
    session.add(listing)
    session.flush()
    session.add(
        ListingPrice(
            listing_id=listing.id, pack_price_fen=listing.pack_price_fen, effective_at=now, reason="create"
        )
    )
    audit.record(
        session,
        actor,
        "listing.create",
        subject_type="listing",
        subject_id=listing.id,
        subject_org_id=listing.manufacturer_id,
        after={k: v for k, v in values.items() if k != "product"},
        now=now,
    )
    return listing


def create_vbp_listings(session: Session, actor: Actor, batch_id: int, *, now: datetime) -> list[Listing]:
    """List every winner at its winning price in its primary and backup regions, and where
    hospitals named its brand (§1.5.4, §3). Running it again creates nothing twice."""
    require_bureau_writer(actor)
    batch = get_batch(session, actor, batch_id)
    if batch.status not in PUBLISHED:
        raise InvalidState("结果公布后才能挂网 (list after the results are published)", code="not_published")
    wanted: dict[tuple[int, str], str] = {}
    for award_id, region, kind in session.execute(
        select(RegionAssignment.award_id, RegionAssignment.region_code, RegionAssignment.kind)
        .join(Award, Award.id == RegionAssignment.award_id)
        .where(Award.batch_id == batch.id)
    ):
        if wanted.get((award_id, region)) != "primary":
            wanted[(award_id, region)] = kind
    for award_id, region in session.execute(
        select(VolumeAllocation.award_id, VolumeAllocation.region_code)
        .where(VolumeAllocation.batch_id == batch.id, VolumeAllocation.brand_specific.is_(True))
        .distinct()
    ):
        wanted.setdefault((award_id, region), "brand")
    existing = {
        (award_id, region)
        for award_id, region in session.execute(
            select(Listing.award_id, Listing.region_code)
            .join(Award, Award.id == Listing.award_id)
            .where(Award.batch_id == batch.id)
        )
    }
    awards = {a.id: a for a in session.scalars(select(Award).where(Award.batch_id == batch.id))}
    created = []
    for (award_id, region), role in sorted(wanted.items()):
        if (award_id, region) in existing:
            continue
        award = awards[award_id]
        created.append(
            _new_listing(
                session,
                actor,
                now=now,
                mode=ListingMode.VOLUME_BASED,
                status=ListingStatus.LISTED,
                product_id=award.product_id,
                manufacturer_id=award.manufacturer_id,
                region_code=region,
                pack_price_fen=award.pack_price_fen,
                award_id=award.id,
                supply_role=role,
                price_flagged=False,
            )
        )
    return created


def reference_price_fen(
    session: Session, product_id: int, *, exclude_listing: int | None = None
) -> int | None:
    """The lowest price the platform holds for a product: its own listed prices and the stored
    reference prices (other provinces' lowest listing, provincial reference)."""
    own = select(func.min(Listing.pack_price_fen)).where(
        Listing.product_id == product_id,
        Listing.status == ListingStatus.LISTED,
        Listing.mode != ListingMode.FILED,
    )
    if exclude_listing is not None:
        own = own.where(Listing.id != exclude_listing)
    held = select(func.min(ReferencePrice.pack_price_fen)).where(ReferencePrice.product_id == product_id)
    prices = [p for p in (session.scalar(own), session.scalar(held)) if p is not None]
    return min(prices) if prices else None


def check_linkage_cap(session: Session, product_id: int, pack_price_fen: int) -> None:
    award_price = session.scalar(select(func.min(Award.pack_price_fen)).where(Award.product_id == product_id))
    if award_price is not None and pack_price_fen * 10 > award_price * NON_ASSIGNED_MULTIPLE_TENTHS:
        raise RuleViolation(
            "中选产品在非供应地区挂网价不得高于中选价的1.5倍 "
            "(a winning product may list at ≤ 1.5 × its winning price)",
            code="above_linkage_cap",
            fields={"pack_price": ["超过联动上限 (above the cap)"]},
        )


def apply_price_linked(
    session: Session,
    actor: Actor,
    *,
    product_id: int,
    region_code: str,
    pack_price_fen: int,
    now: datetime,
    hold_flagged: bool | None = None,
    shortage: bool = False,
) -> Listing:
    """价格联动挂网: a manufacturer applies with a price; refused above a winner's cap, flagged
    (high-price risk warning) above the lowest price the platform holds (§3, S25/S26). A flagged
    application stays `applied` until the bureau decides (`HOLD_FLAGGED_FOR_REVIEW`, or
    `hold_flagged` for this call); any other is listed at once.

    `shortage=True`: a product on the shortage-prone list is listed directly at its self-set price
    (直接挂网, vbp-rules.md §8): no cap, no hold; the listing is flagged `shortage` and the path is
    audited (`listing.shortage_direct`). A product not on the list is refused (422)."""
    if actor.org_kind is not OrgKind.MANUFACTURER or actor.role not in (Role.ADMIN, Role.OPERATOR):
        raise PermissionDenied("仅生产企业可申请挂网 (manufacturers only)")
    product = session.get(Product, product_id)
    if product is None or product.mah_id != actor.org_id:
        raise NotFound(
            "产品不存在 (product not found)", fields={"product_id": ["不是本企业产品 (not your product)"]}
        )
    if msg := region_code_error(region_code):
        raise ValidationFailed(fields={"region_code": [msg]})
    if pack_price_fen <= 0:
        raise ValidationFailed(fields={"pack_price": ["须大于0 (must be positive)"]})
    reference = reference_price_fen(session, product_id)
    if shortage:
        from ledger.supervision.shortage import entries_for

        entries = entries_for(session, product)
        if not entries:
            raise ValidationFailed(fields={"product_id": ["不在短缺药品清单上 (not on the shortage list)"]})
        listing = _new_listing(
            session,
            actor,
            now=now,
            mode=ListingMode.PRICE_LINKED,
            status=ListingStatus.LISTED,
            product_id=product.id,
            manufacturer_id=product.mah_id,
            region_code=region_code,
            pack_price_fen=pack_price_fen,
            reference_price_fen=reference,
            price_flagged=reference is not None and pack_price_fen > reference,
            shortage=True,
            shortage_direct=True,
        )
        audit.record(
            session,
            actor,
            "listing.shortage_direct",
            subject_type="listing",
            subject_id=listing.id,
            subject_org_id=listing.manufacturer_id,
            after={"pack_price_fen": pack_price_fen, "shortage_entries": [e.id for e in entries]},
            now=now,
        )
        return listing
    check_linkage_cap(session, product_id, pack_price_fen)
    flagged = reference is not None and pack_price_fen > reference
    hold = HOLD_FLAGGED_FOR_REVIEW if hold_flagged is None else hold_flagged
    return _new_listing(
        session,
        actor,
        now=now,
        mode=ListingMode.PRICE_LINKED,
        status=ListingStatus.APPLIED if flagged and hold else ListingStatus.LISTED,
        product_id=product.id,
        manufacturer_id=product.mah_id,
        region_code=region_code,
        pack_price_fen=pack_price_fen,
        reference_price_fen=reference,
        price_flagged=flagged,
    )


def file_purchase(
    session: Session, actor: Actor, *, product_id: int, pack_price_fen: int, reason: str, now: datetime
) -> Listing:
    """备案采购: a hospital files an off-list or urgent purchase at a negotiated price; it is
    compared with the provincial reference price and flagged when above it (§3)."""
    if actor.org_kind is not OrgKind.HOSPITAL or actor.role not in (Role.ADMIN, Role.OPERATOR):
        raise PermissionDenied("仅医疗机构可备案采购 (hospitals only)")
    product = session.get(Product, product_id)
    if product is None:
        raise NotFound("产品不存在 (product not found)", fields={"product_id": ["不存在 (not found)"]})
    if pack_price_fen <= 0:
        raise ValidationFailed(fields={"pack_price": ["须大于0 (must be positive)"]})
    hospital = session.get_one(Organization, actor.org_id)
    reference = reference_price_fen(session, product_id)
    return _new_listing(
        session,
        actor,
        now=now,
        mode=ListingMode.FILED,
        status=ListingStatus.LISTED,
        product_id=product.id,
        manufacturer_id=product.mah_id,
        region_code=hospital.region_code,
        pack_price_fen=pack_price_fen,
        hospital_id=hospital.id,
        reason=reason,
        reference_price_fen=reference,
        price_flagged=reference is not None and pack_price_fen > reference,
    )


def change_listing_status(
    session: Session, actor: Actor, listing_id: int, *, to: ListingStatus, reason: str, now: datetime
) -> Listing:
    """Approve or refuse an application, suspend, delist or relist (bureau), through the listing
    table (ledger/states.py). New orders stop at once; placed orders still ship."""
    require_bureau_writer(actor)
    listing = get_listing(session, actor, listing_id, for_update=True)
    before = listing.status
    LISTING.move(listing, to)
    listing.status_reason, listing.updated_at = reason, now
    session.flush()
    audit.record(
        session,
        actor,
        "listing.status",
        subject_type="listing",
        subject_id=listing.id,
        subject_org_id=listing.manufacturer_id,
        before={"status": before},
        after={"status": to, "reason": reason},
        now=now,
    )
    return listing


def suspend_manufacturer_listings(
    session: Session,
    actor: Actor,
    manufacturer_id: int,
    *,
    reason: str,
    now: datetime,
    product_ids: list[int] | None = None,
) -> int:
    """Credit-rating suspension (§7): every listed product of a manufacturer (or the products
    involved) stops taking new orders at once."""
    require_bureau_writer(actor)
    stmt = (
        update(Listing)
        .where(Listing.manufacturer_id == manufacturer_id, Listing.status == ListingStatus.LISTED)
        .values(status=ListingStatus.SUSPENDED, status_reason=reason, updated_at=now)
    )
    if product_ids:
        stmt = stmt.where(Listing.product_id.in_(product_ids))
    count = session.execute(stmt).rowcount
    audit.record(
        session,
        actor,
        "listing.suspend_manufacturer",
        subject_type="organization",
        subject_id=manufacturer_id,
        subject_org_id=manufacturer_id,
        after={"suspended": count, "reason": reason, "product_ids": product_ids},
        now=now,
    )
    return count


def add_reference_price(
    session: Session,
    actor: Actor,
    *,
    product_id: int,
    pack_price_fen: int,
    source: str,
    valid_on: date,
    now: datetime,
) -> ReferencePrice:
    """Record a reference price the platform checks listings and filed purchases against (bureau)."""
    require_bureau_writer(actor)
    if session.get(Product, product_id) is None:
        raise NotFound("产品不存在 (product not found)", fields={"product_id": ["不存在 (not found)"]})
    if pack_price_fen <= 0:
        raise ValidationFailed(fields={"pack_price": ["须大于0 (must be positive)"]})
    price = ReferencePrice(
        product_id=product_id, pack_price_fen=pack_price_fen, source=source, valid_on=valid_on, created_at=now
    )
    session.add(price)
    session.flush()
    audit.record(
        session,
        actor,
        "reference_price.add",
        subject_type="reference_price",
        subject_id=price.id,
        after={"product_id": product_id, "pack_price_fen": pack_price_fen, "source": source},
        now=now,
    )
    return price
