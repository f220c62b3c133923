"""Tables people can search, sort, filter by date, total, export (xlsx, CSV) and print.

A page declares its table once, at import time::

    ORDERS = Table(
        "orders",
        columns=(
            Column("id", _l("Order"), sort=Order.id),
            Column("hospital", _l("Hospital"), sort=hospital.name),
            Column("amount_fen", _l("Amount (yuan)"), sort=amount, kind=MONEY, total=True),
        ),
        search=(hospital.name, ...),   # text columns `?q=` looks in (case-insensitive, escaped)
        ids=(Order.id,),               # integer columns `?q=123` also matches exactly
        dated=Order.submitted_at,      # what `?from=`/`?to=` filter (date or datetime column)
        default_sort="id",
    )

and in the view, over the caller's *already scoped* select (a domain query such as
`ordering.orders_visible_to(actor)`; the table only narrows it, so nothing unscoped can appear)::

    query = ORDERS.query(stmt)                # reads q, sort, dir, from, to from request.args
    if query.export_format:                   # ?export=xlsx | csv: ALL filtered rows
        return query.export(rows_for_export)  # rows shaped like the page's, see `export`
    pager = query.paged()                     # one page of rows (Row objects, attributes by label)
    render_template(..., query=query, pager=pager)

Rules:
- `q` of ASCII digits matches the `ids` columns exactly (an order number); other text matches
  the `search` columns (case-insensitive substring, LIKE wildcards escaped) and the `also` conditions.
- `sort` is looked up among the declared columns' `sort` expressions; any other value (a column
  name that is not declared, SQL, garbage) is ignored and the default order is used, so no user
  text ever reaches the ORDER BY. `dir` is "asc" or "desc"; a tiebreak on `tiebreak` keeps pages stable.
- `from`/`to` are calendar dates, both inclusive, in the province's time zone (core.clock): on a
  datetime column `from` means local midnight of that day and `to` the local midnight after it.
  A date that does not parse is reported (flashed) and ignored.
- Totals (`query.totals()`) are SQL sums over ALL filtered rows, not the page. A column with
  `total=True` must be a column of the select under its key (a label or a mapped attribute).
- Money columns (kind MONEY) hold integer fen; pages show them with the `money` filter (thousand
  separators, two decimals); xlsx exports them as numbers with the format `#,##0.00`, CSV as plain
  two-decimal numbers (so that a program reading it needs no locale).
- Export text goes through core.spreadsheets.neutralize (a cell starting with = + - @ is prefixed),
  CSV through core.spreadsheets.write_csv (UTF-8 with BOM, CRLF).
- `export_only=True` columns (an id next to a name, the product's specification ...) are in the
  export but not on the page.

Templates import the macros from templates/web/tables.html (`{% import "web/tables.html" as
tables with context %}`):
- `controls(query, keep=(), dates=true, search=true, search_label=none, button=none)`: the search
  box, the date range, the export (xlsx, CSV) and print links; a `{% call %}` block adds the page's
  own filter fields inside the same GET form.
- `head(query)`: the header row of the page's (not export-only) columns; sortable ones are links
  that flip the direction; a `{% call %}` block adds header cells after them (an "Action" column).
- `totals(query, totals, count, extra=0)`: the totals row (`<tfoot>`), with `extra` empty cells.
The page's `<tbody>` stays the page's own: its cells, links and status badges, one per column of
`table.shown`, in order. `?print=1` shows up to PRINT_ROWS rows on one page and opens the
browser's print dialogue (static/tables.js); static/tables.css hides the navigation, the forms
and the pager when printing. Amounts on pages: the `money` filter (1,234,567.89).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from flask import Response, flash, request, url_for
from flask_babel import gettext as _
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook
from sqlalchemy import ColumnElement, DateTime, Select, func, or_, select

from app.db import request_session
from app.replica import prefer_replica
from app.web.common import PER_PAGE, Pager, ascii_int, label, paged_by, web
from core import clock
from core.money import fen_to_decimal, fen_to_display
from core.spreadsheets import neutralize, write_csv

TEXT, MONEY, INT, DATE, DATETIME, TERM = "text", "money", "int", "date", "datetime", "term"
#: At most this many rows on a printed page (a longer list is exported instead).
PRINT_ROWS = 2000
#: Search text longer than this is cut (it only ever goes into a bound LIKE parameter).
MAX_SEARCH = 100
MONEY_FORMAT = "#,##0.00"


@dataclass(frozen=True)
class Column:
    """One column: its key in the row, its title, how it sorts, shows, exports and sums."""

    key: str
    title: Any  #: a lazy gettext string
    #: The SQL expression `?sort=<key>` orders by; None: not sortable.
    sort: Any = None
    kind: str = TEXT
    #: Summed over all filtered rows in the totals row (MONEY and INT columns).
    total: bool = False
    #: The export's value from a row (default: the row's attribute `key`).
    value: Callable[[Any], Any] | None = None
    export_only: bool = False

    def cell(self, row: Any) -> Any:
        """The row's value for an export: names and words as text, money as exact Decimal yuan."""
        raw = self.value(row) if self.value is not None else getattr(row, self.key)
        if raw is None:
            return None
        if self.kind == MONEY:
            return fen_to_decimal(int(raw))
        if self.kind == TERM:
            return label(raw)
        if self.kind == DATETIME and isinstance(raw, datetime):
            return raw.astimezone(clock.zone()).replace(tzinfo=None, microsecond=0)
        return raw


