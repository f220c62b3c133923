"""Reading reconciliation: the lines of a slice with their status and difference (statements,
drill-down, pages), their count, and totals per status aggregated by the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from core.actors import Actor
from ledger.reconcile.facts import DEFAULTS, Options, Slice, without_jit
from ledger.reconcile.rules import LABELS, PRECEDENCE, Status, classified, judged_at


@dataclass(frozen=True)
class LineResult:
    order_line_id: int
    order_id: int
    hospital_id: int
    distributor_id: int
    manufacturer_id: int
    region_code: str
    product_id: int
    ordered_on: date
    quantity: int
    cancelled_quantity: int
    pack_price_fen: int
    amount_fen: int
    shipped: int
    accepted: int
    rejected: int
    returned: int
    inv_qty: int
    inv_fen: int
    paid_fen: int
    status: Status
    diff_qty: int
    diff_fen: int
    #: Every rule the line breaks, in precedence order (the first is `status`).
    flags: tuple[Status, ...] = ()

    @property
    def label(self) -> str:
        return LABELS[self.status]


_RESULT_FIELDS = [
    n for n in LineResult.__dataclass_fields__ if n not in ("status", "flags", "diff_qty", "diff_fen")
]


#: The line's own columns a list may sort by (names of the classified subquery).
SORTABLE = frozenset(
    {"order_line_id", "ordered_on", "quantity", "amount_fen", "shipped", "accepted", "inv_qty", "paid_fen"}
    | {"status", "diff_qty", "diff_fen"}
)


def _plain(value: Any) -> Any:
    """PostgreSQL sums bigints as numeric (Decimal); every sum here is whole packs or fen."""
    return int(value) if isinstance(value, Decimal) else value


def _line_select(actor: Actor, where: Slice, status: Status | None) -> tuple[Select[Any], Any]:
    c = classified(actor, where, with_flags=True).subquery("c")
    stmt = select(c)
    if status is not None:
        stmt = stmt.where(c.c.status == status.value)
    return stmt, c


def reconcile_lines(
    session: Session,
    actor: Actor,
    where: Slice,
    *,
    as_of: datetime,
    options: Options = DEFAULTS,
    status: Status | None = None,
    limit: int | None = None,
    offset: int = 0,
    order_by: tuple[str, bool] | None = None,
) -> list[LineResult]:
    """The order lines of the slice with their status, in order-line order, optionally one
    status and one page (statements and drill-down; province totals aggregate in SQL, see
    `summarize` and `run_reconciliation`). `order_by` = (one of SORTABLE, descending) sorts the
    whole slice in SQL before paging, order-line order breaking ties."""
    without_jit(session)
    stmt, c = _line_select(actor, where, status)
    precedence = PRECEDENCE
    results = []
    order = [c.c.order_line_id]
    if order_by is not None:
        name, descending = order_by
        if name not in SORTABLE:
            raise ValueError(f"not a sortable reconciliation column: {name!r}")
        order.insert(0, c.c[name].desc() if descending else c.c[name].asc())
    page = stmt.order_by(*order).offset(offset).limit(limit)
    for row in session.execute(page, judged_at(as_of, options)).mappings():
        results.append(
            LineResult(
                **{name: _plain(row[name]) for name in _RESULT_FIELDS},
                status=Status(row["status"]),
                diff_qty=int(row["diff_qty"]),
                diff_fen=int(row["diff_fen"]),
                flags=tuple(s for s in precedence if row[f"flag_{s.value}"]),
            )
        )
    return results


def count_lines(
    session: Session,
    actor: Actor,
    where: Slice,
    *,
    as_of: datetime,
    options: Options = DEFAULTS,
    status: Status | None = None,
) -> int:
    stmt, _ = _line_select(actor, where, status)
    return int(
        session.scalar(select(func.count()).select_from(stmt.subquery()), judged_at(as_of, options)) or 0
    )


@dataclass(frozen=True)
class StatusSummary:
    status: Status
    lines: int
    order_amount_fen: int
    diff_qty: int
    diff_fen: int

    @property
    def label(self) -> str:
        return LABELS[self.status]


def summarize(
    session: Session, actor: Actor, where: Slice, *, as_of: datetime, options: Options = DEFAULTS
) -> list[StatusSummary]:
    """Lines, ordered amount and differences per status, aggregated by the database."""
    without_jit(session)
    c = classified(actor, where).subquery("c")
    rows = session.execute(
        select(
            c.c.status,
            func.count(),
            func.sum(c.c.amount_fen),
            func.sum(c.c.diff_qty),
            func.sum(c.c.diff_fen),
        ).group_by(c.c.status),
        judged_at(as_of, options),
    ).all()
    by_status = {Status(r[0]): r for r in rows}
    return [
        StatusSummary(s, int(r[1]), int(r[2] or 0), int(r[3] or 0), int(r[4] or 0))
        for s in Status
        if (r := by_status.get(s)) is not None
    ]
