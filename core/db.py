"""Declarative base, constraint naming convention and the column types every model shares."""

from __future__ import annotations

import enum
import itertools
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

from sqlalchemy import BigInteger, DateTime, Integer, MetaData, String, Table, TypeDecorator, insert
from sqlalchemy import Enum as SAEnum
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column

#: Deterministic constraint names on both databases; Alembic batch mode on SQLite needs them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on both databases.

    PostgreSQL keeps the zone (timestamptz); SQLite returns naive values, which are UTC by
    construction here. Naive datetimes are refused on the way in so local times never sneak in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC (core.clock.now())")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


#: 64-bit ids on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY (its rowid).
BigId = BigInteger().with_variant(Integer(), "sqlite")

IdPK = Annotated[int, mapped_column(BigId, primary_key=True)]
Fen = Annotated[int, mapped_column(BigInteger)]
"""Money in integer fen (1/100 yuan); see core.money."""


def str_enum(enum_cls: type[enum.StrEnum], name: str) -> SAEnum:
    """Store a StrEnum as its readable value in a VARCHAR with a CHECK constraint."""
    return SAEnum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: dict[Any, Any] = {
        datetime: UTCDateTime(),
        str: String(255),
    }


def bulk_insert(session: Session, table: Table, rows: Iterable[Mapping[str, Any]]) -> None:
    """Insert many plain rows in the session's transaction, as fast as the database allows.

    PostgreSQL: COPY (psycopg's executemany would send one INSERT per row), streamed as the rows
    come, so a generator's work overlaps the server's; elsewhere a Core executemany per chunk.
    Rows must all have the same keys; no JSON columns (COPY would need adapters).
    """
    iterator = iter(rows)
    first = next(iterator, None)
    if first is None:
        return
    columns = list(first)
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        driver = connection.connection.driver_connection
        names = ", ".join(f'"{c}"' for c in columns)
        with driver.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:
            for row in itertools.chain((first,), iterator):
                copy.write_row(
                    [v if type(v) in _AS_IS else _copy_value(v) for v in map(row.__getitem__, columns)]
                )
        return
    statement = insert(table)
    chunk = [first, *itertools.islice(iterator, _CHUNK - 1)]
    while chunk:
        connection.execute(statement, chunk)
        chunk = list(itertools.islice(iterator, _CHUNK))


#: Values COPY takes as they are (enums and datetimes need _copy_value).
_AS_IS = frozenset({int, str, bool, type(None), float, date, Decimal})
_CHUNK = 10_000


def _copy_value(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return value