@dataclass(frozen=True)
class Table:
    """A declared table; `query(stmt)` applies the request's search, dates and order to it."""

    name: str
    columns: tuple[Column, ...]
    search: tuple[Any, ...] = ()
    #: Further conditions `?q=` may match, each a function of the search text (OR-ed in).
    also: tuple[Callable[[str], Any], ...] = ()
    ids: tuple[Any, ...] = ()
    dated: Any = None
    default_sort: str = ""
    default_dir: str = "desc"
    tiebreak: Any = None

    @property
    def shown(self) -> list[Column]:
        return [c for c in self.columns if not c.export_only]

    def column(self, key: str) -> Column | None:
        return next((c for c in self.columns if c.key == key and c.sort is not None), None)

    def query(self, stmt: Select[Any] | None) -> Query:
        """The request's view of the table over `stmt`; None for rows a domain function lists
        itself (then only the columns, export and print apply: search, dates and sort need SQL)."""
        args = request.args
        sort = args.get("sort", "")
        if self.column(sort) is None:
            sort = self.default_sort
        direction = args.get("dir", "")
        if direction not in ("asc", "desc"):
            direction = self.default_dir
        query = Query(
            table=self,
            q=args.get("q", "").strip()[:MAX_SEARCH],
            sort=sort,
            dir=direction,
            date_from=_date_arg("from"),
            date_to=_date_arg("to"),
            export_format=args.get("export", "") if args.get("export") in ("xlsx", "csv") else "",
            printing=args.get("print") == "1",
        )
        if query.export_format:
            prefer_replica()  # an export (xlsx, CSV) may read from the replica (app/replica.py)
        if stmt is not None:
            query.stmt = query.narrowed(stmt)
        return query


def _date_arg(name: str) -> date | None:
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
        if not 2000 <= day.year <= 2099:
            raise ValueError(text)
    except ValueError:
        flash(_("Dates are written YYYY-MM-DD; %(text)s was ignored.", text=text[:20]), "error")
        return None
    return day


