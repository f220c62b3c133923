"""One rule for "whose row is this": a ledger row is visible to the organizations that are a
party to it (hospital, distributor, manufacturer) and to the bureau."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, false

from core.actors import Actor, OrgKind

T = TypeVar("T", bound=tuple[Any, ...])


def party_scope(
    stmt: Select[T],
    actor: Actor,
    *,
    hospital: ColumnElement[Any] | None = None,
    distributor: ColumnElement[Any] | None = None,
    manufacturer: ColumnElement[Any] | None = None,
) -> Select[T]:
    """Restrict `stmt` to rows where the actor's organization fills its party column."""
    if actor.is_bureau:
        return stmt
    column = {
        OrgKind.HOSPITAL: hospital,
        OrgKind.DISTRIBUTOR: distributor,
        OrgKind.MANUFACTURER: manufacturer,
    }.get(
        actor.org_kind  # type: ignore[arg-type]
    )
    return stmt.where(false()) if column is None else stmt.where(column == actor.org_id)
