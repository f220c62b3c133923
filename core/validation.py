"""Marshmallow base schema and fields shared by every package.

Writes use `unknown = RAISE`, so a mistyped field is an error naming it. Default error messages
are Chinese first with the English original after it, for people and for ERP/HIS integrators.
Money travels as decimal strings in yuan and is converted to integer fen / yuan×10⁴ here, once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, pre_load, validate

from core.money import (
    E4_PER_YUAN,
    FEN_PER_YUAN,
    MAX_INTEGER_DIGITS,
    MoneyError,
    e4_to_str,
    fen_to_str,
    parse_decimal,
)
from core.text import path_segment, text_problem

_ZH = {
    "required": "必填字段 (Missing data for required field.)",
    "null": "不能为空 (Field may not be null.)",
    "invalid": "格式无效 (Invalid value.)",
    "unknown": "未知字段 (Unknown field.)",
    "type": "数据类型无效 (Invalid input type.)",
}


def _localize(cls: type[fields.Field], **messages: str) -> None:
    cls.default_error_messages = {**cls.default_error_messages, **messages}


_localize(fields.Field, required=_ZH["required"], null=_ZH["null"], validator_failed=_ZH["invalid"])
_localize(fields.String, invalid="须为字符串 (Not a valid string.)")
_localize(fields.Integer, invalid="须为整数 (Not a valid integer.)")
_localize(fields.Boolean, invalid="须为布尔值 (Not a valid boolean.)")
_localize(fields.DateTime, invalid="日期时间格式无效 (Not a valid datetime.)")
_localize(fields.Date, invalid="日期格式无效 (Not a valid date.)")
_localize(fields.List, invalid="须为列表 (Not a valid list.)")
_localize(fields.Nested, type="须为对象 (Invalid input type.)")
_localize(fields.Enum, unknown="取值无效，可选：{choices} (Must be one of: {choices}.)")


#: Every integer column is at most 64-bit; a bigger number is no id, quantity or amount.
_INT_LIMIT = 2**63 - 1
#: Field metadata: tabs and line breaks allowed (free-text notes); a secret (never displayed).
MULTILINE = {"multiline": True}
SECRET = {"secret": True}


def _numbers_and_dates(value: Any, path: str, errors: dict[str, list[str]]) -> None:
    """Refuse integers beyond 64 bits and dates no deadline can be computed from, naming the field."""
    if isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > _INT_LIMIT:
            errors[path or "_schema"] = ["数值超出范围 (number out of range)"]
    elif isinstance(value, date) and not 1900 <= value.year <= 2200:
        # Deadlines and months are computed from dates; year 1 or 9999 would overflow them.
        errors[path or "_schema"] = ["日期须在1900年至2200年之间 (date between 1900 and 2200)"]
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _numbers_and_dates(item, _join(path, key), errors)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _numbers_and_dates(item, _join(path, i), errors)


def _join(path: str, key: object) -> str:
    segment = path_segment(key)
    return f"{path}.{segment}" if path else segment


def _plain_input(
    value: Any, path: str, errors: dict[str, list[str]], *, multiline: bool, secret: bool
) -> None:
    """Text (core/text.py), huge integers, and the keys and items of dicts and lists of them."""
    if isinstance(value, str):
        problem = text_problem(value, multiline=multiline, secret=secret)
        if problem:
            errors[path or "_schema"] = [problem]
    elif isinstance(value, Mapping):
        for key, item in value.items():
            name = _join(path, key)
            if isinstance(key, str) and (problem := text_problem(key)):
                errors[name] = [problem]
            else:
                _plain_input(item, name, errors, multiline=multiline, secret=secret)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _plain_input(item, _join(path, i), errors, multiline=multiline, secret=secret)
    else:
        _numbers_and_dates(value, path, errors)


#: Integers that arrive as text (query strings, spreadsheet cells): ASCII digits only, at most 19
#: (int() would also take "１２", "١٢", "1_000" and " 12").
_ASCII_INTEGER = re.compile(r"-?[0-9]{1,19}")
_NOT_ASCII_INTEGER = "须为整数，仅限半角数字 (an integer in ASCII digits)"


def _text_integer(field: fields.Field, value: Any) -> bool:
    """An integer field given text that is not plain ASCII digits."""
    if isinstance(field, fields.List) and isinstance(field.inner, fields.Integer):
        values = value if isinstance(value, list) else []
    else:
        values = [value] if isinstance(field, fields.Integer) else []
    return any(isinstance(v, str) and not _ASCII_INTEGER.fullmatch(v) for v in values)


def _schema_input(schema: Schema, data: Any, path: str, errors: dict[str, list[str]]) -> None:
    """Walk input as the schema reads it: every text value by its field's rule (core/text.py;
    notes may break lines, passwords are secrets), nested schemas by theirs, keys and undeclared
    fields by the strictest rule."""
    if not isinstance(data, Mapping):
        _plain_input(data, path, errors, multiline=False, secret=False)
        return
    declared = {field.data_key or name: field for name, field in schema.load_fields.items()}
    for key, value in data.items():
        name, field = _join(path, key), declared.get(key)
        if isinstance(key, str) and (problem := text_problem(key)):
            errors[name] = [problem]
        elif isinstance(field, fields.Nested) and isinstance(field.schema, Schema):
            _nested_input(field.schema, value, name, errors)
        elif isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
            _nested_input(field.inner.schema, value, name, errors)
        elif field is not None and _text_integer(field, value):
            errors[name] = [_NOT_ASCII_INTEGER]
        else:
            metadata = field.metadata if field is not None else {}
            secret = bool(metadata.get("secret")) or "password" in str(key)
            _plain_input(value, name, errors, multiline=bool(metadata.get("multiline")), secret=secret)


def _nested_input(schema: Schema, value: Any, path: str, errors: dict[str, list[str]]) -> None:
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _schema_input(schema, item, _join(path, i), errors)
    else:
        _schema_input(schema, value, path, errors)


class BaseSchema(Schema):
    """Rejects unknown fields, and text that core/text.py refuses (control, invisible and
    bidi characters, lone surrogates), naming the field; Chinese-first messages."""

    class Meta:
        unknown = RAISE

    error_messages = {"unknown": _ZH["unknown"], "type": _ZH["type"]}

    @pre_load(pass_collection=True)
    def _refuse_hostile_text(self, data: Any, many: bool, **kwargs: Any) -> Any:
        errors: dict[str, list[str]] = {}
        if many and isinstance(data, list | tuple):
            for index, item in enumerate(data):
                _schema_input(self, item, str(index), errors)
        else:
            _schema_input(self, data, "", errors)
        if errors:
            raise ValidationError(errors)
        return data

    @post_load(pass_collection=True)
    def _refuse_huge_numbers(self, data: Any, **kwargs: Any) -> Any:
        # Numbers parsed from text (query strings, spreadsheets) are checked once they are ints.
        errors: dict[str, list[str]] = {}
        _numbers_and_dates(data, "", errors)
        if errors:
            raise ValidationError(errors)
        return data


class _Money(fields.Field):
    """A decimal string on the wire (core.money.parse_decimal: plain notation, bounded digits),
    an integer in `scale` units inside."""

    places = 2
    scale = FEN_PER_YUAN
    integer_digits = MAX_INTEGER_DIGITS

    def _parse(self, value: Any) -> Decimal:
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise self.make_error("invalid")
        try:
            return parse_decimal(value, places=self.places, integer_digits=self.integer_digits)
        except MoneyError as exc:
            # The reason (exponent, places, digits) is the message; the value is never repeated.
            raise ValidationError(f"{self.error_messages['invalid']}：{exc}") from exc

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        return int(self._parse(value) * self.scale)


class Yuan(_Money):
    """Amount in yuan on the wire ("14.56"), integer fen inside. At most 2 decimals; no floats."""

    default_error_messages = {"invalid": "金额须为最多两位小数的十进制字符串 (decimal string, ≤ 2 places)"}

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else fen_to_str(int(value))


class UnitPrice(_Money):
    """Price per minimum unit in yuan ("0.5200"), integer yuan×10⁴ inside. At most 4 decimals."""

    default_error_messages = {"invalid": "单价须为最多四位小数的十进制字符串 (decimal string, ≤ 4 places)"}
    places, scale = 4, E4_PER_YUAN

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else e4_to_str(int(value))


class Ratio(_Money):
    """A ratio as a decimal string ("0.30"), Decimal inside; never float."""

    default_error_messages = {"invalid": "比例须为十进制字符串 (decimal string)"}
    places, integer_digits = 6, 6

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else str(value)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal:
        return self._parse(value)


class Month(fields.Field):
    """A calendar month as "YYYY-MM" (2000–2099), the first day of the month inside."""

    default_error_messages = {"invalid": "须为 YYYY-MM 格式的月份，2000至2099年 (a month, YYYY-MM)"}

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else f"{value:%Y-%m}"

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> date:
        if not isinstance(value, str) or not re.fullmatch(r"20\d{2}-(0[1-9]|1[0-2])", value):
            raise self.make_error("invalid")
        return date(int(value[:4]), int(value[5:]), 1)


#: Business moments the platform reasons about (deadlines are computed from them).
PLAUSIBLE_MOMENT = validate.Range(
    min=datetime(2000, 1, 1, tzinfo=UTC),
    max=datetime(2100, 1, 1, tzinfo=UTC),
    error="须在2000年至2100年之间 (between 2000 and 2100)",
)
PLAUSIBLE_DATE = validate.Range(
    min=date(2000, 1, 1), max=date(2100, 1, 1), error="须在2000年至2100年之间 (between 2000 and 2100)"
)


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Marshmallow's nested messages → {"lines.0.quantity": [...]}, the shape our errors carry."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            # Unknown field names are the caller's text: quoted short and printable.
            name = f"{prefix}.{path_segment(key, 120)}" if prefix else path_segment(key, 120)
            if isinstance(value, dict):
                out.update(flatten_messages(value, name))
            else:
                out[name] = [str(m) for m in (value if isinstance(value, list) else [value])]
    else:
        out[prefix or "_schema"] = [str(m) for m in (messages if isinstance(messages, list) else [messages])]
    return out


__all__ = [
    "MULTILINE",
    "SECRET",
    "BaseSchema",
    "Ratio",
    "UnitPrice",
    "ValidationError",
    "Yuan",
    "fields",
    "flatten_messages",
]
