"""Tendering models: catalogue, batches with their rule sets, items, demand, sealed bids, results,
awards and agreed-volume allocations."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, BigId, IdPK, str_enum
from core.organizations import Organization


class Category(enum.StrEnum):
    DRUG = "drug"  #: 药品
    CONSUMABLE = "consumable"  #: 高值医用耗材


class DosageFormGroup(enum.StrEnum):
    """Groups that carry different low-price exemptions (vbp-rules.md §1.5.3, §1.5.4)."""

    ORAL_SOLID = "oral_solid"
    ORAL_LIQUID = "oral_liquid"
    INJECTION_SMALL = "injection_small"
    INJECTION_LARGE = "injection_large"
    OTHER = "other"


class RatioKind(enum.StrEnum):
    """Which 2011 price-ratio coefficient converts a spec to the representative (§1.4)."""

    CONTENT = "content"  #: 含量差比价, K = 1.7^log₂X
    FILL_VOLUME = "fill_volume"  #: 装量差比价, K = 1.9^log₂X
    NONE = "none"  #: consumables: no conversion, price per piece


class BatchStatus(enum.StrEnum):
    DRAFT = "draft"
    DEMAND_COLLECTION = "demand_collection"
    BIDDING = "bidding"
    SEALED = "sealed"
    OPENED = "opened"
    #: 公示中: the results are proposed for the publicity period (bidding/publicity.py).
    RESULTS_PROPOSED = "results_proposed"
    RESULTS_PUBLISHED = "results_published"
    EXECUTING = "executing"
    CLOSED = "closed"


class Scope(enum.StrEnum):
    PROVINCIAL = "provincial"
    #: 省际联盟: led here (selection over every member province) or executed from the lead's file.
    ALLIANCE = "alliance"
    #: 国家组织: selected by the national joint procurement office; executed here from its results.
    NATIONAL = "national"


class SelectionSource(enum.StrEnum):
    """Where a batch's winners were selected (supervision-and-interop.md §10)."""

    LOCAL = "local"  #: bids opened and selected on this platform
    IMPORTED = "imported"  #: results decided elsewhere (national office, alliance lead), imported


class BidStatus(enum.StrEnum):
    ACTIVE = "active"
    REPLACED = "replaced"
    WITHDRAWN = "withdrawn"


class Product(Base):
    """A drug specification or high-value consumable as listed by its MAH (the catalogue)."""

    __tablename__ = "products"
    __table_args__ = (
        CheckConstraint("units_per_pack > 0", name="units_per_pack_positive"),
        Index("ix_products_generic", "category", "generic_name"),
    )

    id: Mapped[IdPK]
    category: Mapped[Category] = mapped_column(str_enum(Category, "product_category"))
    #: The platform's catalogue code (产品编码), unique in the catalogue.
    code: Mapped[str] = mapped_column(String(40), unique=True)
    #: 国家医保药品编码 (drugs, 23 characters; formula granules 20) or 医保耗材编码 (consumables,
    #: 27), format per core/national_codes.py; NULL on legacy rows until the bureau sets it.
    national_code: Mapped[str | None] = mapped_column(String(27), unique=True)
    #: 通用名 for drugs, product name for consumables.
    generic_name: Mapped[str] = mapped_column(String(200))
    #: 剂型 as written (片剂, 胶囊剂, 注射剂 …).
    dosage_form: Mapped[str] = mapped_column(String(50))
    dosage_form_group: Mapped[DosageFormGroup] = mapped_column(str_enum(DosageFormGroup, "dosage_form_group"))
    #: Amount of active ingredient per minimum unit, exact decimal text ("20", "0.25"); the
    #: number the price-ratio rules compare (§1.4). Consumables: "1".
    strength_value: Mapped[str] = mapped_column(String(20))
    strength_unit: Mapped[str] = mapped_column(String(20))
    #: Fill volume per minimum unit in ml for injections (装量), exact decimal text.
    fill_volume_ml: Mapped[str | None] = mapped_column(String(20))
    #: 规格 as printed, e.g. "20mg×28片".
    spec_text: Mapped[str] = mapped_column(String(100))
    #: 最小制剂单位: 片/粒/袋/支 (consumables: 个/套).
    min_unit: Mapped[str] = mapped_column(String(10))
    units_per_pack: Mapped[int] = mapped_column(Integer)
    #: Marketing-authorization holder (上市许可持有人), a manufacturer organization.
    mah_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    originator: Mapped[bool] = mapped_column(Boolean, default=False)
    reference_listed: Mapped[bool] = mapped_column(Boolean, default=False)
    consistency_evaluated: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Consumables: 注册证编号 and bid-lot attributes (material, group A/B, service fee …).
    registration_no: Mapped[str | None] = mapped_column(String(60))
    attributes: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime]

    mah: Mapped[Organization] = relationship()


