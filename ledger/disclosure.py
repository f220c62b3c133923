"""Public disclosure (信息公开, supervision-and-interop.md §8): what anyone may read without login.

Every read here takes no actor: it is the same for everybody, so it must only ever return what is
public. What is public, decided once, here:

- batches in bidding.queries.PUBLIC_STATES only (results published, executing, closed): nothing
  of a batch before its results are published, so no sealed or merely opened price;
- per item: the ceiling price, the winners with their winning prices, supply regions and the
  total agreed volume of the item (a province-wide figure, as national VBP notices publish it);
  never a hospital's own demand or agreed volume, never a losing bid, never the opening record;
- listings hospitals can order (listed, not a hospital's filed purchase) with their price and
  price-risk level; not the peers' prices, the reference price or who reviewed them;
- credit ratings in force or repaired (失信名单 with repair state), without the case's amount;
- published notices.

Rows are identified to the public by names and codes people know (enterprise name and USCC,
product code); the internal ids appear only inside links.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from bidding.models import (
    Award,
    BatchItem,
    CreditRating,
    ProcurementBatch,
    Product,
    RegionAssignment,
    VolumeAllocation,
)
from bidding.queries import PUBLIC_STATES
from core.notices import Notice, NoticeStatus
from core.organizations import Organization
from core.regions import region_name
from ledger.models import Listing, ListingMode, ListingStatus


@dataclass(frozen=True)
class Page:
    """One page of a public list: its rows and the total count."""

    items: list[Any]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def _page(session: Session, stmt: Select[Any], page: int, page_size: int, *, scalars: bool = True) -> Page:
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    offset = (page - 1) * page_size
    if offset >= total:
        return Page([], total, page, page_size)  # past the end: no absurd OFFSET reaches the SQL
    run = stmt.limit(page_size).offset(offset)
    rows = list(session.scalars(run)) if scalars else list(session.execute(run))
    return Page(rows, total, page, page_size)


# --- batches and their results --------------------------------------------------------------------


@dataclass(frozen=True)
class BatchSummary:
    id: int
    name: str
    category: str
    scope: str
    status: str
    published_at: datetime | None
    cycle_start_on: date
    cycle_end_on: date


@dataclass(frozen=True)
class Winner:
    manufacturer: str
    manufacturer_uscc: str
    product_code: str
    product_name: str
    spec: str
    rank: int
    unit_price_e4: int
    pack_price_fen: int
    primary_regions: list[dict[str, str]] = field(default_factory=list)
    backup_regions: list[dict[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class ItemOutcome:
    generic_name: str
    dosage_form_group: str
    representative_spec: str
    ceiling_e4: int
    #: Province-wide agreed volume of the item (minimum units), summed over every hospital.
    agreed_total: int
    winners: list[Winner]


@dataclass(frozen=True)
class BatchResults:
    batch: BatchSummary
    items: list[ItemOutcome]


def public_batches() -> Select[tuple[ProcurementBatch]]:
    """Batches whose results are public, newest publication first."""
    return (
        select(ProcurementBatch)
        .where(ProcurementBatch.status.in_(PUBLIC_STATES))
        .order_by(ProcurementBatch.published_at.desc().nulls_last(), ProcurementBatch.id.desc())
    )


def _summary(batch: ProcurementBatch) -> BatchSummary:
    return BatchSummary(
        batch.id,
        batch.name,
        batch.category.value,
        batch.scope.value,
        batch.status.value,
        batch.published_at,
        batch.cycle_start_on,
        batch.cycle_end_on,
    )


def batch_page(session: Session, *, page: int, page_size: int) -> Page:
    """A page of the published batches."""
    found = _page(session, public_batches(), page, page_size)
    return Page([_summary(b) for b in found.items], found.total, page, page_size)


def public_batch(session: Session, batch_id: int) -> ProcurementBatch | None:
    """The batch if its results are public; None otherwise (unknown and unpublished alike)."""
    return session.scalar(public_batches().where(ProcurementBatch.id == batch_id))


def batch_results(session: Session, batch_id: int) -> BatchResults | None:
    """A published batch's items, winners, winning prices and supply regions; None if not public."""
    batch = public_batch(session, batch_id)
    if batch is None:
        return None
    items = list(
        session.scalars(select(BatchItem).where(BatchItem.batch_id == batch.id).order_by(BatchItem.id))
    )
    agreed = dict(
        session.execute(
            select(VolumeAllocation.item_id, func.sum(VolumeAllocation.agreed_quantity))
            .where(VolumeAllocation.batch_id == batch.id)
            .group_by(VolumeAllocation.item_id)
        ).all()
    )
    regions: dict[tuple[int, str], list[dict[str, str]]] = defaultdict(list)
    for award_id, code, kind in session.execute(
        select(RegionAssignment.award_id, RegionAssignment.region_code, RegionAssignment.kind)
        .join(Award, Award.id == RegionAssignment.award_id)
        .where(Award.batch_id == batch.id)
        .order_by(RegionAssignment.region_code)
    ):
        regions[(award_id, kind)].append({"code": code, "name": region_name(code)})
    winners: dict[int, list[Winner]] = defaultdict(list)
    for award, product, maker in session.execute(
        select(Award, Product, Organization)
        .join(Product, Product.id == Award.product_id)
        .join(Organization, Organization.id == Award.manufacturer_id)
        .where(Award.batch_id == batch.id)
        .order_by(Award.item_id, Award.rank)
    ):
        winners[award.item_id].append(
            Winner(
                maker.name,
                maker.uscc,
                product.code,
                product.generic_name,
                product.spec_text,
                award.rank,
                award.unit_price_e4,
                award.pack_price_fen,
                regions[(award.id, "primary")],
                regions[(award.id, "backup")],
            )
        )
    outcomes = [
        ItemOutcome(
            item.generic_name,
            item.dosage_form_group.value,
            f"{item.rep_strength_value}{item.rep_strength_unit}",
            item.ceiling_e4,
            int(agreed.get(item.id) or 0),
            winners[item.id],
        )
        for item in items
    ]
    return BatchResults(_summary(batch), outcomes)


