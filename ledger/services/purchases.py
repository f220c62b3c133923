"""Off-platform (线下) purchase amounts reported monthly by hospitals, for the online rate (§6)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from core import audit, clock
from core.actors import Actor, OrgKind, Role
from core.errors import PermissionDenied, ValidationFailed
from ledger.models import OffPlatformPurchase, PurchaseCategory


def report_off_platform(
    session: Session, actor: Actor, *, month: date, category: PurchaseCategory, amount_fen: int, now: datetime
) -> OffPlatformPurchase:
    """Create or correct a hospital's off-platform amount for a month and category."""
    if actor.org_kind is not OrgKind.HOSPITAL or actor.role not in (Role.ADMIN, Role.OPERATOR):
        raise PermissionDenied("仅医疗机构可填报 (hospitals only)")
    if month.day != 1:
        raise ValidationFailed(fields={"month": ["须为当月1日 (the first day of the month)"]})
    if month > clock.business_date(now):  # the current month is open from its first day, province time
        raise ValidationFailed(fields={"month": ["不能填报未来月份 (not a future month)"]})
    if amount_fen < 0:
        raise ValidationFailed(fields={"amount": ["不能为负数 (must not be negative)"]})
    row = session.scalars(
        select(OffPlatformPurchase).where(
            OffPlatformPurchase.hospital_id == actor.org_id,
            OffPlatformPurchase.month == month,
            OffPlatformPurchase.category == category,
        )
    ).first()
    before = None if row is None else {"amount_fen": row.amount_fen}
    if row is None:
        row = OffPlatformPurchase(
            hospital_id=actor.org_id, month=month, category=category, amount_fen=amount_fen, reported_at=now
        )
        session.add(row)
    else:
        row.amount_fen, row.reported_at = amount_fen, now
    session.flush()
    audit.record(
        session,
        actor,
        "off_platform.report",
        subject_type="off_platform_purchase",
        subject_id=row.id,
        subject_org_id=actor.org_id,
        before=before,
        after={"month": month, "category": category, "amount_fen": amount_fen},
        now=now,
    )
    return row


def off_platform_visible_to(actor: Actor) -> Select[tuple[OffPlatformPurchase]]:
    stmt = select(OffPlatformPurchase)
    if actor.is_bureau:
        return stmt
    if actor.org_kind is OrgKind.HOSPITAL:
        return stmt.where(OffPlatformPurchase.hospital_id == actor.org_id)
    return stmt.where(False)
