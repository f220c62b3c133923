"""The partition rebuild reads the live table (core/partition_convert.py): a column and a key that
another migration added before it (audit lanes: `lane`, unique (lane, seq)) are carried, and the
way back restores the plain table as it was."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, create_engine, text
from sqlalchemy.exc import IntegrityError

from core.partition_convert import to_partitioned, to_plain
from tests.conftest import Databases

SETUP = [
    "CREATE TABLE lanes (id serial PRIMARY KEY)",
    "CREATE TABLE events (id bigserial CONSTRAINT pk_events PRIMARY KEY, "
    "lane int NOT NULL DEFAULT 0 CONSTRAINT fk_events_lane_lanes REFERENCES lanes(id), "
    "seq bigint NOT NULL, at timestamptz NOT NULL, note text CONSTRAINT ck_events_note CHECK (note <> ''))",
    "ALTER TABLE events ADD CONSTRAINT uq_events_lane_seq UNIQUE (lane, seq)",
    "CREATE INDEX ix_events_at ON events (at)",
    "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'append-only'; END $$",
    "CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events "
    "FOR EACH ROW EXECUTE FUNCTION refuse()",
    "INSERT INTO lanes DEFAULT VALUES",
    "INSERT INTO lanes DEFAULT VALUES",
    "INSERT INTO events (lane, seq, at, note) VALUES (1, 1, '2025-03-05 10:00+08', 'a'), (2, 1, now(), 'b')",
]


def _shape(conn: Connection) -> dict[str, object]:
    def rows(sql: str) -> list[tuple[object, ...]]:
        return [tuple(r) for r in conn.execute(text(sql))]

    return {
        "kind": conn.execute(text("SELECT relkind FROM pg_class WHERE relname = 'events'")).scalar(),
        "columns": rows(
            "SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns "
            "WHERE table_name = 'events' ORDER BY ordinal_position"
        ),
        "constraints": rows(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'events'::regclass ORDER BY conname"
        ),
        "triggers": rows(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'events'::regclass AND NOT tgisinternal ORDER BY 1"
        ),
        "rows": rows("SELECT id, lane, seq, note FROM events ORDER BY id"),
    }


@pytest.mark.postgresql_only
def test_a_table_changed_by_another_migration_is_carried_there_and_back(databases: Databases) -> None:
    engine = create_engine(databases.new())
    try:
        with engine.begin() as conn:
            for ddl in SETUP:
                conn.execute(text(ddl))
            before = _shape(conn)
            to_partitioned(conn, "events", "at", months_ahead=1)
            after = _shape(conn)
            assert after["kind"] == "p"
            assert after["columns"] == before["columns"]  # lane and its default carried
            assert after["rows"] == before["rows"]
            assert ("uq_events_lane_seq", "UNIQUE (lane, seq, at)") in after["constraints"]  # type: ignore[operator]
            assert ("pk_events", "PRIMARY KEY (id, at)") in after["constraints"]  # type: ignore[operator]
            assert ("fk_events_lane_lanes", "FOREIGN KEY (lane) REFERENCES lanes(id)") in after["constraints"]  # type: ignore[operator]
            assert after["triggers"] == [("events_append_only",), ("gu_uq_events_lane_seq",)]
            parts = conn.execute(
                text("SELECT relname FROM pg_inherits JOIN pg_class ON oid = inhrelid ORDER BY 1")
            ).scalars()
            assert "events_p202503" in list(parts)
            # The sequence carries on; (lane, seq) stays unique across months; rows stay append-only.
            new_id = conn.execute(
                text("INSERT INTO events (lane, seq, at) VALUES (1, 2, now()) RETURNING id")
            ).scalar()
            assert new_id == 3
            with pytest.raises(IntegrityError, match="uq_events_lane_seq"), conn.begin_nested():
                conn.execute(text("INSERT INTO events (lane, seq, at) VALUES (1, 1, now())"))
            with pytest.raises(Exception, match="append-only"), conn.begin_nested():
                conn.execute(text("UPDATE events SET note = 'x' WHERE id = 1"))

            carried = _shape(conn)["rows"]
            # An archived month (flask partitions maintain) comes back with the rest.
            conn.execute(text("ALTER TABLE events DETACH PARTITION events_p202503"))
            conn.execute(text("CREATE SCHEMA archive"))
            conn.execute(text("ALTER TABLE events_p202503 SET SCHEMA archive"))

            to_plain(conn, "events", "at")
            back = _shape(conn)
            assert back["rows"] == carried
            assert back["kind"] == "r"
            assert back["columns"] == before["columns"]
            assert back["constraints"] == before["constraints"]
            assert back["triggers"] == before["triggers"]
            assert (
                conn.execute(text("SELECT count(*) FROM pg_class WHERE relname LIKE 'gu\\_%'")).scalar() == 0
            )
    finally:
        engine.dispose()
