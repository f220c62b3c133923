"""Demand reports (报量): hospitals report annual demand per item and region; the bureau sees totals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from bidding.batches import get_batch, get_item
from bidding.models import BatchItem, BatchStatus, DemandReport, Product
from core import audit
from core.actors import Actor, OrgKind, Role
from core.errors import NotFound, PermissionDenied, RuleViolation, ValidationFailed
from core.organizations import Organization
from core.uscc import region_code_error


@dataclass(frozen=True)
class DemandLine:
    item_id: int
    quantity: int
    region_code: str | None = None
    brand_product_id: int | None = None


def prefecture_of(region_code: str) -> str:
    """The prefecture-level region (地市) a hospital's 6-digit code belongs to: the default
    allocation region of a provincial batch."""
    return region_code[:4] + "00"


def demand_visible_to(actor: Actor) -> Select[tuple[DemandReport]]:
    """Hospitals see their own reports; the bureau sees all; enterprises none (volumes by hospital
    are not theirs to see before the results)."""
    stmt = select(DemandReport)
    if actor.is_bureau:
        return stmt
    if actor.org_kind is OrgKind.HOSPITAL:
        return stmt.where(DemandReport.hospital_id == actor.org_id)
    return stmt.where(False)


def report_demand(
    session: Session,
    actor: Actor,
    batch_id: int,
    *,
    lines: Sequence[DemandLine],
    now: datetime,
    row_numbers: Sequence[int] | None = None,
) -> list[DemandReport]:
    """Create or replace the hospital's reports for the given lines (all or nothing)."""
    if actor.org_kind is not OrgKind.HOSPITAL or actor.role not in (Role.ADMIN, Role.OPERATOR):
        raise PermissionDenied("仅医疗机构可报量 (only hospitals report demand)")
    batch = get_batch(session, actor, batch_id, for_update=True)
    if batch.status is not BatchStatus.DEMAND_COLLECTION:
        raise RuleViolation("批次不在报量阶段 (the batch is not collecting demand)", code="demand_closed")
    if not (batch.demand_opens_at <= now < batch.demand_closes_at):
        raise RuleViolation("不在报量时间内 (outside the demand-report window)", code="demand_closed")
    hospital_region = session.get_one(Organization, actor.org_id).region_code
    errors: dict[str, list[str]] = {}
    seen: dict[tuple[int, str, int], int] = {}
    prepared: list[tuple[BatchItem, DemandLine, str]] = []
    for index, line in enumerate(lines):
        where = f"row {row_numbers[index]}" if row_numbers else f"lines.{index}"
        try:
            item = get_item(session, actor, batch, line.item_id)
        except NotFound:
            errors[f"{where}.item_id"] = ["不属于该批次 (not an item of this batch)"]
            continue
        region = line.region_code or prefecture_of(hospital_region or "")
        if msg := region_code_error(region):
            errors[f"{where}.region_code"] = [msg]
            continue
        if line.quantity < 0:
            errors[f"{where}.quantity"] = ["不能为负数 (must not be negative)"]
        if line.brand_product_id is not None:
            product = session.get(Product, line.brand_product_id)
            if product is None or product.generic_name != item.generic_name:
                errors[f"{where}.brand_product_id"] = ["不是该品种的产品 (not a product of this variety)"]
        key = (item.id, region, line.brand_product_id or 0)
        if key in seen:
            errors[f"{where}.item_id"] = [f"与第 {seen[key]} 行重复 (duplicates line {seen[key]})"]
        seen[key] = row_numbers[index] if row_numbers else index
        prepared.append((item, line, region))
    if errors:
        raise ValidationFailed("报量数据有误，未写入任何数据 (nothing was written)", fields=errors)
    saved = []
    for item, line, region in prepared:
        brand_key = line.brand_product_id or 0
        report = session.scalars(
            select(DemandReport).where(
                DemandReport.item_id == item.id,
                DemandReport.hospital_id == actor.org_id,
                DemandReport.region_code == region,
                DemandReport.brand_key == brand_key,
            )
        ).first()
        before = None if report is None else {"quantity": report.quantity}
        if report is None:
            report = DemandReport(
                batch_id=batch.id,
                item_id=item.id,
                hospital_id=actor.org_id,
                region_code=region,
                brand_product_id=line.brand_product_id,
                brand_key=brand_key,
                quantity=line.quantity,
                reported_at=now,
            )
            session.add(report)
        else:
            report.quantity, report.reported_at = line.quantity, now
        session.flush()
        audit.record(
            session,
            actor,
            "demand.report",
            subject_type="demand_report",
            subject_id=report.id,
            subject_org_id=actor.org_id,
            before=before,
            after={
                "item_id": item.id,
                "region_code": region,
                "brand_product_id": line.brand_product_id,
                "quantity": line.quantity,
            },
            now=now,
        )
        saved.append(report)
    return saved


@dataclass(frozen=True)
class DemandTotal:
    item_id: int
    generic_name: str
    region_code: str
    hospitals: int
    quantity: int
    brand_specific_quantity: int


def demand_totals(session: Session, actor: Actor, batch_id: int) -> list[DemandTotal]:
    """Totals per item and region (the bureau's view of the 计算基数, §1.6)."""
    if not actor.is_bureau:
        raise PermissionDenied("仅医保局可查看报量汇总 (bureau only)")
    batch = get_batch(session, actor, batch_id)
    brand_qty = func.sum(case((DemandReport.brand_product_id.is_not(None), DemandReport.quantity), else_=0))
    rows = session.execute(
        select(
            BatchItem.id,
            BatchItem.generic_name,
            DemandReport.region_code,
            func.count(func.distinct(DemandReport.hospital_id)),
            func.sum(DemandReport.quantity),
            brand_qty,
        )
        .join(DemandReport, DemandReport.item_id == BatchItem.id)
        .where(BatchItem.batch_id == batch.id)
        .group_by(BatchItem.id, BatchItem.generic_name, DemandReport.region_code)
        .order_by(BatchItem.id, DemandReport.region_code)
    ).all()
    return [DemandTotal(r[0], r[1], r[2], int(r[3]), int(r[4] or 0), int(r[5] or 0)) for r in rows]
