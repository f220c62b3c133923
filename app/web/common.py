"""What every page shares: the blueprint, the role gate, CSRF, pagination, form handling, filters."""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar, cast

from flask import Blueprint, abort, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError
from sqlalchemy import Select, func, select
from werkzeug.exceptions import HTTPException

from app.auth import ALL_ROLES, SAFE_METHODS, csrf_matches, csrf_token, optional_actor
from app.db import request_session, unit_of_work
from app.public.guard import is_public
from core import clock
from core.actors import Actor, OrgKind, Role
from core.errors import DomainError
from core.glossary import term
from core.money import e4_to_display, fen_to_display
from core.organizations import Organization
from core.validation import flatten_messages
from ledger.figures import percent

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

web = Blueprint(
    "web", __name__, template_folder="templates", static_folder="static", static_url_path="/static/web"
)

LANGUAGES = {"zh": "中文", "en": "English"}
PER_PAGE = 20
ENTERPRISES = (OrgKind.MANUFACTURER, OrgKind.DISTRIBUTOR)
WRITERS = (Role.ADMIN, Role.OPERATOR)


def page_lang() -> str:
    """The language the pages are shown in: "en" when chosen, Chinese otherwise."""
    return "en" if session.get("lang") == "en" else "zh"


def label(value: Any) -> str:
    """The glossary's word for a code, in the page's language (core/glossary.py)."""
    return term(value, page_lang())


# --- who may see a page -------------------------------------------------------------------------


def actor() -> Actor:
    found = optional_actor()
    if found is None:
        abort(401)
    return found


def page(*kinds: OrgKind, roles: Iterable[Role] = ALL_ROLES) -> Callable[[F], F]:
    """Gate a page by organization kind (any, if none given) and role; strangers go to the login."""
    allowed_kinds, allowed_roles = frozenset(kinds), frozenset(roles)

    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            who = optional_actor()
            if who is None:
                return redirect(url_for("web.login", next=request.full_path.rstrip("?")))
            if (allowed_kinds and who.org_kind not in allowed_kinds) or who.role not in allowed_roles:
                abort(403)
            return view(*args, **kwargs)

        wrapper._vbp_page = (allowed_kinds, allowed_roles)  # type: ignore[attr-defined]  # for the gate test
        return cast(F, wrapper)

    return decorator


@web.before_request
def _check_csrf() -> None:
    """Every form posts the session's token; a cross-site form cannot know it. Every method but
    GET and OPTIONS is checked (HEAD reaches the views only as GET: app.HeadAsGet). Public pages
    are not: they open no session, so a forged form would carry no one's authority, and their
    forms change nothing (app/public/guard.py)."""
    if is_public(request.path):
        return
    if request.method not in SAFE_METHODS and not csrf_matches(request.form.get("csrf_token", "")):
        abort(400, description=_("The form expired or did not come from this site. Please try again."))


@web.app_context_processor
def _template_globals() -> dict[str, Any]:
    return {
        "csrf_token": csrf_token,
        "current_actor": optional_actor,
        "label": label,
        "LANGUAGES": LANGUAGES,
        "current_lang": lambda: session.get("lang", "zh"),
        "org_name": org_name,
        "OrgKind": OrgKind,
    }


@web.app_template_filter("yuan")
def yuan(fen: int | None) -> str:
    """Amounts as people read them: thousand separators and two decimals (1,234,567.80). Only for
    display: a value put into a form field people edit is printed with `fen_to_str` (no commas)."""
    return "" if fen is None else fen_to_display(fen)


@web.app_template_filter("unit_yuan")
def unit_yuan(e4: int | None) -> str:
    """Unit prices are integer yuan×10⁴ (core/money.py): shown exactly, 4 dp, with separators."""
    return "" if e4 is None else e4_to_display(e4)


@web.app_template_filter("pct")
def pct(rate: Decimal | None, against: Decimal | None = None) -> str:
    """A ratio as a percentage by the one printing rule (ledger.figures.rates): 2 dp half-up, more
    when a comparison with `against` (a target, the time elapsed) needs them; no float."""
    return percent(rate, against)


@web.app_template_filter("localized")
def localized(text: str | None) -> str:
    """A bilingual domain text, "中文 (English)", in the page's language (app/web/messages.py)."""
    from app.web.form_messages import message_text

    return "" if text is None else message_text(text, page_lang())


