"""At receipt the hospital's scan is matched to the codes shipped on the line; a return releases
the returned packs' codes.

Match: missing = shipped, not scanned; extra = scanned, not shipped on this line; foreign = extra
codes that are live on another shipment line (someone else's pack). Which codes stay:
- everything accepted: every shipped code is kept (missing ones are reported, not refused: the
  pack was accepted, its label may just not have scanned);
- everything rejected: every shipped code is released (state rejected);
- part rejected: only the scan says which packs were kept, so a scan is required and the shipped
  codes in it must number exactly the accepted quantity; the others are released.
A line that carries no codes (shipped before codes were attached) and no scan: nothing to match.

A return names the codes of the returned packs (they must be kept codes of the receipt's line,
as many as the quantity returned) when the line carries codes; they are released (state returned)
and may ship again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.actors import Actor
from core.errors import ValidationFailed
from ledger.models import ReceiptLine, ShipmentLine
from ledger.trace.codes import MAX_LISTED, chunks, listed, parse_all
from ledger.trace.models import TraceCode, TraceCodeState, TraceMatch
from ledger.trace.states import TRACE_CODE

T = TraceCodeState


def _codes_of(session: Session, line_id: int, state: TraceCodeState) -> set[str]:
    return set(
        session.scalars(
            select(TraceCode.code).where(TraceCode.shipment_line_id == line_id, TraceCode.state == state)
        )
    )


def _move(
    session: Session,
    line_id: int,
    source: TraceCodeState,
    target: TraceCodeState,
    *,
    now: datetime,
    codes: Sequence[str] | None = None,
) -> int:
    """Move the line's codes in `source` (all, or those in `codes`) to `target`, set-based."""
    TRACE_CODE.check(source, target)
    values: dict[str, object] = {"state": target}
    if target in (T.KEPT, T.REJECTED):
        values["matched_at"] = now
    if target not in (T.IN_TRANSIT, T.KEPT):
        values.update(live_code=None, released_at=now)
    base = update(TraceCode).where(TraceCode.shipment_line_id == line_id, TraceCode.state == source)
    base = base.values(**values).execution_options(synchronize_session=False)
    if codes is None:
        return session.execute(base).rowcount
    return sum(session.execute(base.where(TraceCode.code.in_(chunk))).rowcount for chunk in chunks(codes))


def match_receipt(
    session: Session,
    actor: Actor,
    line: ShipmentLine,
    receipt: ReceiptLine,
    scanned: Sequence[str] | None,
    *,
    now: datetime,
) -> TraceMatch | None:
    """Match the scan (None: no scan sent) against the line's codes, move them, store the result."""
    shipped = _codes_of(session, line.id, T.IN_TRANSIT)
    if not shipped and scanned is None:
        return None
    field = "scanned_codes"
    scan = {p.code for p in parse_all(scanned or [], field=field)}
    matched = scan & shipped
    missing = sorted(shipped - scan) if scanned is not None else []
    unknown = sorted(scan - shipped)
    foreign: set[str] = set()
    for chunk in chunks(unknown):
        foreign.update(
            session.scalars(
                select(TraceCode.code).where(
                    TraceCode.live_code.in_(chunk), TraceCode.shipment_line_id != line.id
                )
            )
        )
    extra = [c for c in unknown if c not in foreign]
    accepted, rejected = receipt.accepted_quantity, receipt.rejected_quantity
    if shipped and accepted and rejected:
        if scanned is None:
            raise ValidationFailed(
                fields={
                    field: [
                        "部分拒收时须上传验收包装的追溯码 (a partial rejection needs the kept packs' scan)"
                    ]
                }
            )
        if len(matched) != accepted:
            raise ValidationFailed(
                fields={
                    field: [
                        f"扫描到的本明细追溯码 {len(matched)} 个，须等于验收数 {accepted} "
                        f"({len(matched)} shipped codes scanned; must equal the {accepted} accepted)"
                    ]
                }
            )
    if not shipped:
        kept = released = 0
    elif not rejected:
        kept, released = _move(session, line.id, T.IN_TRANSIT, T.KEPT, now=now), 0
    elif not accepted:
        kept, released = 0, _move(session, line.id, T.IN_TRANSIT, T.REJECTED, now=now)
    else:
        kept = _move(session, line.id, T.IN_TRANSIT, T.KEPT, now=now, codes=sorted(matched))
        released = _move(session, line.id, T.IN_TRANSIT, T.REJECTED, now=now)
    result = TraceMatch(
        shipment_line_id=line.id,
        receipt_line_id=receipt.id,
        hospital_id=line.hospital_id,
        scanned=scanned is not None,
        shipped_count=len(shipped),
        scanned_count=len(scan),
        matched_count=len(matched),
        kept_count=kept,
        released_count=released,
        missing_count=len(missing),
        extra_count=len(extra),
        foreign_count=len(foreign),
        listed={
            "missing": missing[:MAX_LISTED],
            "extra": extra[:MAX_LISTED],
            "foreign": sorted(foreign)[:MAX_LISTED],
        },
        matched_at=now,
        matched_by=actor.user_id,
    )
    session.add(result)
    session.flush()
    return result


def release_returned(
    session: Session, receipt: ReceiptLine, *, quantity: int, codes: Sequence[str] | None, now: datetime
) -> int:
    """Release the codes of `quantity` returned packs of the receipt's line (see the module)."""
    field = "trace_codes"
    kept = _codes_of(session, receipt.shipment_line_id, T.KEPT)
    if not kept and not codes:
        return 0
    if codes is None:
        raise ValidationFailed(
            fields={field: ["该明细带有追溯码，退货须列出退回包装的追溯码 (name the returned packs' codes)"]}
        )
    named = [p.code for p in parse_all(codes, field=field)]
    if len(named) != quantity:
        raise ValidationFailed(
            fields={field: [f"须为 {quantity} 个，收到 {len(named)} 个 (one code per returned pack)"]}
        )
    unknown = [c for c in named if c not in kept]
    if unknown:
        raise ValidationFailed(
            fields={field: listed(unknown, len(unknown), "非本验收在库的追溯码 (not kept on this receipt)")}
        )
    return _move(session, receipt.shipment_line_id, T.KEPT, T.RETURNED, now=now, codes=named)