class ProcurementBatch(Base):
    __tablename__ = "procurement_batches"
    __table_args__ = (
        CheckConstraint(
            "demand_opens_at < demand_closes_at AND demand_closes_at <= bid_opens_at "
            "AND bid_opens_at < bid_closes_at AND bid_closes_at <= opening_at",
            name="timeline_order",
        ),
        CheckConstraint("cycle_start_on < cycle_end_on", name="cycle_order"),
    )

    id: Mapped[IdPK]
    name: Mapped[str] = mapped_column(String(200))
    category: Mapped[Category] = mapped_column(str_enum(Category, "batch_category"))
    scope: Mapped[Scope] = mapped_column(str_enum(Scope, "batch_scope"))
    status: Mapped[BatchStatus] = mapped_column(str_enum(BatchStatus, "batch_status"), index=True)
    #: Name of the rule-set preset it started from (batch_4_9, batch_10, batch_11 …).
    rule_version: Mapped[str] = mapped_column(String(40))
    #: Every rule parameter, frozen with the batch so results can be re-derived (RuleSet.to_dict()).
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    demand_opens_at: Mapped[datetime]
    demand_closes_at: Mapped[datetime]
    bid_opens_at: Mapped[datetime]
    bid_closes_at: Mapped[datetime]
    opening_at: Mapped[datetime]
    cycle_start_on: Mapped[date] = mapped_column(Date)
    cycle_end_on: Mapped[date] = mapped_column(Date)
    opened_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    #: Local selection, or results imported from a file decided elsewhere (national, alliance).
    selection: Mapped[SelectionSource] = mapped_column(
        str_enum(SelectionSource, "batch_selection"),
        default=SelectionSource.LOCAL,
        server_default=SelectionSource.LOCAL.value,
    )
    #: Where imported results came from: file name, format, SHA-256, issuer, reference, who and when.
    results_source: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: SHA-256 of that file: one batch per results file, even when two imports race (409).
    results_sha256: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: Member provinces (6-digit codes) of an alliance batch led here, this province included.
    member_provinces: Mapped[list[str] | None] = mapped_column(JSON)
    #: The expiring batch this one renews (续标); at most one renewal per batch.
    renews_batch_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("procurement_batches.id"), unique=True
    )
    created_by_org_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"))
    created_at: Mapped[datetime]

    items: Mapped[list[BatchItem]] = relationship(back_populates="batch", order_by="BatchItem.id")


