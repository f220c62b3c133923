"""Migrations: empty → head → one step down → head again, then no drift between models and migrations."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

import migrations.models  # noqa: F401  (complete metadata)
from app.cli import alembic_config
from core.db import Base
from core.partitions import drift_include_object
from tests.conftest import Databases


def test_upgrade_downgrade_upgrade_and_no_drift(databases: Databases) -> None:
    url = databases.new()
    cfg = alembic_config(url)
    command.upgrade(cfg, "head")
    command.downgrade(cfg, "-1")
    command.upgrade(cfg, "head")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            # PostgreSQL partitions the history tables (migration 0027): the filter leaves out
            # exactly the partitions, the global-key side tables and the partition key appended
            # to unique keys (core/partitions.py), nothing else.
            opts = {"compare_type": True, "include_object": drift_include_object}
            diff = compare_metadata(MigrationContext.configure(conn, opts=opts), Base.metadata)
            tables = set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    assert diff == [], f"models and migrations disagree: {diff}"
    assert set(Base.metadata.tables) <= tables


def test_downgrade_to_base_leaves_no_tables(databases: Databases) -> None:
    url = databases.new()
    cfg = alembic_config(url)
    command.upgrade(cfg, "head")
    command.downgrade(cfg, "base")
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    finally:
        engine.dispose()
