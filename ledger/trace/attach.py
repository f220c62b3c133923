"""The distributor attaches its packs' codes to a shipment line (API list or file upload).

Rules, all or nothing: each code's format (formats.py); none twice in the list; as many codes as
packs shipped on the line; none live on another shipment line anywhere on the platform. Only while
the line is in transit; attaching again before receipt supersedes the line's earlier set (a
correction is a new set of rows, the old rows stay, audited), never an edit.

A code live on another line is refused with 409 (`DuplicateTraceCodes`) AND is a supervision
warning (a pack delivered twice: diversion or counterfeit). The refused write is rolled back, so
the caller records the warnings in a transaction of their own (`report_duplicates`): the web shell
does it right after the rollback, in the same request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import audit, clock
from core.actors import Actor, OrgKind, Role
from core.db import bulk_insert
from core.errors import Conflict, InvalidState, NotFound, PermissionDenied, ValidationFailed
from core.organizations import Organization
from ledger.models import OrderLine, ShipmentLine, ShipmentLineStatus
from ledger.services.ordering import shipment_lines_visible_to
from ledger.supervision.models import Severity
from ledger.supervision.warnings import Finding, raise_finding
from ledger.trace.codes import chunks, listed, parse_all
from ledger.trace.formats import CodeKind
from ledger.trace.models import TraceCode, TraceCodeState
from ledger.trace.rules import DUPLICATE_TRACE_CODE
from ledger.trace.states import TRACE_CODE

#: Warnings one refused request raises at most, one per code; the refusal itself lists the count.
MAX_WARNINGS = 1000


@dataclass(frozen=True)
class Duplicate:
    """A code sent for `line_id` that is live on `other_line_id`."""

    code: str
    line_id: int
    distributor_id: int
    hospital_id: int
    other_line_id: int
    other_hospital_id: int
    other_distributor_id: int


class DuplicateTraceCodes(Conflict):
    """Codes already live on another shipment line (409). `duplicates` go to `report_duplicates`."""

    code = "duplicate_trace_code"

    def __init__(self, duplicates: Sequence[Duplicate], *, field: str) -> None:
        self.duplicates = list(duplicates)
        n = len(self.duplicates)
        super().__init__(
            f"{n} 个追溯码已在其他发货明细上配送，未写入任何数据，已生成预警 "
            f"({n} codes are already delivered on another shipment line; nothing was written; "
            "a warning was raised)",
            fields={field: listed((d.code for d in self.duplicates), n, "已配送过的追溯码 (delivered)")},
        )


@dataclass(frozen=True)
class Attached:
    shipment_line_id: int
    count: int
    superseded: int
    kinds: dict[str, int]


def _line_for_distributor(session: Session, actor: Actor, shipment_line_id: int) -> ShipmentLine:
    if actor.org_kind is not OrgKind.DISTRIBUTOR or actor.role not in (Role.ADMIN, Role.OPERATOR):
        raise PermissionDenied("仅配送企业可操作 (only distributors may do this)")
    line = session.scalars(
        shipment_lines_visible_to(actor)
        .where(ShipmentLine.id == shipment_line_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if line is None:
        raise NotFound("发货明细不存在 (shipment line not found)")
    return line


def live_elsewhere(session: Session, codes: Sequence[str], *, line_id: int) -> list[TraceCode]:
    """Rows where one of `codes` is live on a shipment line other than `line_id` (index on live_code)."""
    found: list[TraceCode] = []
    for chunk in chunks(codes):
        found.extend(
            session.scalars(
                select(TraceCode).where(TraceCode.live_code.in_(chunk), TraceCode.shipment_line_id != line_id)
            )
        )
    return found


def attach_codes(
    session: Session,
    actor: Actor,
    shipment_line_id: int,
    *,
    codes: Sequence[str],
    now: datetime,
    field: str = "codes",
) -> Attached:
    """Attach one code per shipped pack to a line in transit (replacing an earlier set)."""
    line = _line_for_distributor(session, actor, shipment_line_id)
    if line.status is not ShipmentLineStatus.IN_TRANSIT:
        raise InvalidState(
            "已验收的发货明细不能再附追溯码 (the line is already received)", code="illegal_transition"
        )
    parsed = parse_all(codes, field=field)
    if len(parsed) != line.quantity:
        raise ValidationFailed(
            f"追溯码数量 {len(parsed)} 与发货数量 {line.quantity} 不符 "
            f"({len(parsed)} codes for {line.quantity} packs shipped)",
            code="code_count_mismatch",
            fields={field: [f"须为 {line.quantity} 个，收到 {len(parsed)} 个 (must be {line.quantity})"]},
        )
    canonical = [p.code for p in parsed]
    clash = live_elsewhere(session, canonical, line_id=line.id)
    if clash:
        raise DuplicateTraceCodes(
            [
                Duplicate(
                    row.code,
                    line.id,
                    line.distributor_id,
                    line.hospital_id,
                    row.shipment_line_id,
                    row.hospital_id,
                    row.distributor_id,
                )
                for row in clash
            ],
            field=field,
        )
    TRACE_CODE.check(TraceCodeState.IN_TRANSIT, TraceCodeState.SUPERSEDED)
    superseded = session.execute(
        update(TraceCode)
        .where(TraceCode.shipment_line_id == line.id, TraceCode.state == TraceCodeState.IN_TRANSIT)
        .values(state=TraceCodeState.SUPERSEDED, live_code=None, released_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    product_id = session.scalar(select(OrderLine.product_id).where(OrderLine.id == line.order_line_id))
    day = clock.business_date(now)
    common: dict[str, Any] = {
        "shipment_line_id": line.id,
        "shipment_id": line.shipment_id,
        "hospital_id": line.hospital_id,
        "distributor_id": line.distributor_id,
        "product_id": product_id,
        "state": TraceCodeState.IN_TRANSIT,
        "attached_on": day,
        "attached_at": now,
        "matched_at": None,
        "released_at": None,
    }
    bulk_insert(
        session,
        TraceCode.__table__,  # type: ignore[arg-type]
        ({"code": p.code, "live_code": p.code, "kind": p.kind, **common} for p in parsed),
    )
    kinds = {k.value: sum(1 for p in parsed if p.kind is k) for k in CodeKind}
    audit.record(
        session,
        actor,
        "trace_codes.attach",
        subject_type="shipment_line",
        subject_id=line.id,
        subject_org_id=line.hospital_id,
        after={"count": len(parsed), "superseded": superseded, "kinds": kinds},
        now=now,
    )
    return Attached(line.id, len(parsed), superseded, kinds)


def report_duplicates(session: Session, duplicates: Sequence[Duplicate], *, now: datetime) -> int:
    """Raise (or refresh) one `duplicate_trace_code` warning per code, in the caller's
    transaction: subject the code, party the distributor that delivered it the second time,
    evidence both shipment lines. Returns how many warnings were new."""
    if not duplicates:
        return 0
    regions = dict(
        session.execute(
            select(Organization.id, Organization.region_code).where(
                Organization.id.in_({d.hospital_id for d in duplicates[:MAX_WARNINGS]})
            )
        ).all()
    )
    new = 0
    for d in duplicates[:MAX_WARNINGS]:
        finding = Finding(
            subject_kind="trace_code",
            subject_id=None,
            org_id=d.distributor_id,
            region_code=regions.get(d.hospital_id),
            severity=Severity.HIGH,
            value=d.code,
            records=[("shipment_line", d.other_line_id), ("shipment_line", d.line_id)],
            facts={"code": d.code, "attempted_line_id": d.line_id, "live_line_id": d.other_line_id},
            key=f"trace_code:{d.code}",
        )
        if raise_finding(session, DUPLICATE_TRACE_CODE, finding, now=now) is not None:
            new += 1
    return new