class BatchItem(Base):
    """A variety (通用名 + dosage-form group) with its representative spec and ceiling price."""

    __tablename__ = "batch_items"
    __table_args__ = (
        UniqueConstraint("batch_id", "generic_name", "dosage_form_group", name="variety"),
        CheckConstraint("ceiling_e4 > 0", name="ceiling_positive"),
    )

    id: Mapped[IdPK]
    batch_id: Mapped[int] = mapped_column(BigId, ForeignKey("procurement_batches.id"), index=True)
    generic_name: Mapped[str] = mapped_column(String(200))
    dosage_form_group: Mapped[DosageFormGroup] = mapped_column(
        str_enum(DosageFormGroup, "item_dosage_form_group")
    )
    #: Representative spec (代表品): strength per minimum unit, exact decimal text + unit.
    rep_strength_value: Mapped[str] = mapped_column(String(20))
    rep_strength_unit: Mapped[str] = mapped_column(String(20))
    ratio_kind: Mapped[RatioKind] = mapped_column(str_enum(RatioKind, "ratio_kind"))
    #: Allowed strengths (same unit as the representative) as exact decimal texts.
    allowed_strengths: Mapped[list[str]] = mapped_column(JSON)
    #: 最高有效申报价 per minimum unit of the representative spec, yuan×10⁴ (§1.3).
    ceiling_e4: Mapped[int] = mapped_column(BigInteger)
    #: Average price per minimum unit before VBP, yuan×10⁴: the budget base of retained savings (§4.4).
    pre_vbp_unit_price_e4: Mapped[int | None] = mapped_column(BigInteger)
    #: Agreed-volume ratio override for this variety (e.g. antimicrobials, §1.6), decimal text.
    volume_ratio_override: Mapped[str | None] = mapped_column(String(12))
    #: Consumables: bid-lot attributes (material, group).
    lot_attributes: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    batch: Mapped[ProcurementBatch] = relationship(back_populates="items")


class DemandReport(Base):
    """报量: a hospital's annual demand for an item in a region, generic or for a named brand."""

    __tablename__ = "demand_reports"
    __table_args__ = (
        CheckConstraint("quantity >= 0", name="quantity_non_negative"),
        # One report per hospital, item, region and brand (brand 0 = by generic name).
        UniqueConstraint("item_id", "hospital_id", "region_code", "brand_key", name="one_per_key"),
    )

    id: Mapped[IdPK]
    batch_id: Mapped[int] = mapped_column(BigId, ForeignKey("procurement_batches.id"), index=True)
    item_id: Mapped[int] = mapped_column(BigId, ForeignKey("batch_items.id"), index=True)
    hospital_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(6))
    #: Named brand (product of a manufacturer) for 按厂牌报量 (batch 11, §1.5.4); NULL = generic.
    brand_product_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("products.id"))
    #: brand_product_id or 0, so the uniqueness holds on both databases (NULLs are distinct).
    brand_key: Mapped[int] = mapped_column(BigInteger)
    #: Annual quantity in minimum units (片/粒/支) of the representative spec.
    quantity: Mapped[int] = mapped_column(BigInteger)
    reported_at: Mapped[datetime]


class Bid(Base):
    """A sealed bid. The price lives only inside `sealed` (AES-GCM) until the opening."""

    __tablename__ = "bids"
    __table_args__ = (
        # One active bid per manufacturer and item; replaced/withdrawn ones stay as history.
        Index(
            "uq_bids_one_active",
            "item_id",
            "manufacturer_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
    )

    id: Mapped[IdPK]
    #: Random public id: part of the encryption's associated data and of the receipt.
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    batch_id: Mapped[int] = mapped_column(BigId, ForeignKey("procurement_batches.id"), index=True)
    item_id: Mapped[int] = mapped_column(BigId, ForeignKey("batch_items.id"), index=True)
    manufacturer_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id"))
    status: Mapped[BidStatus] = mapped_column(str_enum(BidStatus, "bid_status"))
    #: The bidder accepts a revival price if offered (批10/11 复活), declared with the bid.
    accepts_revival: Mapped[bool] = mapped_column(Boolean, default=True)
    #: Cryptographic suite that sealed the bid and made its digest (core/crypto_suites.py):
    #: the bid is opened with it, whatever the platform's suite is by then.
    suite: Mapped[str] = mapped_column(String(16), server_default="standard")
    #: Key id + nonce + AES-GCM or SM4-GCM ciphertext of {pack price, salt}; see bidding/sealing.py.
    sealing_key_id: Mapped[str] = mapped_column(String(40))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    #: Receipt digest (SHA-256 or SM3, per `suite`) over the bid's content and a secret salt
    #: (checkable after opening).
    digest: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime]
    withdrawn_at: Mapped[datetime | None]
    #: Renewal (续标): the expiring award whose price this bid carries over instead of a new price.
    #: (No foreign key: awards already point at bids, and a cycle would complicate every DDL.)
    carried_over_award_id: Mapped[int | None] = mapped_column(BigInteger)
    replaced_by_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("bids.id"))

    product: Mapped[Product] = relationship()
    item: Mapped[BatchItem] = relationship()


