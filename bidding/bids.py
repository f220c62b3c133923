"""Sealed bids: submit / replace / withdraw before the deadline, with eligibility checks.

No read path returns a price before the batch is opened: the price exists only as ciphertext.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from bidding import rules
from bidding.batches import get_batch, get_item
from bidding.credit import CreditGrade, CreditRatingFact, bid_blocked
from bidding.models import (
    BatchItem,
    Bid,
    BidStatus,
    Category,
    CreditRating,
    ProcurementBatch,
    Product,
    RatioKind,
)
from bidding.pricing import comparable_of, spec_quantity
from bidding.sealing import BidContent, BidSealer
from core import audit, clock, crypto_suites
from core.actors import Actor, OrgKind, Role
from core.errors import InvalidState, NotFound, PermissionDenied, RuleViolation, ValidationFailed
from core.money import e4_to_str, unit_price_e4_from_pack

OPEN_STATES = ("opened", "results_published", "executing", "closed")


@dataclass(frozen=True)
class Receipt:
    """What the bidder keeps: the digest and the salt to check its opened bid against."""

    bid: Bid
    digest: str
    salt: str

    @property
    def suite(self) -> str:
        """The cryptographic suite that sealed the bid and made the digest."""
        return self.bid.suite

    @property
    def digest_algorithm(self) -> str:
        return crypto_suites.get(self.bid.suite).digest_name


def require_manufacturer_writer(actor: Actor) -> None:
    if actor.org_kind is not OrgKind.MANUFACTURER or actor.role not in (Role.ADMIN, Role.OPERATOR):
        raise PermissionDenied("仅生产企业可投标 (only manufacturers bid)")


def _window_open(batch: ProcurementBatch, now: datetime) -> None:
    if batch.status.value != "bidding":
        raise RuleViolation("批次不在投标阶段 (the batch is not accepting bids)", code="bidding_closed")
    if now < batch.bid_opens_at:
        raise RuleViolation("投标尚未开始 (bidding has not started)", code="bidding_not_started")
    if now >= batch.bid_closes_at:
        raise RuleViolation("已过投标截止时间 (the bid deadline has passed)", code="bid_after_deadline")


def credit_facts(session: Session, enterprise_id: int) -> list[CreditRatingFact]:
    rows = session.scalars(select(CreditRating).where(CreditRating.enterprise_id == enterprise_id)).all()
    return [
        CreditRatingFact(
            manufacturer=str(r.enterprise_id),
            province=r.province_code,
            grade=CreditGrade(r.grade),
            product_keys=frozenset(str(p) for p in r.product_ids),
            effective_from=r.effective_on,
            repaired_on=r.repaired_on,
        )
        for r in rows
    ]


def eligibility_problem(
    session: Session,
    *,
    batch: ProcurementBatch,
    product: Product,
    manufacturer_id: int,
    province: str,
    on: date,
) -> tuple[str, str] | None:
    """(code, message) when the product or its MAH may not bid (§1.2 product flags, §7 credit)."""
    if product.mah_id != manufacturer_id:
        return "not_mah", "投标人须为该产品的上市许可持有人 (the bidder must be the product's MAH)"
    if not product.active:
        return "product_inactive", "产品已停用 (product inactive)"
    if product.category is Category.DRUG and not (
        product.originator or product.reference_listed or product.consistency_evaluated
    ):
        return (
            "not_eligible_product",
            "须为原研药、参比制剂或通过一致性评价的仿制药 "
            "(originator, reference-listed or consistency-evaluated only)",
        )
    reason = bid_blocked(
        credit_facts(session, manufacturer_id),
        manufacturer=str(manufacturer_id),
        province=province,
        product_key=str(product.id),
        on=on,
    )
    if reason is not None:
        return "credit_blocked", f"信用评价限制投标 (blocked by credit rating: {reason})"
    return None


def submit_bid(
    session: Session,
    actor: Actor,
    batch_id: int,
    *,
    item_id: int,
    product_id: int,
    pack_price_fen: int,
    accepts_revival: bool,
    province: str,
    sealer: BidSealer,
    now: datetime,
    carried_over_award_id: int | None = None,
) -> Receipt:
    """Submit a sealed bid for an item, replacing the manufacturer's active bid for it.

    `carried_over_award_id`: a renewal's carried-over price (bidding/renewal.py carry_over, which
    checks the incumbent first); the bid is sealed and checked like any other."""
    require_manufacturer_writer(actor)
    batch = get_batch(session, actor, batch_id, for_update=True)
    _window_open(batch, now)
    item = get_item(session, actor, batch, item_id)
    product = session.get(Product, product_id)
    if product is None:
        raise NotFound("产品不存在 (product not found)", fields={"product_id": ["不存在 (not found)"]})
    if pack_price_fen <= 0:
        raise ValidationFailed(fields={"pack_price": ["须大于0 (must be positive)"]})
    if product.generic_name != item.generic_name or product.dosage_form_group != item.dosage_form_group:
        raise ValidationFailed(fields={"product_id": ["产品不属于该品种 (product is not of this variety)"]})
    if not _spec_allowed(item, product):
        raise ValidationFailed(
            fields={"product_id": ["规格不在本品种允许的规格内 (spec not allowed for this item)"]}
        )
    problem = eligibility_problem(
        session,
        batch=batch,
        product=product,
        manufacturer_id=actor.org_id or 0,
        province=province,
        on=clock.business_date(now),
    )
    if problem is not None:
        raise RuleViolation(problem[1], code=problem[0], fields={"product_id": [problem[1]]})
    # Above-ceiling bids are refused at submission (the bidder can still correct them before the
    # deadline) rather than accepted and marked invalid at the opening; the ceiling is public, so
    # the refusal reveals nothing. The comparison is on the unit comparable price (§1.2, §1.4).
    unit_e4 = unit_price_e4_from_pack(pack_price_fen, product.units_per_pack)
    comparable, _ = comparable_of(rules.RuleSet.from_dict(batch.rules), item, product, unit_e4)
    if comparable > item.ceiling_e4:
        # The answer names the public ceiling only, never a figure computed from the bid's price.
        ceiling = e4_to_str(item.ceiling_e4)
        raise RuleViolation(
            "申报价高于最高有效申报价 (bid above the maximum valid bid price)",
            code="above_ceiling",
            fields={
                "pack_price": [
                    f"单位可比价高于最高有效申报价 {ceiling} "
                    f"(comparable unit price above the ceiling {ceiling})"
                ]
            },
        )

    previous = session.scalars(
        select(Bid)
        .where(Bid.item_id == item.id, Bid.manufacturer_id == actor.org_id, Bid.status == BidStatus.ACTIVE)
        .with_for_update()
    ).first()
    if previous is not None:
        previous.status = BidStatus.REPLACED
        session.flush()  # the partial unique index allows one active bid at a time
    content = BidContent(
        public_id=secrets.token_hex(16),
        batch_id=batch.id,
        item_id=item.id,
        manufacturer_id=actor.org_id or 0,
        product_id=product.id,
        pack_price_fen=pack_price_fen,
        accepts_revival=accepts_revival,
        submitted_at=now,
    )
    sealed = sealer.seal(content)
    bid = Bid(
        public_id=content.public_id,
        batch_id=batch.id,
        item_id=item.id,
        manufacturer_id=actor.org_id,
        product_id=product.id,
        status=BidStatus.ACTIVE,
        accepts_revival=accepts_revival,
        suite=sealed.suite,
        sealing_key_id=sealed.key_id,
        sealed=sealed.blob,
        digest=sealed.digest,
        submitted_at=now,
        carried_over_award_id=carried_over_award_id,
    )
    session.add(bid)
    session.flush()
    if previous is not None:
        previous.replaced_by_id = bid.id
    # The audit row carries the digest, never the price.
    audit.record(
        session,
        actor,
        "bid.replace" if previous else "bid.submit",
        subject_type="bid",
        subject_id=bid.id,
        subject_org_id=actor.org_id,
        after={
            "item_id": item.id,
            "product_id": product.id,
            "digest": sealed.digest,
            "replaces": previous.id if previous else None,
            **({"carried_over_award_id": carried_over_award_id} if carried_over_award_id else {}),
        },
        now=now,
    )
    return Receipt(bid=bid, digest=sealed.digest, salt=sealed.salt)


def _spec_allowed(item: BatchItem, product: Product) -> bool:
    """The product's strength (or fill volume, for 装量 items) is one the item allows."""
    if item.ratio_kind is RatioKind.NONE:
        return True
    if item.ratio_kind is RatioKind.CONTENT and product.strength_unit != item.rep_strength_unit:
        return False
    allowed = {Decimal(s) for s in item.allowed_strengths}
    return spec_quantity(item, product) in allowed