# --- listings -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicListing:
    product_code: str
    product_name: str
    dosage_form: str
    spec: str
    manufacturer: str
    region_code: str
    region: str
    mode: str
    supply_role: str | None
    pack_price_fen: int
    price_risk: str | None
    shortage: bool


def listing_page(session: Session, *, page: int, page_size: int, query: str = "") -> Page:
    """Listed products hospitals may order (a hospital's filed purchase is its own, never public)."""
    stmt = (
        select(Listing, Product, Organization)
        .join(Product, Product.id == Listing.product_id)
        .join(Organization, Organization.id == Listing.manufacturer_id)
        .where(Listing.status == ListingStatus.LISTED, Listing.mode != ListingMode.FILED)
        .order_by(Product.generic_name, Product.code, Listing.region_code, Listing.id)
    )
    if query:
        like = f"%{query}%"
        stmt = stmt.where(Product.generic_name.like(like) | Organization.name.like(like))
    found = _page(session, stmt, page, page_size, scalars=False)
    rows = [
        PublicListing(
            product.code,
            product.generic_name,
            product.dosage_form,
            product.spec_text,
            maker.name,
            listing.region_code,
            region_name(listing.region_code),
            listing.mode.value,
            listing.supply_role,
            listing.pack_price_fen,
            listing.price_risk,
            listing.shortage,
        )
        for listing, product, maker in found.items
    ]
    return Page(rows, found.total, page, page_size)


# --- credit ratings (失信名单) ----------------------------------------------------------------------


@dataclass(frozen=True)
class PublicRating:
    enterprise: str
    enterprise_uscc: str
    province_code: str
    grade: str
    cause: str
    effective_on: date
    repaired_on: date | None
    #: "in_force" or "repaired" (信用修复), as of the day asked about.
    state: str
    products: list[str]


def rating_page(session: Session, *, today: date, page: int, page_size: int) -> Page:
    """Ratings in force or repaired on `today` (a rating not yet effective is not shown)."""
    stmt = (
        select(CreditRating, Organization)
        .join(Organization, Organization.id == CreditRating.enterprise_id)
        .where(CreditRating.effective_on <= today)
        .order_by(CreditRating.effective_on.desc(), CreditRating.id.desc())
    )
    found = _page(session, stmt, page, page_size, scalars=False)
    product_ids = {pid for rating, _ in found.items for pid in rating.product_ids}
    names = (
        dict(
            session.execute(select(Product.id, Product.generic_name).where(Product.id.in_(product_ids))).all()
        )
        if product_ids
        else {}
    )
    rows = [
        PublicRating(
            org.name,
            org.uscc,
            rating.province_code,
            rating.grade,
            rating.cause,
            rating.effective_on,
            rating.repaired_on if rating.repaired_on and rating.repaired_on <= today else None,
            "repaired" if rating.repaired_on and rating.repaired_on <= today else "in_force",
            sorted({names[p] for p in rating.product_ids if p in names}),
        )
        for rating, org in found.items
    ]
    return Page(rows, found.total, page, page_size)


# --- notices --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicNotice:
    id: int
    title: str
    body: str
    published_at: datetime | None


def _published_notices() -> Select[tuple[Notice]]:
    return (
        select(Notice)
        .where(Notice.status == NoticeStatus.PUBLISHED)
        .order_by(Notice.published_at.desc(), Notice.id.desc())
    )


def notice_page(session: Session, *, page: int, page_size: int) -> Page:
    """Published notices, newest first (drafts and withdrawn notices are the bureau's)."""
    found = _page(session, _published_notices(), page, page_size)
    return Page(
        [PublicNotice(n.id, n.title, n.body, n.published_at) for n in found.items],
        found.total,
        page,
        page_size,
    )


def public_notice(session: Session, notice_id: int) -> PublicNotice | None:
    """One published notice; None for a draft, a withdrawn or an unknown one."""
    n = session.scalar(_published_notices().where(Notice.id == notice_id))
    return None if n is None else PublicNotice(n.id, n.title, n.body, n.published_at)