class ItemResult(Base):
    """The opening of one item: the figures every decision was based on."""

    __tablename__ = "item_results"

    id: Mapped[IdPK]
    batch_id: Mapped[int] = mapped_column(BigId, ForeignKey("procurement_batches.id"), index=True)
    item_id: Mapped[int] = mapped_column(BigId, ForeignKey("batch_items.id"), unique=True)
    eligible_bidders: Mapped[int] = mapped_column(Integer)  #: N
    max_shortlisted: Mapped[int] = mapped_column(Integer)  #: M
    lowest_e4: Mapped[int | None] = mapped_column(BigInteger)
    anchor_e4: Mapped[int | None] = mapped_column(BigInteger)
    fuse_line_e4: Mapped[int | None] = mapped_column(BigInteger)
    revival_price_e4: Mapped[int | None] = mapped_column(BigInteger)
    winner_count: Mapped[int] = mapped_column(Integer)
    #: Agreed-volume ratio applied (decimal text), from the batch table or the item override.
    volume_ratio: Mapped[str | None] = mapped_column(String(12))
    #: Rule set used, as stored on the batch at opening.
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: Region pick log of the allocation (round, winner, region, kind) and its seed.
    allocation_log: Mapped[list[Any] | None] = mapped_column(JSON)


class BidResult(Base):
    """One opened bid: decrypted price, comparable price and the decision with its reason."""

    __tablename__ = "bid_results"

    id: Mapped[IdPK]
    bid_id: Mapped[int] = mapped_column(BigId, ForeignKey("bids.id"), unique=True)
    item_id: Mapped[int] = mapped_column(BigId, ForeignKey("batch_items.id"), index=True)
    manufacturer_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    pack_price_fen: Mapped[int] = mapped_column(BigInteger)
    unit_price_e4: Mapped[int] = mapped_column(BigInteger)
    #: Price-ratio K applied (decimal text) and the resulting 单位可比价.
    ratio_k: Mapped[str] = mapped_column(String(40))
    comparable_e4: Mapped[int] = mapped_column(BigInteger)
    valid: Mapped[bool] = mapped_column(Boolean)
    invalid_reason: Mapped[str | None] = mapped_column(String(60))
    rank: Mapped[int | None] = mapped_column(Integer)
    shortlisted: Mapped[bool] = mapped_column(Boolean)
    won: Mapped[bool] = mapped_column(Boolean)
    route: Mapped[str | None] = mapped_column(String(40))
    tie_breaker: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(String(500))


class Award(Base):
    """A winner (中选) of an item at its winning price."""

    __tablename__ = "awards"
    __table_args__ = (UniqueConstraint("item_id", "manufacturer_id", name="one_per_winner"),)

    id: Mapped[IdPK]
    batch_id: Mapped[int] = mapped_column(BigId, ForeignKey("procurement_batches.id"), index=True)
    item_id: Mapped[int] = mapped_column(BigId, ForeignKey("batch_items.id"), index=True)
    #: The winning bid; NULL for a winner imported from results decided elsewhere.
    bid_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("bids.id"), unique=True)
    manufacturer_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    product_id: Mapped[int] = mapped_column(BigId, ForeignKey("products.id"))
    rank: Mapped[int] = mapped_column(Integer)
    route: Mapped[str] = mapped_column(String(40))
    #: Winning 单位可比价 (revival price for revived winners).
    comparable_e4: Mapped[int] = mapped_column(BigInteger)
    #: Winning price per minimum unit of the bid's own spec, and per pack.
    unit_price_e4: Mapped[int] = mapped_column(BigInteger)
    pack_price_fen: Mapped[int] = mapped_column(BigInteger)
    picks_regions: Mapped[bool] = mapped_column(Boolean)

    product: Mapped[Product] = relationship()
    manufacturer: Mapped[Organization] = relationship()