def withdraw_bid(session: Session, actor: Actor, bid_id: int, *, now: datetime) -> Bid:
    """Withdraw an active bid before the deadline."""
    require_manufacturer_writer(actor)
    bid = session.scalars(bids_visible_to(actor).where(Bid.id == bid_id).with_for_update()).first()
    if bid is None:
        raise NotFound("投标不存在 (bid not found)")
    batch = get_batch(session, actor, bid.batch_id, for_update=True)
    _window_open(batch, now)
    if bid.status is not BidStatus.ACTIVE:
        raise InvalidState("投标已被替换或撤回 (bid already replaced or withdrawn)", code="bid_not_active")
    bid.status, bid.withdrawn_at = BidStatus.WITHDRAWN, now
    session.flush()
    audit.record(
        session,
        actor,
        "bid.withdraw",
        subject_type="bid",
        subject_id=bid.id,
        subject_org_id=actor.org_id,
        now=now,
    )
    return bid


def bids_visible_to(actor: Actor) -> Select[tuple[Bid]]:
    """A manufacturer sees its own bids; the bureau sees all bid records (never a price before
    the opening: prices are only in bid_results, written at the opening)."""
    stmt = select(Bid)
    if actor.is_bureau:
        return stmt
    if actor.org_kind is OrgKind.MANUFACTURER:
        return stmt.where(Bid.manufacturer_id == actor.org_id)
    return stmt.where(False)
