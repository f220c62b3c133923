"""Forms with rows (shipments, invoices, red-letter invoices): a refused row is named as people
see it, "第 N 行", counted in the table they filled in, not by its position in the request."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

from flask import flash
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError

from app.db import unit_of_work
from app.web.common import FormFailed
from core.errors import DomainError
from core.validation import flatten_messages

T = TypeVar("T")

_ROW_FIELD = re.compile(r"lines\.(\d+)\.(\w+)")

#: The words for the row fields the services and schemas name.
FIELDS = {
    "quantity": _l("Quantity"),
    "amount": _l("Amount (yuan)"),
    "batch_no": _l("Batch number"),
    "expiry_on": _l("Expiry date"),
    "order_line_id": _l("Order line"),
    "receipt_line_id": _l("Receipt line"),
    "credited_line_id": _l("Invoice line credited"),
}


def flash_rows(fields: Mapping[str, list[str]] | None, rows: Sequence[int]) -> None:
    """Flash field messages; `lines.i.x` becomes "第 N 行 <x's word>" with N = rows[i]."""
    for name, messages in (fields or {}).items():
        found = _ROW_FIELD.fullmatch(name)
        if found and int(found.group(1)) < len(rows):
            word = FIELDS.get(found.group(2), found.group(2))
            where = _("Row %(n)s", n=rows[int(found.group(1))]) + f" {word}"
        else:
            where = str(FIELDS.get(name, name))
        for message in messages:
            flash(f"{where}: {message}", "error")


def load_rows(schema: Schema, data: Mapping[str, Any], rows: Sequence[int]) -> dict[str, Any]:
    try:
        return cast(dict[str, Any], schema.load(data))
    except ValidationError as exc:
        flash_rows(flatten_messages(exc.messages), rows)
        raise FormFailed from exc


def attempt_rows(work: Callable[[Any], T], rows: Sequence[int]) -> T:
    """common.attempt, naming rows."""
    try:
        with unit_of_work() as db:
            return work(db)
    except DomainError as exc:
        flash(exc.message, "error")
        flash_rows(exc.fields, rows)
        raise FormFailed from exc