class RegionAssignment(Base):
    """Primary (主供) or backup (备供) supply region of a winner (§1.7)."""

    __tablename__ = "region_assignments"
    __table_args__ = (UniqueConstraint("item_id", "region_code", "award_id", name="one_per_region_award"),)

    id: Mapped[IdPK]
    item_id: Mapped[int] = mapped_column(BigId, ForeignKey("batch_items.id"), index=True)
    award_id: Mapped[int] = mapped_column(BigId, ForeignKey("awards.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(6))
    kind: Mapped[str] = mapped_column(String(10))  #: "primary" | "backup"
    pick_round: Mapped[int] = mapped_column(Integer)


class VolumeAllocation(Base):
    """约定采购量: a hospital's agreed quantity of an item from one supplier at the winning price."""

    __tablename__ = "volume_allocations"
    __table_args__ = (
        UniqueConstraint("item_id", "hospital_id", "region_code", "award_id", name="one_per_supplier"),
        CheckConstraint("agreed_quantity >= 0", name="agreed_non_negative"),
    )

    id: Mapped[IdPK]
    batch_id: Mapped[int] = mapped_column(BigId, ForeignKey("procurement_batches.id"), index=True)
    item_id: Mapped[int] = mapped_column(BigId, ForeignKey("batch_items.id"), index=True)
    hospital_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(6))
    award_id: Mapped[int] = mapped_column(BigId, ForeignKey("awards.id"), index=True)
    #: Reported demand behind this allocation (minimum units) and the agreed quantity.
    base_quantity: Mapped[int] = mapped_column(BigInteger)
    agreed_quantity: Mapped[int] = mapped_column(BigInteger)
    #: True where the hospital named this brand (按厂牌报量).
    brand_specific: Mapped[bool] = mapped_column(Boolean)

    award: Mapped[Award] = relationship()


class MemberDemand(Base):
    """报量 of a member province's hospital in an alliance batch led here, imported per province
    (the hospital does not use this platform, so it is named by its USCC, not an organization)."""

    __tablename__ = "member_demand"
    __table_args__ = (
        CheckConstraint("quantity >= 0", name="quantity_non_negative"),
        UniqueConstraint(
            "item_id", "hospital_uscc", "region_code", "brand_key", name="member_demand_one_per_key"
        ),
    )

    id: Mapped[IdPK]
    batch_id: Mapped[int] = mapped_column(BigId, ForeignKey("procurement_batches.id"), index=True)
    item_id: Mapped[int] = mapped_column(BigId, ForeignKey("batch_items.id"), index=True)
    province_code: Mapped[str] = mapped_column(String(6))
    hospital_uscc: Mapped[str] = mapped_column(String(18))
    hospital_name: Mapped[str] = mapped_column(String(200))
    region_code: Mapped[str] = mapped_column(String(6))
    brand_product_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("products.id"))
    brand_key: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(BigInteger)
    #: SHA-256 of the file it came from.
    source_sha256: Mapped[str] = mapped_column(String(64))
    imported_at: Mapped[datetime]


class CreditRating(Base):
    """医药价格和招采信用评价: a rating of an enterprise in a province (vbp-rules.md §7.2)."""

    __tablename__ = "credit_ratings"

    id: Mapped[IdPK]
    enterprise_id: Mapped[int] = mapped_column(BigId, ForeignKey("organizations.id"), index=True)
    #: 6-digit code of the rating province (e.g. 510000).
    province_code: Mapped[str] = mapped_column(String(6))
    grade: Mapped[str] = mapped_column(String(32))
    cause: Mapped[str] = mapped_column(String(40))
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    #: Product ids involved in the case.
    product_ids: Mapped[list[int]] = mapped_column(JSON)
    effective_on: Mapped[date] = mapped_column(Date)
    repaired_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime]
