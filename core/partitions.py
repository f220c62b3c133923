"""Monthly partitions of the fastest-growing history tables (PostgreSQL only).

Each table in `POLICIES` is range-partitioned by month on the column its period queries filter on
(migration 0029 converts them; core/partition_convert.py). Partitions are named `<table>_pYYYYMM`;
`<table>_default` catches any row whose month has no partition yet, so an insert never fails.
A timestamp key is cut at midnight of the first of the month in the platform's zone
(core/clock.py), a date key at the first of the month.

`maintain` creates the coming months (moving rows that landed in DEFAULT into their own month
first) and archives old months: DETACH PARTITION and move to schema `archive`, where audits can
still read them. Only tables with a retention may be archived, and a month is kept while it holds
a row the table's `blocker` names (a live trace code, a finding of a recent run).

Global uniqueness: PostgreSQL requires every unique key of a partitioned table to contain the
partition key, so the key is appended there, and the original key is kept platform-wide by a
small unpartitioned side table `gu_<constraint>` (one row per key value) that triggers maintain
in the same transaction (core/partition_convert.py). Archiving a month removes its rows' side
entries: archived rows leave the live table and its keys.

Plain SQLAlchemy on a Session: no Flask. On SQLite every function reports that there is nothing
to do.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, UniqueConstraint, text
from sqlalchemy.orm import Session

from core import clock

ARCHIVE_SCHEMA = "archive"
SIDE_PREFIX = "gu_"
#: Catalog reads and DDL run on either (the migration has a Connection, the command a Session).
Executor = Session | Connection
_PARTITION = re.compile(r"^(?P<table>.+)_p(?P<year>\d{4})(?P<month>\d{2})$")


@dataclass(frozen=True)
class Policy:
    table: str
    #: The partition key: the column every period query of the table filters on.
    key: str
    #: Months kept attached before archiving; None: the table is kept whole.
    retention_months: int | None
    #: SQL condition on a partition's rows that keeps the partition from being archived.
    blocker: str | None = None


POLICIES: tuple[Policy, ...] = (
    Policy("audit_events", "at", None),
    Policy("postings", "occurred_on", None),
    Policy(
        "reconciliation_findings",
        "ordered_on",
        12,
        # Findings of old runs only: a run made on or after the cut-off still shows all of its lines.
        "run_id IN (SELECT id FROM reconciliation_runs WHERE created_at >= :cutoff)",
    ),
    Policy("trace_codes", "attached_on", 36, "live_code IS NOT NULL"),
    Policy("idempotency_keys", "created_at", 3),
)
BY_TABLE = {p.table: p for p in POLICIES}


def month_name(table: str, month: date) -> str:
    return f"{table}_p{month.year:04d}{month.month:02d}"


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def bound(month: date, is_timestamp: bool) -> str:
    """A partition bound literal: the month's first day, or its first instant in the zone."""
    if not is_timestamp:
        return f"'{month.isoformat()}'"
    return f"'{clock.local(month).isoformat()}'"


def is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def is_partitioned(session: Executor, table: str) -> bool:
    kind = session.execute(
        text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:t)"), {"t": f"public.{table}"}
    ).scalar()
    return kind == "p"


def key_is_timestamp(session: Executor, table: str, key: str) -> bool:
    type_name = session.execute(
        text(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
            "WHERE attrelid = to_regclass(:t) AND attname = :k"
        ),
        {"t": f"public.{table}", "k": key},
    ).scalar_one()
    return str(type_name).startswith("timestamp")


def month_of(key: str, is_timestamp: bool) -> str:
    """SQL for the first day of a row's month (in the platform's zone for timestamps)."""
    if is_timestamp:
        return f"date_trunc('month', {key} AT TIME ZONE '{clock.zone().key}')::date"
    return f"date_trunc('month', {key})::date"


