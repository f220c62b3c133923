"""Reading codes: a line's codes (its parties), the codes a hospital kept (for its HIS, so nobody
scans twice), and a code's history across shipment lines (the bureau)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from core.actors import Actor, OrgKind
from core.errors import NotFound, PermissionDenied, ValidationFailed
from ledger.models import ReceiptLine, ShipmentLine
from ledger.services.ordering import shipment_lines_visible_to
from ledger.trace.formats import CodeFormatError, parse
from ledger.trace.models import TraceCode, TraceCodeState, TraceMatch

#: Rows fetched per round trip when streaming a download.
YIELD_PER = 5000
DOWNLOAD_HEADERS = ("追溯码", "类型", "发货单ID", "发货明细ID", "产品ID", "批号", "有效期", "验收日期")


def visible_line(session: Session, actor: Actor, shipment_line_id: int) -> ShipmentLine:
    line = session.scalars(
        shipment_lines_visible_to(actor).where(ShipmentLine.id == shipment_line_id)
    ).first()
    if line is None:
        raise NotFound("发货明细不存在 (shipment line not found)")
    return line


def line_codes(session: Session, actor: Actor, shipment_line_id: int) -> Select[tuple[TraceCode]]:
    """Every code row of a visible line, live or released, in the order attached."""
    line = visible_line(session, actor, shipment_line_id)
    return select(TraceCode).where(TraceCode.shipment_line_id == line.id).order_by(TraceCode.id)


def line_match(session: Session, actor: Actor, shipment_line_id: int) -> TraceMatch:
    line = visible_line(session, actor, shipment_line_id)
    match = session.scalars(select(TraceMatch).where(TraceMatch.shipment_line_id == line.id)).first()
    if match is None:
        raise NotFound("该发货明细尚无追溯码核对结果 (no match recorded for this line)")
    return match


def kept_codes(
    session: Session,
    actor: Actor,
    *,
    shipment_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Iterator[tuple[Any, ...]]:
    """The hospital's kept codes (state kept), filtered by shipment and by the receipt's acceptance
    date, streamed in rows of DOWNLOAD_HEADERS."""
    if actor.org_kind is not OrgKind.HOSPITAL:
        raise PermissionDenied("仅医疗机构可下载 (hospitals only)")
    if date_from and date_to and date_from > date_to:
        raise ValidationFailed(fields={"date_to": ["不能早于开始日期 (before date_from)"]})
    stmt = (
        select(
            TraceCode.code,
            TraceCode.kind,
            TraceCode.shipment_id,
            TraceCode.shipment_line_id,
            TraceCode.product_id,
            ShipmentLine.batch_no,
            ShipmentLine.expiry_on,
            ReceiptLine.accepted_on,
        )
        .join(ShipmentLine, ShipmentLine.id == TraceCode.shipment_line_id)
        .join(ReceiptLine, ReceiptLine.shipment_line_id == TraceCode.shipment_line_id)
        .where(TraceCode.hospital_id == actor.org_id, TraceCode.state == TraceCodeState.KEPT)
        .order_by(TraceCode.shipment_line_id, TraceCode.id)
    )
    if shipment_id is not None:
        stmt = stmt.where(TraceCode.shipment_id == shipment_id)
    if date_from is not None:
        stmt = stmt.where(ReceiptLine.accepted_on >= date_from)
    if date_to is not None:
        stmt = stmt.where(ReceiptLine.accepted_on <= date_to)
    for row in session.execute(stmt.execution_options(yield_per=YIELD_PER)):
        yield (row[0], row[1].value, *row[2:])


def history(session: Session, actor: Actor, code: str) -> list[TraceCode]:
    """Every shipment line a code travelled on, oldest first (the bureau)."""
    if not actor.is_bureau:
        raise PermissionDenied("仅监管部门可查询 (the bureau only)")
    try:
        canonical = parse(code).code
    except CodeFormatError as exc:
        raise ValidationFailed(fields={"code": [str(exc)]}) from exc
    return list(session.scalars(select(TraceCode).where(TraceCode.code == canonical).order_by(TraceCode.id)))
