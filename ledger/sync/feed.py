"""Changes since a cursor: one bounded page of the current representation of every row of a
collection that the caller may see and that changed after the cursor.

Order and completeness. Every row carries the (xid, seq) of its last write (core/change_stamps.py).
A page is the caller's scoped select, restricted to rows after the cursor, ordered by (xid, seq):

- PostgreSQL: only rows whose xid is below `pg_snapshot_xmin(pg_current_snapshot())`, computed in
  the same statement (so from the same snapshot). Every transaction below that xmin has ended,
  and every transaction that writes later gets a larger xid, so no row can ever appear behind the
  cursor: a transaction that commits "out of order" (a lower id committing after a higher one was
  read) is simply not returned until it and everything before it have ended.
- SQLite: writers are serialised (app/db.py begins every transaction IMMEDIATE), so the per-table
  sequence is already in commit order; xid is 0.

Each row appears once per page with its current state; a row written again after it was read
gets a larger stamp and comes again (a new version), never the same version twice.

One exception, for a reader inside a writing transaction (the test suite's outer transaction):
rows stamped by the reader's own transaction are visible to it. A sync request writes no
stamped row, so in service this admits nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Text, cast, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session

from core.actors import Actor
from ledger.sync import cursor as cursors
from ledger.sync.registry import collection_for

#: Rows per page: default and the most a caller may ask for.
DEFAULT_LIMIT = 200
MAX_LIMIT = 1000


@dataclass(frozen=True)
class Change:
    id: int
    version: str  #: "xid.seq" of the write this representation reflects
    data: dict[str, Any]


@dataclass(frozen=True)
class Page:
    collection: str
    items: list[Change]
    next_cursor: str
    has_more: bool


def _xid8_as_bigint(value: Any) -> Any:
    return cast(cast(value, Text), BigInteger)


def changes_since(
    session: Session, actor: Actor, name: str, cursor: str | None, *, limit: int = DEFAULT_LIMIT
) -> Page:
    """The next page of a collection's changes visible to the actor, after `cursor`."""
    collection = collection_for(actor, name)
    position = cursors.decode(name, cursor)
    model = collection.model
    after = tuple_(model.sync_xid, model.sync_seq) > tuple_(literal(position.xid), literal(position.seq))
    stmt = collection.visible(actor).where(after)
    if session.get_bind().dialect.name == "postgresql":
        horizon = select(_xid8_as_bigint(func.pg_snapshot_xmin(func.pg_current_snapshot())))
        own = select(_xid8_as_bigint(func.pg_current_xact_id_if_assigned()))
        stmt = stmt.where(
            or_(model.sync_xid < horizon.scalar_subquery(), model.sync_xid == own.scalar_subquery())
        )
    stmt = (
        stmt.add_columns(model.sync_xid, model.sync_seq)
        .order_by(model.sync_xid, model.sync_seq)
        .limit(limit + 1)
        .execution_options(populate_existing=True)
    )
    rows = session.execute(stmt).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    entities = [row[0] for row in rows]
    dumped = collection.dump(session, actor, entities)
    items = [
        Change(id=entity.id, version=f"{xid}.{seq}", data=data)
        for entity, (_, xid, seq), data in zip(entities, rows, dumped, strict=True)
    ]
    if rows:
        position = cursors.Position(rows[-1][1], rows[-1][2])
    return Page(name, items, cursors.encode(name, position), has_more)
