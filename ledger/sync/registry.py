"""What a sync collection is, and the one registry of them.

Adding a collection (e.g. trace codes, first invoices, item-code mappings) is: give its model the
`core.change_stamps.ChangeStamped` mixin, install the trigger in a migration
(`change_stamps.install(table, dialect)`, and add the table to the stamp check in
tests/sync/test_stamps.py), then one `register(Collection(...))` call in ledger/sync/collections.py
naming the table's scoped select (who sees which row) and its serializer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema
from sqlalchemy import Select
from sqlalchemy.orm import Session

from core.actors import Actor, OrgKind
from core.errors import NotFound

Dump = Callable[[Session, Actor, Sequence[Any]], list[dict[str, Any]]]


def schema_dump(schema: Schema) -> Dump:
    """A serializer that dumps each row with `schema` (the schema the regular GET uses)."""

    def dump(_session: Session, _actor: Actor, rows: Sequence[Any]) -> list[dict[str, Any]]:
        return list(schema.dump(rows, many=True))

    return dump


@dataclass(frozen=True)
class Collection:
    #: URL segment and cursor name, e.g. "order_lines".
    name: str
    label: str  #: Chinese name shown in the list of collections
    #: A ChangeStamped model: one row = one entity of the collection.
    model: type[Any]
    #: The rows an actor may see: the same scoped select the regular GET endpoints use.
    visible: Callable[[Actor], Select[Any]]
    dump: Dump
    #: Organization kinds that mirror this collection (the bureau always may).
    kinds: frozenset[OrgKind] = frozenset({OrgKind.HOSPITAL, OrgKind.DISTRIBUTOR, OrgKind.MANUFACTURER})

    def open_to(self, actor: Actor) -> bool:
        return actor.is_bureau or actor.org_kind in self.kinds


REGISTRY: dict[str, Collection] = {}


def register(collection: Collection) -> Collection:
    if collection.name in REGISTRY:
        raise ValueError(f"sync collection {collection.name!r} registered twice")
    REGISTRY[collection.name] = collection
    return collection


def collections_for(actor: Actor) -> list[Collection]:
    """The collections the actor's system may mirror, in registration order."""
    return [c for c in REGISTRY.values() if c.open_to(actor)]


def collection_for(actor: Actor, name: str) -> Collection:
    """One collection by name; unknown, or not one the actor's kind mirrors: NotFound."""
    found = REGISTRY.get(name)
    if found is None or not found.open_to(actor):
        raise NotFound(f"没有同步集合 {name} (no such sync collection)")
    return found
