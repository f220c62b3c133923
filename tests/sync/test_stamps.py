"""Every table a sync collection reads carries its stamp trigger at head. A later migration that
rebuilds a table on SQLite (batch mode "recreate") drops its triggers: this test catches that."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from ledger.sync import collections as _registered  # noqa: F401  (registers the collections)
from ledger.sync.registry import REGISTRY


def test_every_collection_table_has_its_stamp_trigger(session: Session, dialect: str) -> None:
    if dialect == "postgresql":
        found = set(session.scalars(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal")))
        expected = {f"{c.model.__tablename__}_sync_stamp" for c in REGISTRY.values()}
    else:
        found = set(session.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")))
        expected = {
            f"{c.model.__tablename__}_sync_{when}" for c in REGISTRY.values() for when in ("insert", "update")
        }
    assert expected - found == set()