@web.app_template_filter("when")
def when(value: datetime | date | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(clock.zone()).strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def org_name(org_id: int | None) -> str:
    """Organization names by id, loaded once per request."""
    if org_id is None:
        return ""
    names: dict[int, str] | None = g.get("_org_names")
    if names is None:
        rows = request_session().execute(select(Organization.id, Organization.name))
        names = g._org_names = {row.id: row.name for row in rows}
    return names.get(org_id, f"#{org_id}")


# --- errors as pages ----------------------------------------------------------------------------

ERROR_TITLES = {
    400: _l("Bad request"),
    401: _l("Please log in"),
    403: _l("You may not open this page"),
    404: _l("Not found"),
    405: _l("Not allowed"),
    409: _l("Conflict"),
    413: _l("The file is too large"),
    422: _l("Invalid input"),
}


#: Public pages' error titles (Chinese first): their layout knows no session and no language switch.
PUBLIC_ERROR_TITLES = {
    400: "请求无效 (bad request)",
    404: "未找到 (not found)",
    413: "文件过大 (the file is too large)",
    429: "请求过于频繁，请稍后再试 (too many requests; try again later)",
}


def error_page(status: int, detail: str | None = None) -> ResponseReturnValue:
    if is_public(request.path):  # no session there: the public layout (app/public/guard.py)
        title = PUBLIC_ERROR_TITLES.get(status, "出错了 (something went wrong)")
        return render_template("public/error.html", status=status, title=title, detail=detail), status
    title = ERROR_TITLES.get(status, _l("Something went wrong"))
    return render_template("web/error.html", status=status, title=title, detail=detail), status


@web.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> ResponseReturnValue:
    if exc.code == 401:
        return redirect(url_for("web.login"))
    description = exc.description if exc.code == 400 else None
    return error_page(exc.code or 500, description)


@web.errorhandler(DomainError)
def _domain_error(exc: DomainError) -> ResponseReturnValue:
    from app.errors import status_for

    return error_page(status_for(exc), exc.message)


# --- lists --------------------------------------------------------------------------------------


@dataclass
class Pager:
    """One page of a list, with what the template needs for its links."""

    items: list[Any]
    page: int
    pages: int
    total: int

    def url(self, number: int) -> str:
        args: dict[str, Any] = request.args.to_dict(flat=False)  # repeated filters stay repeated
        args["page"] = str(number)
        return url_for(cast(str, request.endpoint), **(request.view_args or {}), **args)


def paged_by(total: int, fetch: Callable[[int, int], list[Any]], *, per_page: int = PER_PAGE) -> Pager:
    """The page `?page=N` of `total` rows, fetched as fetch(limit, offset); pages past the end
    show the last page (and keep absurd numbers out of the SQL OFFSET)."""
    pages = max(1, math.ceil(total / per_page))
    number = min(max(request.args.get("page", 1, type=ascii_int) or 1, 1), pages)
    return Pager(items=fetch(per_page, (number - 1) * per_page), page=number, pages=pages, total=total)


def paged(stmt: Select[Any], *, scalars: bool = True, per_page: int = PER_PAGE) -> Pager:
    """One page of a scoped select."""
    db = request_session()
    total = db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0

    def fetch(limit: int, offset: int) -> list[Any]:
        limited = stmt.limit(limit).offset(offset)
        return list(db.scalars(limited).all()) if scalars else list(db.execute(limited).all())

    return paged_by(total, fetch, per_page=per_page)


def paged_list(rows: list[T], *, per_page: int = PER_PAGE) -> Pager:
    """The same for rows a domain query already computed."""
    return paged_by(len(rows), lambda limit, offset: rows[offset : offset + limit], per_page=per_page)


# --- forms --------------------------------------------------------------------------------------


#: An integer typed into a form or a query string: ASCII digits only (str.isdigit() and int()
#: also take "²", "１２" and "1_0"), at most 18 digits so it fits a 64-bit column.
_ASCII_INT = re.compile(r"-?[0-9]{1,18}")


def ascii_int(text: str) -> int:
    """int() for form and query text (a ValueError otherwise: werkzeug's `type=` then gives the
    default)."""
    if not _ASCII_INT.fullmatch(text):
        raise ValueError(f"not an integer in ASCII digits: {text[:20]!r}")
    return int(text)


def form_dict(
    fields: Mapping[str, str], *, ints: Iterable[str] = (), bools: Iterable[str] = ()
) -> dict[str, Any]:
    """Form text as the JSON a schema expects: ASCII digits to integers (anything else stays text
    for the schema to refuse, naming the field), empty fields left out."""
    data: dict[str, Any] = {}
    int_names, bool_names = set(ints), set(bools)
    for key, value in fields.items():
        text = value.strip()
        if key == "csrf_token" or text == "":
            continue
        if key in int_names and _ASCII_INT.fullmatch(text):
            data[key] = int(text)
        elif key in bool_names:
            data[key] = text.lower() in ("1", "true", "yes", "on")
        else:
            data[key] = text
    return data


class FormFailed(Exception):
    """A form could not be saved; its messages have been flashed and nothing was written."""


def load(schema: Schema, data: Mapping[str, Any]) -> dict[str, Any]:
    try:
        return cast(dict[str, Any], schema.load(data))
    except ValidationError as exc:
        _flash_fields(flatten_messages(exc.messages))
        raise FormFailed from exc


def attempt(work: Callable[[Any], T]) -> T:
    """Run `work(session)` as one unit of work; a domain error is shown and nothing is kept."""
    try:
        with unit_of_work() as db:
            return work(db)
    except DomainError as exc:
        from app.web.form_messages import message_text

        flash(message_text(exc.message, page_lang()), "error")
        _flash_fields(exc.fields)
        raise FormFailed from exc


def _flash_fields(fields: Mapping[str, list[str]] | None) -> None:
    """Each field's messages, named as people see them (app/web/messages.py: 第 3 行 · 数量：必填)."""
    from app.web.form_messages import field_error

    lang = page_lang()
    for name, messages in (fields or {}).items():
        for message in messages:
            flash(field_error(name, message, lang), "error")


def done(message: str, endpoint: str, **values: Any) -> ResponseReturnValue:
    flash(message, "success")
    return redirect(url_for(endpoint, **values))
