"""Rebuild a plain PostgreSQL table as one partitioned by month, and back (migration 0029).

Generic on purpose: the live table is read from the catalog at migration time (columns, defaults,
NOT NULL and CHECK constraints through CREATE TABLE ... LIKE; primary and unique keys, indexes,
foreign keys and triggers through pg_get_*def), so columns or keys another migration added before
this one runs are carried as they are.

What changes on the partitioned table, because PostgreSQL requires it:
- the primary key and every unique key get the partition key appended, under their own names;
- a unique key that did not contain the partition key is also kept platform-wide by a side table
  `gu_<constraint>` (its columns as primary key) that row triggers fill, update and empty in the
  writing transaction. A duplicate raises unique_violation naming the original table and
  constraint, so callers (core/integrity.py) see the same conflict as before.
Foreign keys pointing at a converted table could not survive (they would need the partition
key); the conversion refuses such a table rather than drop them silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import Connection, text

from core import clock
from core.partitions import (
    ARCHIVE_SCHEMA,
    SIDE_PREFIX,
    add_months,
    archived,
    create_month,
    key_is_timestamp,
    month_of,
)

_LIKE = " ".join(
    f"INCLUDING {part}"
    for part in ("DEFAULTS", "IDENTITY", "CONSTRAINTS", "GENERATED", "STORAGE", "COMMENTS")
)
#: Column names of a key, in key order, from a constraint's or index's attribute numbers.
_KEY_COLUMNS = (
    "(SELECT array_agg(a.attname ORDER BY k.n) FROM unnest({nums}) WITH ORDINALITY k(num, n) "
    "JOIN pg_attribute a ON a.attrelid = {rel} AND a.attnum = k.num)"
)
_REFERRING = (
    "SELECT conrelid::regclass::text, conname FROM pg_constraint "
    "WHERE contype = 'f' AND confrelid = to_regclass(:t)"
)
_CONSTRAINTS = (
    "SELECT c.conname, c.contype, pg_get_constraintdef(c.oid), "  # noqa: S608 (catalog names, no input)
    + _KEY_COLUMNS.format(nums="c.conkey", rel="c.conrelid")
    + " FROM pg_constraint c WHERE c.conrelid = to_regclass(:t) ORDER BY c.conname"
)
_INDEXES = (
    "SELECT i.relname, pg_get_indexdef(x.indexrelid), x.indisunique, "  # noqa: S608 (catalog names, no input)
    "x.indpred IS NOT NULL OR x.indexprs IS NOT NULL, "
    + _KEY_COLUMNS.format(nums="x.indkey::int2[]", rel="x.indrelid")
    + " FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = to_regclass(:t) "
    "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid "
    "AND c.conrelid = x.indrelid) ORDER BY i.relname"
)


@dataclass
class Shape:
    """What the table carries beyond its columns, as DDL to replay on the rebuilt table."""

    primary: tuple[str, list[str]] | None = None
    uniques: list[tuple[str, list[str]]] = field(default_factory=list)
    unique_indexes: list[tuple[str, list[str]]] = field(default_factory=list)
    indexes: list[str] = field(default_factory=list)
    foreign_keys: list[tuple[str, str]] = field(default_factory=list)
    triggers: list[tuple[str, str]] = field(default_factory=list)
    sequences: list[tuple[str, str, str]] = field(default_factory=list)  # (sequence, column, deptype)


def capture(conn: Connection, table: str) -> Shape:
    shape, rel = Shape(), {"t": f"public.{table}"}
    refs = conn.execute(text(_REFERRING), rel).all()
    if refs:
        raise RuntimeError(
            f"{table} is referenced by {refs}: a foreign key into partitioned history must name "
            "(id, partition key); change it before partitioning"
        )
    for name, kind, definition, cols in conn.execute(text(_CONSTRAINTS), rel):
        if kind == "p":
            shape.primary = (name, list(cols))
        elif kind == "u":
            shape.uniques.append((name, list(cols)))
        elif kind == "f":
            shape.foreign_keys.append((name, definition))
        elif kind == "x":
            raise RuntimeError(f"{table}.{name}: exclusion constraints are not carried")
    for name, definition, unique, partial, cols in conn.execute(text(_INDEXES), rel):
        if unique and partial:
            raise RuntimeError(f"{table}.{name}: a partial or expression unique index is not carried")
        if unique:
            shape.unique_indexes.append((name, list(cols)))
        else:
            # A partitioned table's index prints as ON ONLY; replayed, it must cover the partitions.
            shape.indexes.append(definition.replace(" ON ONLY ", " ON "))
    shape.triggers = [
        (name, definition)
        for name, definition in conn.execute(
            text(
                "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger "
                "WHERE tgrelid = to_regclass(:t) AND NOT tgisinternal ORDER BY tgname"
            ),
            rel,
        )
    ]
    shape.sequences = [
        (seq, col, dep)
        for seq, col, dep in conn.execute(
            text(
                "SELECT s.oid::regclass::text, a.attname, d.deptype FROM pg_depend d "
                "JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' "
                "JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid "
                "WHERE d.refobjid = to_regclass(:t) AND d.deptype IN ('a', 'i')"
            ),
            rel,
        )
    ]
    return shape


def _side_ddl(table: str, constraint: str, cols: list[str]) -> list[str]:
    """A side table holding each value of the key once, and the trigger that keeps it."""
    side = f"{SIDE_PREFIX}{constraint}"
    listed = ", ".join(cols)
    not_null = lambda rec: " AND ".join(f"{rec}.{c} IS NOT NULL" for c in cols)  # noqa: E731
    values = lambda rec: ", ".join(f"{rec}.{c}" for c in cols)  # noqa: E731
    same = " AND ".join(f"{c} = OLD.{c}" for c in cols)
    changed = " OR ".join(f"NEW.{c} IS DISTINCT FROM OLD.{c}" for c in cols)
    return [
        f"CREATE TABLE {side} AS SELECT {listed} FROM {table} WITH NO DATA",  # noqa: S608 (catalog names, no input)
        f"ALTER TABLE {side} ADD PRIMARY KEY ({listed})",
        f"INSERT INTO {side} SELECT DISTINCT {listed} FROM {table} WHERE {not_null(table)}",  # noqa: S608
        f"""CREATE FUNCTION {side}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND {not_null("OLD")} AND (TG_OP = 'DELETE' OR {changed}) THEN
        DELETE FROM {side} WHERE {same};
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND {not_null("NEW")} AND (TG_OP = 'INSERT' OR {changed}) THEN
        BEGIN
            INSERT INTO {side} ({listed}) VALUES ({values("NEW")});
        EXCEPTION WHEN unique_violation THEN
            RAISE unique_violation USING TABLE = '{table}', CONSTRAINT = '{constraint}',
                MESSAGE = 'duplicate key value violates unique constraint "{constraint}"',
                DETAIL = format('Key ({listed})=(%s) already exists.', concat_ws(', ', {values("NEW")}));
        END;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$""",  # noqa: S608
        # BEFORE: a duplicate is refused here, under the original names, before the partition's
        # own (key, partition key) index could refuse it under a partition's name.
        f"CREATE TRIGGER {side} BEFORE INSERT OR UPDATE OR DELETE ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION {side}()",
    ]


def _months_to_create(conn: Connection, table: str, key: str, is_ts: bool, ahead: int) -> list[date]:
    this_month = clock.month_start(clock.business_date(clock.now()))
    with_data = conn.execute(text(f"SELECT DISTINCT {month_of(key, is_ts)} FROM {table}")).scalars()  # noqa: S608
    return sorted(set(with_data) | {add_months(this_month, n) for n in range(ahead + 1)})


def _rebuild(conn: Connection, table: str, partition_by: str | None) -> None:
    """Rename the table away, create its replacement (partitioned or plain), copy the rows."""
    old = f"{table}__old"
    conn.execute(text(f"ALTER TABLE {table} RENAME TO {old}"))
    tail = f" PARTITION BY RANGE ({partition_by})" if partition_by else ""
    conn.execute(text(f"CREATE TABLE {table} (LIKE {old} {_LIKE}){tail}"))


def _finish(conn: Connection, table: str, shape: Shape) -> None:
    for seq, col, dep in shape.sequences:
        if dep == "a":  # serial: keep the sequence (its next value) and hand it to the new table
            conn.execute(text(f"ALTER SEQUENCE {seq} OWNED BY {table}.{col}"))
        else:  # identity: LIKE made a fresh one; continue after the highest id
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', '{col}'), "  # noqa: S608 (catalog names, no input)
                    f"coalesce((SELECT max({col}) FROM {table}), 0) + 1, false)"
                )
            )
    conn.execute(text(f"DROP TABLE {table}__old"))


def to_partitioned(conn: Connection, table: str, key: str, *, months_ahead: int = 3) -> None:
    """Rebuild `table` partitioned by month on `key` (rows, keys, indexes, triggers carried)."""
    shape = capture(conn, table)
    is_ts = key_is_timestamp(conn, table, key)
    months = _months_to_create(conn, table, key, is_ts, months_ahead)
    _rebuild(conn, table, key)
    conn.execute(text(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT"))
    for month in months:
        create_month(conn, table, key, month, is_ts)
    conn.execute(text(f"INSERT INTO {table} SELECT * FROM {table}__old"))  # noqa: S608
    _finish(conn, table, shape)
    widen = lambda cols: cols if key in cols else [*cols, key]  # noqa: E731
    if shape.primary:
        name, cols = shape.primary
        conn.execute(
            text(f"ALTER TABLE {table} ADD CONSTRAINT {name} PRIMARY KEY ({', '.join(widen(cols))})")
        )
    for name, cols in shape.uniques:
        conn.execute(text(f"ALTER TABLE {table} ADD CONSTRAINT {name} UNIQUE ({', '.join(widen(cols))})"))
    for name, cols in shape.unique_indexes:
        conn.execute(text(f"CREATE UNIQUE INDEX {name} ON {table} ({', '.join(widen(cols))})"))
    for name, cols in shape.uniques + shape.unique_indexes:
        if key not in cols:
            for ddl in _side_ddl(table, name, cols):
                conn.execute(text(ddl))
    for ddl in shape.indexes:
        conn.execute(text(ddl))
    for name, definition in shape.foreign_keys:
        conn.execute(text(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"))
    for _, definition in shape.triggers:
        conn.execute(text(definition))


def to_plain(conn: Connection, table: str, key: str) -> None:
    """Undo `to_partitioned`: one plain table again, archived months included, keys as before."""
    shape = capture(conn, table)
    sides = {name for name, _ in shape.uniques + shape.unique_indexes} & {
        row[0][len(SIDE_PREFIX) :]
        for row in conn.execute(
            text("SELECT relname FROM pg_class WHERE relkind = 'r' AND relname LIKE :p"),
            {"p": f"{SIDE_PREFIX}%"},
        )
    }
    for side in sorted(sides):
        conn.execute(text(f"DROP TRIGGER {SIDE_PREFIX}{side} ON {table}"))
        conn.execute(text(f"DROP TABLE {SIDE_PREFIX}{side}"))
        conn.execute(text(f"DROP FUNCTION {SIDE_PREFIX}{side}()"))
    shape.triggers = [(n, d) for n, d in shape.triggers if n.removeprefix(SIDE_PREFIX) not in sides]
    months = archived(conn, table)
    _rebuild(conn, table, None)
    conn.execute(text(f"INSERT INTO {table} SELECT * FROM {table}__old"))  # noqa: S608
    for name in months:
        conn.execute(text(f"INSERT INTO {table} SELECT * FROM {ARCHIVE_SCHEMA}.{name}"))  # noqa: S608
        conn.execute(text(f"DROP TABLE {ARCHIVE_SCHEMA}.{name}"))
    _finish(conn, table, shape)
    # The partition key was appended to the primary key and to the keys that have a side table.
    if shape.primary:
        name, cols = shape.primary
        narrowed = cols[:-1] if len(cols) > 1 and cols[-1] == key else cols
        conn.execute(text(f"ALTER TABLE {table} ADD CONSTRAINT {name} PRIMARY KEY ({', '.join(narrowed)})"))
    for name, cols in shape.uniques:
        cols = cols[:-1] if name in sides else cols
        conn.execute(text(f"ALTER TABLE {table} ADD CONSTRAINT {name} UNIQUE ({', '.join(cols)})"))
    for name, cols in shape.unique_indexes:
        cols = cols[:-1] if name in sides else cols
        conn.execute(text(f"CREATE UNIQUE INDEX {name} ON {table} ({', '.join(cols)})"))
    for ddl in shape.indexes:
        conn.execute(text(ddl))
    for name, definition in shape.foreign_keys:
        conn.execute(text(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"))
    for _, definition in shape.triggers:
        conn.execute(text(definition))
