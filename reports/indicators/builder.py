"""The grouping machinery of the indicator queries: every family's GROUP BY runs through a Builder,
which adds its sums to the group rows and to the total, scoped to what the caller may see."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Integer, String, and_, cast, func, literal_column, or_
from sqlalchemy.orm import Session

from core.actors import Actor
from ledger.scoping import party_scope
from reports.indicators.definitions import GroupBy, next_month


class Builder:
    """Runs the grouped queries and adds their sums to the group rows and to the total."""

    def __init__(self, session: Session, actor: Actor, group_by: GroupBy, months: tuple[date, ...]) -> None:
        self.session, self.actor, self.group_by = session, actor, group_by
        self.dialect = session.get_bind().dialect.name
        self.rows: dict[str, dict[str, Any]] = {}
        self.total: dict[str, Any] = {}
        # Contiguous months → one range predicate each (keeps the date indexes usable).
        self.ranges: list[tuple[date, date]] = []
        for m in months:
            if self.ranges and self.ranges[-1][1] == m:
                self.ranges[-1] = (self.ranges[-1][0], next_month(m))
            else:
                self.ranges.append((m, next_month(m)))
        if group_by is GroupBy.MONTH:
            for m in months:  # every month asked gets a row, even an empty one
                self.rows[f"{m:%Y-%m}"] = {}

    def add(self, key: Any, values: dict[str, Any]) -> None:
        """`key` None: counted in the total only (e.g. off-platform amounts have no enterprise)."""
        targets = [self.total] if key is None else [self.total, self.rows.setdefault(str(key), {})]
        for name, value in values.items():
            # PostgreSQL sums bigints as numeric (Decimal): back to int, exactly.
            amount = Decimal(value or 0) if name == "expected_units" else int(value or 0)
            for target in targets:
                target[name] = target.get(name, 0) + amount

    def in_period(self, column: Any) -> ColumnElement[bool]:
        return or_(*[and_(column >= a, column < b) for a, b in self.ranges])

    def scoped(self, stmt: Any, **parties: Any) -> Any:
        return party_scope(stmt, self.actor, **parties)

    def month_of(self, column: Any) -> ColumnElement[str]:
        # Literal format strings: bound parameters in SELECT and GROUP BY would not match on PostgreSQL.
        if self.dialect == "postgresql":
            return func.to_char(column, literal_column("'YYYY-MM'"))
        return func.strftime(literal_column("'%Y-%m'"), column)

    def prefecture(self, column: Any) -> ColumnElement[str]:
        """510104 → 510100 (ledger.services.listings.prefecture, in SQL)."""
        head = func.substr(column, literal_column("1"), literal_column("4"), type_=String)
        return head + literal_column("'00'")

    def days_between(self, later: Any, earlier: Any) -> ColumnElement[int]:
        if self.dialect == "postgresql":
            return cast(later - earlier, Integer)  # date − date is an integer of days
        return cast(func.julianday(later) - func.julianday(earlier), Integer)

    def key(self, *, day: Any, region: Any, hospital: Any, enterprise: Any) -> ColumnElement[Any] | None:
        """The GROUP BY column; None for the province (one row, no GROUP BY) or a total-only family."""
        match self.group_by:
            case GroupBy.MONTH:
                return None if day is None else self.month_of(day)
            case GroupBy.REGION:
                return self.prefecture(region)
            case GroupBy.HOSPITAL:
                return hospital
            case GroupBy.ENTERPRISE:
                return enterprise
        return None

    def collect(self, stmt: Any, names: Sequence[str], key: ColumnElement[Any] | None) -> None:
        if key is not None:
            stmt = stmt.add_columns(key).group_by(key)
        for row in self.session.execute(stmt):
            values = dict(zip(names, row, strict=False))
            if key is not None:
                self.add(row[-1] if row[-1] is not None else "—", values)
            else:
                self.add("province" if self.group_by is GroupBy.PROVINCE else None, values)

    def fold(self, *, hospital: int, enterprise: int | None, region: str) -> str | None:
        """Group key for values computed per hospital in Python (agreed volumes, retained savings)."""
        match self.group_by:
            case GroupBy.PROVINCE:
                return "province"
            case GroupBy.REGION:
                return region[:4] + "00"
            case GroupBy.HOSPITAL:
                return str(hospital)
            case GroupBy.ENTERPRISE:
                return None if enterprise is None else str(enterprise)
        return None  # months: agreed volumes are yearly, only the total carries them
