"""`verify_chain`: every lane's chain and every daily root, recomputed from the stored rows.

A lane is intact when its events are numbered 1, 2, … without gaps, each links to the hash of
the one before, each hash is the digest of its content, and the lane's head names the last
event. A daily root is intact when its hash is the digest of its content, it links to the
previous day's root, no lane went backwards since that root, and every head it names is the hash
of the event at that lane and position today. Events are read in keyset pages of plain rows
(nothing enters the caller's identity map).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from core import crypto_suites
from core.audit import GENESIS_HASH, AuditDailyRoot, AuditEvent, ChainReport, _digest, lane_heads
from core.audit_roots import root_digest

DELETED = "events after the last stored one were deleted"


def _events(session: Session, batch: int = 5000) -> Iterator[AuditEvent]:
    table = AuditEvent.__table__
    position = (-1, 0)
    while True:
        rows = session.execute(
            select(table)
            .where(tuple_(table.c.lane, table.c.seq) > tuple_(*position))
            .order_by(table.c.lane, table.c.seq)
            .limit(batch)
        ).all()
        if not rows:
            return
        for row in rows:
            yield AuditEvent(**row._mapping)  # transient: never added to the session
        position = (rows[-1].lane, rows[-1].seq)


def verify(session: Session) -> ChainReport:
    """Recompute every lane and every daily root; report the first problem found."""
    heads = {lane: (seq, last_hash) for lane, seq, last_hash in lane_heads(session)}
    roots = session.scalars(select(AuditDailyRoot).order_by(AuditDailyRoot.day)).all()
    wanted = {(h[0], h[1]) for root in roots for h in root.heads if h[1]}
    found: dict[tuple[int, int], str] = {}
    checked, lane, expected, prev_hash = 0, None, 1, GENESIS_HASH
    seen: set[int] = set()

    def lane_end() -> ChainReport | None:
        head_seq, head_hash = heads[lane]  # type: ignore[index]
        if head_seq != expected - 1 or head_hash != prev_hash:
            return ChainReport(False, checked, head_seq, DELETED, lane=lane)
        return None

    for event in _events(session):
        if event.lane != lane:
            if lane is not None and (broken := lane_end()):
                return broken
            lane, expected, prev_hash = event.lane, 1, GENESIS_HASH
            seen.add(lane)
            if lane not in heads:
                return ChainReport(False, checked, event.seq, "events in a lane that has no head", lane=lane)
        if event.seq != expected:
            return ChainReport(False, checked, expected, f"missing event seq {expected}", lane=lane)
        if event.prev_hash != prev_hash:
            return ChainReport(False, checked, event.seq, "link to the previous event is broken", lane=lane)
        try:
            intact = _digest(event) == event.hash
        except crypto_suites.UnknownSuite:
            problem = f"unknown cryptographic suite {event.suite!r}"
            return ChainReport(False, checked, event.seq, problem, lane=lane)
        if not intact:
            return ChainReport(
                False, checked, event.seq, "content does not match its hash (edited)", lane=lane
            )
        if (lane, event.seq) in wanted:
            found[(lane, event.seq)] = event.hash
        prev_hash, expected, checked = event.hash, expected + 1, checked + 1
    if lane is not None and (broken := lane_end()):
        return broken
    for empty, (head_seq, head_hash) in heads.items():
        if empty not in seen and (head_seq or head_hash != GENESIS_HASH):
            return ChainReport(False, checked, head_seq, DELETED, lane=empty)
    return _verify_roots(roots, found, checked)


def _verify_roots(
    roots: Sequence[AuditDailyRoot], found: dict[tuple[int, int], str], checked: int
) -> ChainReport:
    prev, reached, count = GENESIS_HASH, dict[int, int](), 0
    for root in roots:

        def bad(problem: str, root: AuditDailyRoot = root, count: int = count) -> ChainReport:
            return ChainReport(False, checked, None, problem, day=root.day, roots=count)

        if root.prev_root_hash != prev:
            return bad("link to the previous daily root is broken")
        try:
            if root_digest(root) != root.root_hash:
                return bad("content does not match its hash (edited)")
        except crypto_suites.UnknownSuite:
            return bad(f"unknown cryptographic suite {root.suite!r}")
        for lane, seq, head_hash in root.heads:
            if seq < reached.get(lane, 0):
                return bad(f"lane {lane} went back from seq {reached[lane]} to {seq}")
            stored = found.get((lane, seq)) if seq else GENESIS_HASH
            if stored != head_hash:
                return bad(f"lane {lane} seq {seq} is not the event the root recorded")
            reached[lane] = seq
        prev, count = root.root_hash, count + 1
    return ChainReport(True, checked, roots=count)