def create_month(session: Executor, table: str, key: str, month: date, is_timestamp: bool) -> int:
    """Create the month's partition; rows of that month waiting in DEFAULT move into it first.
    Returns how many rows moved."""
    name, lo, hi = (
        month_name(table, month),
        bound(month, is_timestamp),
        bound(add_months(month, 1), is_timestamp),
    )
    default = f"{table}_default"
    where = f"{key} >= {lo} AND {key} < {hi}"
    waiting = session.execute(text(f"SELECT count(*) FROM {default} WHERE {where}")).scalar_one()  # noqa: S608
    if not waiting:
        session.execute(text(f"CREATE TABLE {name} PARTITION OF {table} FOR VALUES FROM ({lo}) TO ({hi})"))
        return 0
    # PostgreSQL refuses a new partition while DEFAULT holds rows of its range: move them to a
    # table of the partition's shape, then attach it. The rows are moved, not changed, so the
    # default partition's row triggers (append-only refusal, change stamps, side keys) stay off.
    session.execute(text(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"))
    session.execute(text(f"INSERT INTO {name} SELECT * FROM {default} WHERE {where}"))  # noqa: S608
    session.execute(text(f"ALTER TABLE {default} DISABLE TRIGGER USER"))
    session.execute(text(f"DELETE FROM {default} WHERE {where}"))  # noqa: S608
    session.execute(text(f"ALTER TABLE {default} ENABLE TRIGGER USER"))
    session.execute(text(f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM ({lo}) TO ({hi})"))
    return int(waiting)


@dataclass(frozen=True)
class PartitionInfo:
    table: str
    name: str
    bounds: str
    rows: int
    month: date | None


def partitions(session: Executor, table: str) -> list[PartitionInfo]:
    """The table's attached partitions, oldest month first, DEFAULT last, with row counts."""
    found = session.execute(
        text(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(:t) ORDER BY c.relname"
        ),
        {"t": f"public.{table}"},
    ).all()
    out = []
    for name, bounds in found:
        rows = session.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()  # noqa: S608
        match = _PARTITION.match(name)
        month = date(int(match["year"]), int(match["month"]), 1) if match else None
        out.append(PartitionInfo(table, name, bounds, int(rows), month))
    return sorted(out, key=lambda p: (p.month is None, p.month or date.min))


def archived(session: Executor, table: str) -> list[str]:
    """Names of the table's partitions moved to the archive schema."""
    names = session.execute(
        text(
            "SELECT tablename FROM pg_tables WHERE schemaname = :s AND tablename LIKE :p ORDER BY tablename"
        ),
        {"s": ARCHIVE_SCHEMA, "p": f"{table}\\_p%"},
    ).scalars()
    return [n for n in names if _PARTITION.match(n) and _PARTITION.match(n)["table"] == table]  # type: ignore[index]


def side_tables(session: Executor, table: str) -> list[tuple[str, list[str]]]:
    """(side table, key columns) of each unique key kept platform-wide for `table`."""
    rows = session.execute(
        text(
            "SELECT t.relname, array_agg(a.attname ORDER BY a.attnum) FROM pg_class t "
            "JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped "
            "WHERE t.relkind = 'r' AND t.relnamespace = 'public'::regnamespace AND t.relname IN "
            "(SELECT :prefix || conname FROM pg_constraint "
            "WHERE conrelid = to_regclass(:t) AND contype = 'u') "
            "GROUP BY t.relname ORDER BY t.relname"
        ),
        {"t": f"public.{table}", "prefix": SIDE_PREFIX},
    ).all()
    return [(name, list(cols)) for name, cols in rows]


@dataclass
class Report:
    lines: list[str]

    def say(self, line: str) -> None:
        self.lines.append(line)


def maintain(
    session: Session,
    *,
    today: date | None = None,
    months_ahead: int = 3,
    archive_before: date | None = None,
    retention: Mapping[str, int | None] | None = None,
) -> Report:
    """Create partitions for this month and `months_ahead` more (and for any month that has rows
    waiting in DEFAULT), then archive months before the cut-off where retention allows.

    The cut-off is `archive_before` (a month) for every table with a retention, else each table's
    own `retention_months` before this month. `retention` overrides a table's months (None: keep)."""
    report = Report([])
    if not is_postgresql(session):
        report.say("SQLite: history is not partitioned; nothing to do")
        return report
    this_month = clock.month_start(today or clock.business_date(clock.now()))
    for policy in POLICIES:
        if not is_partitioned(session, policy.table):
            report.say(f"{policy.table}: not partitioned; skipped")
            continue
        _create_ahead(session, policy, this_month, months_ahead, report)
        months = (retention or {}).get(policy.table, policy.retention_months)
        if months is None:
            continue
        cutoff = clock.month_start(archive_before) if archive_before else add_months(this_month, -months)
        _archive(session, policy, cutoff, report)
    return report


def _create_ahead(session: Executor, policy: Policy, this_month: date, ahead: int, report: Report) -> None:
    table, key = policy.table, policy.key
    is_ts = key_is_timestamp(session, table, key)
    have = {p.month for p in partitions(session, table)}
    waiting = session.execute(
        text(f"SELECT DISTINCT {month_of(key, is_ts)} FROM {table}_default")  # noqa: S608
    ).scalars()
    wanted = {add_months(this_month, n) for n in range(ahead + 1)} | set(waiting)
    for month in sorted(wanted - have):
        moved = create_month(session, table, key, month, is_ts)
        report.say(
            f"{table}: created {month_name(table, month)}"
            + (f", moved {moved} rows from DEFAULT" if moved else "")
        )


def _archive(session: Executor, policy: Policy, cutoff: date, report: Report) -> None:
    session.execute(text(f"CREATE SCHEMA IF NOT EXISTS {ARCHIVE_SCHEMA}"))
    cutoff_at = clock.local(cutoff)
    sides = side_tables(session, policy.table)
    for part in partitions(session, policy.table):
        if part.month is None or add_months(part.month, 1) > cutoff:
            continue
        if (
            policy.blocker
            and session.execute(
                text(f"SELECT EXISTS (SELECT 1 FROM {part.name} WHERE {policy.blocker})"),  # noqa: S608
                {"cutoff": cutoff_at},
            ).scalar()
        ):
            report.say(f"{policy.table}: kept {part.name} ({policy.blocker.split(' ')[0]} still needed)")
            continue
        for side, cols in sides:
            listed = ", ".join(cols)
            session.execute(
                text(f"DELETE FROM {side} WHERE ({listed}) IN (SELECT {listed} FROM {part.name})")  # noqa: S608
            )
        session.execute(text(f"ALTER TABLE {policy.table} DETACH PARTITION {part.name}"))
        session.execute(text(f"ALTER TABLE {part.name} SET SCHEMA {ARCHIVE_SCHEMA}"))
        report.say(f"{policy.table}: archived {part.name} ({part.rows} rows) to {ARCHIVE_SCHEMA}")


def listing(session: Session) -> Iterator[str]:
    """One line per partition of each table (and its archived months)."""
    if not is_postgresql(session):
        yield "SQLite: history is not partitioned; nothing to list"
        return
    for policy in POLICIES:
        if not is_partitioned(session, policy.table):
            yield f"{policy.table}: not partitioned"
            continue
        keep = "kept whole" if policy.retention_months is None else f"{policy.retention_months} months"
        yield f"{policy.table} (by {policy.key}, retention: {keep})"
        for part in partitions(session, policy.table):
            yield f"  {part.name:<40} {part.rows:>10}  {part.bounds}"
        for name in archived(session, policy.table):
            yield f"  {ARCHIVE_SCHEMA}.{name:<32} (archived)"


def _partition_owner(name: str) -> str | None:
    """The policy table a partition name belongs to (`<table>_pYYYYMM` or `<table>_default`)."""
    match = _PARTITION.match(name)
    owner = match["table"] if match else name.removesuffix("_default") if name.endswith("_default") else None
    return owner if owner in BY_TABLE else None


def _model_unique_keys() -> set[str]:
    """Names of the unique keys the models give the partitioned tables (their side tables' names)."""
    from core.db import Base

    return {
        str(c.name)
        for table in BY_TABLE
        if table in Base.metadata.tables
        for c in Base.metadata.tables[table].constraints
        if isinstance(c, UniqueConstraint) and c.name
    }


def is_partition_name(name: str) -> bool:
    """Whether a table name is one of a partitioned table's months or its DEFAULT."""
    return _partition_owner(name) is not None


def drift_include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic `include_object`: leave out of model/database comparison exactly what partitioning
    adds on PostgreSQL: the partitions, the global-key side tables, and the partition key
    appended to a unique key (the model keeps the key as the application means it)."""
    if type_ == "table" and reflected and name:
        if _partition_owner(name):
            return False
        if name.startswith(SIDE_PREFIX) and name.removeprefix(SIDE_PREFIX) in _model_unique_keys():
            return False
    if type_ == "index" and reflected and _partition_owner(obj.table.name):
        return False
    if type_ == "unique_constraint" and compare_to is not None and obj.table.name in BY_TABLE:
        key = BY_TABLE[obj.table.name].key
        ours, theirs = [c.name for c in obj.columns], [c.name for c in compare_to.columns]
        widened, narrow = (ours, theirs) if reflected else (theirs, ours)
        if key not in narrow and widened == [*narrow, key]:
            return False
    return True
