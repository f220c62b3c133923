"""Credit ratings (医药价格和招采信用评价, vbp-rules.md §7.2): recorded by the bureau, checked at bidding."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from bidding.batches import require_bureau_writer
from bidding.credit import CreditCause, grade_for
from bidding.models import CreditRating
from core import audit
from core.actors import Actor, OrgKind
from core.errors import NotFound, ValidationFailed
from core.organizations import Organization


def ratings_visible_to(actor: Actor) -> Select[tuple[CreditRating]]:
    """The bureau sees every rating; an enterprise its own; hospitals none."""
    stmt = select(CreditRating)
    if actor.is_bureau:
        return stmt
    if actor.org_kind in (OrgKind.MANUFACTURER, OrgKind.DISTRIBUTOR):
        return stmt.where(CreditRating.enterprise_id == actor.org_id)
    return stmt.where(False)


def record_rating(
    session: Session,
    actor: Actor,
    *,
    enterprise_id: int,
    province_code: str,
    cause: str,
    amount_fen: int | None,
    product_ids: list[int],
    effective_on: date,
    now: datetime,
) -> CreditRating:
    """Record a rating; the grade follows from cause and amount by the 2025 table (E12)."""
    require_bureau_writer(actor)
    enterprise = session.get(Organization, enterprise_id)
    if enterprise is None or enterprise.kind not in (OrgKind.MANUFACTURER, OrgKind.DISTRIBUTOR):
        raise ValidationFailed(fields={"enterprise_id": ["不是已登记的企业 (not a registered enterprise)"]})
    try:
        cause_enum = CreditCause(cause)
    except ValueError as exc:
        choices = ", ".join(c.value for c in CreditCause)
        raise ValidationFailed(fields={"cause": [f"取值无效，可选：{choices}"]}) from exc
    if amount_fen is not None and amount_fen < 0:
        raise ValidationFailed(fields={"amount": ["不能为负数 (must not be negative)"]})
    grade = grade_for(cause_enum, amount_fen or 0)
    if grade is None:
        raise ValidationFailed(fields={"amount": ["金额未达失信标准 (below the threshold for a rating)"]})
    rating = CreditRating(
        enterprise_id=enterprise_id,
        province_code=province_code,
        grade=grade.value,
        cause=cause_enum.value,
        amount_fen=amount_fen,
        product_ids=sorted(set(product_ids)),
        effective_on=effective_on,
        created_at=now,
    )
    session.add(rating)
    session.flush()
    audit.record(
        session,
        actor,
        "credit.rate",
        subject_type="credit_rating",
        subject_id=rating.id,
        subject_org_id=enterprise_id,
        after={
            "grade": grade,
            "cause": cause_enum,
            "amount_fen": amount_fen,
            "product_ids": rating.product_ids,
            "province": province_code,
        },
        now=now,
    )
    return rating


def repair_rating(
    session: Session, actor: Actor, rating_id: int, *, repaired_on: date, now: datetime
) -> CreditRating:
    """Record a credit repair (信用修复): the rating stops restricting from `repaired_on`."""
    require_bureau_writer(actor)
    rating = session.scalars(ratings_visible_to(actor).where(CreditRating.id == rating_id)).first()
    if rating is None:
        raise NotFound("信用评价不存在 (rating not found)")
    rating.repaired_on = repaired_on
    session.flush()
    audit.record(
        session,
        actor,
        "credit.repair",
        subject_type="credit_rating",
        subject_id=rating.id,
        subject_org_id=rating.enterprise_id,
        after={"repaired_on": repaired_on},
        now=now,
    )
    return rating