@dataclass
class Query:
    """A table with one request's search, date range and order; the select they narrow."""

    table: Table
    q: str
    sort: str
    dir: str
    date_from: date | None
    date_to: date | None
    export_format: str
    printing: bool
    stmt: Select[Any] = field(default=cast(Any, None))

    def narrowed(self, stmt: Select[Any]) -> Select[Any]:
        t = self.table
        if self.q and (t.search or t.ids or t.also):
            try:
                number = ascii_int(self.q) if t.ids else None
            except ValueError:
                number = None
            found: list[ColumnElement[bool]]
            if number is not None:  # a number typed is an id (an order number, an event's #)
                found = [c == number for c in t.ids]
            else:
                found = [c.icontains(self.q, autoescape=True) for c in t.search]
                found += [condition(self.q) for condition in t.also]
            stmt = stmt.where(or_(*found))
        if t.dated is not None:
            stmt = self._dates(stmt, t.dated)
        column = t.column(self.sort)
        if column is not None:
            order = column.sort.asc() if self.dir == "asc" else column.sort.desc()
            stmt = stmt.order_by(None).order_by(order)
            if t.tiebreak is not None:
                stmt = stmt.order_by(t.tiebreak.asc() if self.dir == "asc" else t.tiebreak.desc())
        return stmt

    def _dates(self, stmt: Select[Any], dated: Any) -> Select[Any]:
        kind = dated.type
        is_instant = isinstance(getattr(kind, "impl", kind), DateTime)  # through a TypeDecorator
        if self.date_from is not None:
            start: Any = clock.local(self.date_from) if is_instant else self.date_from
            stmt = stmt.where(dated >= start)
        if self.date_to is not None:
            if is_instant:
                stmt = stmt.where(dated < clock.local(self.date_to + timedelta(days=1)))
            else:
                stmt = stmt.where(dated <= self.date_to)
        return stmt

    # --- the page -------------------------------------------------------------------------------

    @property
    def per_page(self) -> int:
        return PRINT_ROWS if self.printing else PER_PAGE

    def paged(self) -> Pager:
        """One page of the filtered rows (all of them, up to PRINT_ROWS, when printing)."""
        db = request_session()
        total = db.scalar(select(func.count()).select_from(self.stmt.order_by(None).subquery())) or 0
        return paged_by(
            total,
            lambda limit, offset: list(db.execute(self.stmt.limit(limit).offset(offset)).all()),
            per_page=self.per_page,
        )

    def totals(self) -> dict[str, int]:
        """Sums of the total columns over ALL filtered rows (integers: fen or counts)."""
        keys = [c.key for c in self.table.columns if c.total]
        if not keys:
            return {}
        sub = self.stmt.order_by(None).subquery()
        row = request_session().execute(select(*(func.coalesce(func.sum(sub.c[k]), 0) for k in keys))).one()
        return {k: int(v) for k, v in zip(keys, row, strict=True)}

    def url(self, **changes: Any) -> str:
        """This page's address with some arguments changed (None drops one); page resets to 1."""
        args: dict[str, Any] = request.args.to_dict(flat=False)
        args.pop("page", None)
        for key, value in changes.items():
            if value is None:
                args.pop(key, None)
            else:
                args[key] = value
        return url_for(cast(str, request.endpoint), **(request.view_args or {}), **args)

    def sort_url(self, key: str) -> str:
        flip = "asc" if self.sort == key and self.dir == "desc" else "desc"
        return self.url(sort=key, dir=flip)

    def export_url(self, fmt: str) -> str:
        return self.url(export=fmt, print=None)

    # --- exports --------------------------------------------------------------------------------

    def all_rows(self) -> list[Any]:
        """Every filtered row, in the page's order (for an export)."""
        return list(request_session().execute(self.stmt).all())

    def export(self, rows: Iterable[Any], *, totals: dict[str, int] | None = None) -> Response:
        """ALL the filtered rows as xlsx or CSV; `rows` are the caller's (scoped) rows, in the
        shape the columns read. Totals default to the SQL totals of the query."""
        sums = self.totals() if totals is None else totals
        headers = [str(c.title) for c in self.table.columns]
        body = [[c.cell(row) for c in self.table.columns] for row in rows]
        footer = self._footer(sums)
        stamp = clock.business_date(clock.now()).isoformat()
        filename = f"{self.table.name}-{stamp}.{self.export_format}"
        if self.export_format == "csv":
            data = write_csv(headers, [*body, footer] if sums else body)
            mimetype = "text/csv; charset=utf-8"
        else:
            data = xlsx(self.table.name, self.table.columns, headers, body, footer if sums else None)
            mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return Response(
            data, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
        )

    def _footer(self, sums: dict[str, int]) -> list[Any]:
        footer: list[Any] = []
        for index, c in enumerate(self.table.columns):
            if c.key in sums:
                footer.append(fen_to_decimal(sums[c.key]) if c.kind == MONEY else sums[c.key])
            else:
                footer.append(_("Total") if index == 0 else None)
        return footer


def xlsx(
    title: str,
    columns: Sequence[Column],
    headers: Sequence[str],
    body: Iterable[Sequence[Any]],
    footer: Sequence[Any] | None,
) -> bytes:
    """One sheet: bold frozen header with an autofilter, money as numbers `#,##0.00`, a bold
    totals row; every text cell neutralized against formula injection."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=title[:31])
    sheet.freeze_panes = "A2"
    for index, header in enumerate(headers, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = min(max(len(header) * 2 + 4, 10), 40)
    bold = Font(bold=True)

    def cells(values: Sequence[Any], *, font: Font | None = None) -> list[Any]:
        out = []
        for column, value in zip(columns, values, strict=True):
            cell = WriteOnlyCell(sheet, value=_xlsx_value(value))
            if isinstance(value, Decimal):
                # The exact decimal as the cell's stored text (openpyxl would write "%.16g" of a
                # float: 9.87 → 9.869999999999999), as core/spreadsheets.py does.
                cell.value, cell.data_type = format(value, "f"), "n"
                cell.number_format = MONEY_FORMAT if column.kind == MONEY else "0.00"
            elif isinstance(cell.value, str):
                cell.data_type = "s"  # always text: "#N/A" typed by someone is not an error cell
            elif isinstance(value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(value, date):
                cell.number_format = "yyyy-mm-dd"
            if font is not None:
                cell.font = font
            out.append(cell)
        return out

    sheet.append(cells(list(headers), font=bold))
    count = 0
    for values in body:
        sheet.append(cells(values))
        count += 1
    last = get_column_letter(len(headers))
    sheet.auto_filter.ref = f"A1:{last}{count + 1}"
    if footer is not None:
        sheet.append(cells(footer, font=bold))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _xlsx_value(value: Any) -> Any:
    if isinstance(value, str):
        return neutralize(value)
    if hasattr(value, "value") and isinstance(value.value, str):  # an enum not declared TERM
        return neutralize(value.value)
    return value


@web.app_template_filter("money")
def money(fen: int | None) -> str:
    """Integer fen as yuan with thousand separators and two decimals: 123456789 → 1,234,567.89
    (core.money's one display rule, as the `yuan` filter)."""
    if fen is None:
        return ""
    return fen_to_display(int(fen))


__all__ = ["DATE", "DATETIME", "INT", "MONEY", "TERM", "TEXT", "Column", "Query", "Table", "money"]
