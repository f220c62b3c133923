"""The request's shape, checked before authentication and before any view or schema runs.

- A JSON body is parsed once here: malformed JSON, JSON's non-standard NaN/Infinity, numbers
  beyond Python's digit limit, nesting deeper than MAX_JSON_DEPTH and more than MAX_JSON_VALUES
  values answer 400 (the parser's
  own recursion would otherwise be a 500, and a 100,000-deep array costs it dearly); a lone
  surrogate ("\\ud800", which no database can store and no response can encode) answers 422
  naming its field. Schemas then apply the full text rule (core/text.py) with field names.
- Query strings and form fields holding control characters answer 422 naming the parameter
  (PostgreSQL cannot even store NUL; the web's filters reach SQL).
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask, request

from core.errors import DomainError, ValidationFailed
from core.text import SURROGATE, path_segment

#: Deepest JSON nesting accepted (the deepest request the API defines has four levels).
MAX_JSON_DEPTH = 32
#: Most values in one JSON body (the largest request, 5,000 order lines, has about 15,000):
#: 16 MiB of "[0,0,0,…]" would otherwise cost seconds in every layer that walks it.
MAX_JSON_VALUES = 100_000
#: C0 and C1 controls other than tab, line feed and carriage return.
#: Endpoints allowed more values, each raised on purpose where it is registered (e.g. one
#: traceability code per pack: app/api/trace.py).
MAX_JSON_VALUES_BY_ENDPOINT: dict[str, int] = {}
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class MalformedBody(DomainError):
    """The body is not JSON this API reads (400)."""

    code = "bad_request"
    message = "请求体不是有效的 JSON (the body is not valid JSON)"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def check_json_body() -> None:
    """Parse a JSON body once: 400 when malformed or too deep, 422 naming a surrogate's field."""
    if not request.is_json:
        return
    raw = request.get_data(cache=True)
    if not raw.strip():
        return
    try:
        data = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError as exc:
        raise _too_deep() from exc
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, an integer of 5,000 digits
        raise MalformedBody() from exc
    errors: dict[str, list[str]] = {}
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    seen = 0
    limit = MAX_JSON_VALUES_BY_ENDPOINT.get(request.endpoint or "", MAX_JSON_VALUES)
    while stack:  # iterative: the walk itself must not recurse on hostile depth
        value, path, depth = stack.pop()
        seen += 1
        if depth > MAX_JSON_DEPTH:
            raise _too_deep()
        if seen > limit:
            raise MalformedBody(f"JSON 含有超过 {limit} 个值 (JSON with more than {limit} values)")
        if isinstance(value, str):
            if _SURROGATE.search(value):
                errors[path or "_schema"] = [SURROGATE]
        elif isinstance(value, dict):
            for key, item in value.items():
                name = f"{path}.{path_segment(key)}" if path else path_segment(key)
                if _SURROGATE.search(key):
                    errors[name] = [SURROGATE]
                stack.append((item, name, depth + 1))
        elif isinstance(value, list):
            stack.extend((item, f"{path}.{i}" if path else str(i), depth + 1) for i, item in enumerate(value))
    if errors:
        raise ValidationFailed(fields=dict(sorted(errors.items())))


def _too_deep() -> MalformedBody:
    return MalformedBody(
        f"JSON 嵌套超过 {MAX_JSON_DEPTH} 层 (JSON nested deeper than {MAX_JSON_DEPTH} levels)"
    )


def check_parameters() -> None:
    """Query-string and form parameters (names and values) without control characters."""
    sources = [request.args]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sources.append(request.form)
    for source in sources:
        for name, values in source.lists():
            if _CONTROL.search(name) or any(_CONTROL.search(v) for v in values):
                shown = path_segment(name)
                raise ValidationFailed(
                    f"参数“{shown}”不能包含控制字符 "
                    f"(parameter '{shown}' must not contain control characters)",
                    fields={shown: ["不能包含控制字符 (control characters are not allowed)"]},
                )


def init_app(app: Flask) -> None:
    """Register before the authentication hook: a malformed request is refused as such."""
    app.before_request(check_parameters)
    app.before_request(check_json_body)
