"""What every public route shares: the per-client rate limit, the short-lived answer cache and the
page parameters.

- Rate limit: Flask-Limiter, one limit shared by every public page and API route (the public
  blueprints and the agreement verification, PUBLIC_PATHS) per client address
  (`VBP_PUBLIC_RATE_LIMIT`, counters in `VBP_PUBLIC_RATE_LIMIT_STORAGE_URI`, in memory by
  default). The address is `request.remote_addr`, which the app's ProxyFix (VBP_PROXY_COUNT)
  already set to the client's behind trusted proxies. Over the limit: 429 with Retry-After.
- Cache: a small in-process TTL cache keyed by the request's path and its sorted query string,
  holding only the body, status and media type of a 200 answer (never headers, so no cookie), for
  `VBP_PUBLIC_CACHE_SECONDS`. It can never hold a private answer: the public routes read no
  session and no credentials (app/auth.py skips them), so an answer depends on the URL alone.
  Flask-Caching is not installed; this is the few lines it would have been.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from flask import Flask, Request, Response, current_app, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from core.errors import DomainError

F = TypeVar("F", bound=Callable[..., Any])
CACHE = "vbp.public_cache"
LIMITER = "vbp.public_limiter"
#: URL prefixes of the public routes: no login, no session, no credentials read there.
PUBLIC_PREFIXES = ("/public/", "/api/v1/public/")
#: Public routes outside those prefixes (the verification of a signed agreement, page and API):
#: the same rules, the same shared limit (init_guard's `endpoints`).
PUBLIC_PATHS = frozenset({"/verify/agreements", "/api/v1/procurement-agreements/verify"})


def is_public(path: str) -> bool:
    """Whether `path` is a public route's: no session opened, no credentials read."""
    return path.startswith(PUBLIC_PREFIXES) or path in PUBLIC_PATHS


DEFAULT_PAGE_SIZE = 20
#: The only response headers a cached answer keeps.
KEPT_HEADERS = frozenset({"Content-Disposition"})
#: Page numbers beyond this are refused (a page that far is empty anyway, and bounds the OFFSET).
MAX_PAGE = 100_000


class PublicQueryError(DomainError):
    """A bad paging or filter parameter of a public list (400, the parameter named)."""

    code = "bad_query"
    message = "查询参数无效 (invalid query parameter)"


@dataclass
class _Entry:
    expires: float
    body: bytes
    status: int
    mimetype: str
    #: Headers that describe the body itself (a file's name); never cookies or anything personal.
    headers: dict[str, str]


class AnswerCache:
    """URL → rendered answer, for a few seconds; bounded, oldest entries dropped first."""

    def __init__(self, seconds: int, max_entries: int = 2048) -> None:
        self.seconds, self.max_entries = seconds, max_entries
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> _Entry | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.expires <= time.monotonic():
                self._entries.pop(key, None)
                return None
            return entry

    def put(self, key: str, response: Response) -> None:
        if self.seconds <= 0 or response.status_code != 200 or response.direct_passthrough:
            return
        kept = {k: v for k, v in response.headers.items() if k in KEPT_HEADERS}
        entry = _Entry(
            time.monotonic() + self.seconds, response.get_data(), 200, response.mimetype or "", kept
        )
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def cache_key() -> str:
    args = sorted(request.args.items(multi=True))
    return request.path + "?" + "&".join(f"{k}={v}" for k, v in args)


def cached(view: F) -> F:
    """Serve a fresh copy of this URL's last 200 answer, or render and keep it."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        cache: AnswerCache = current_app.extensions[CACHE]
        key = cache_key()
        hit = cache.get(key)
        if hit is not None:
            response = Response(hit.body, status=hit.status, mimetype=hit.mimetype, headers=hit.headers)
        else:
            response = current_app.make_response(view(*args, **kwargs))
            cache.put(key, response)
        response.headers["Cache-Control"] = f"public, max-age={cache.seconds}"
        return response

    return cast(F, wrapper)


def paging() -> tuple[int, int]:
    """`page` (from 1) and `page_size` (1 … VBP_PUBLIC_MAX_PAGE_SIZE) from the query string."""
    largest = current_app.config["VBP"].public_max_page_size
    page = _whole(request.args.get("page"), "page", 1, MAX_PAGE, default=1)
    size = _whole(
        request.args.get("page_size"), "page_size", 1, largest, default=min(DEFAULT_PAGE_SIZE, largest)
    )
    return page, size


def _whole(text: str | None, name: str, low: int, high: int, *, default: int) -> int:
    if text is None:
        return default
    if not (text.isascii() and text.isdigit()) or len(text) > 9 or not low <= int(text) <= high:
        raise PublicQueryError(
            fields={name: [f"须为 {low} 到 {high} 之间的整数 (a whole number from {low} to {high})"]}
        )
    return int(text)


def query_text(name: str = "q", limit: int = 50) -> str:
    """A search text from the query string (trimmed; too long is a 400 naming it)."""
    text = (request.args.get(name) or "").strip()
    if len(text) > limit or any(not ch.isprintable() for ch in text):
        raise PublicQueryError(
            fields={name: [f"最多{limit}个可打印字符 (at most {limit} printable characters)"]}
        )
    return text


class SessionlessPublicRoutes(SecureCookieSessionInterface):
    """No session on the public routes: the cookie is not read, and no cookie is set or refreshed
    (Flask would otherwise refresh a signed-in visitor's permanent session on every answer)."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if is_public(request.path):
            return None  # Flask uses its null session, which it never saves
        return super().open_session(app, request)


def init_guard(app: Flask, blueprints: list[Any], endpoints: tuple[str, ...] = ()) -> Limiter:
    """The cache and the shared per-client limit on the public blueprints and on the public
    `endpoints` of other blueprints (their paths in PUBLIC_PATHS); no session there."""
    config = app.config["VBP"]
    if type(app.session_interface) is not SecureCookieSessionInterface:
        raise RuntimeError("the public routes expect Flask's cookie sessions")
    app.session_interface = SessionlessPublicRoutes()
    app.extensions[CACHE] = AnswerCache(config.public_cache_seconds)
    limiter = Limiter(
        get_remote_address,
        app=app,
        storage_uri=config.public_rate_limit_storage_uri,
        headers_enabled=True,
        key_prefix="vbp-public",
    )
    shared = limiter.shared_limit(
        lambda: str(current_app.config["VBP"].public_rate_limit),
        scope="public",
        error_message="请求过于频繁，请稍后再试 (too many requests; try again later)",
    )
    for blueprint in blueprints:
        shared(blueprint)
    for endpoint in endpoints:
        paths = {r.rule for r in app.url_map.iter_rules(endpoint)}
        if not paths <= PUBLIC_PATHS:
            raise RuntimeError(f"{endpoint}: {sorted(paths - PUBLIC_PATHS)} not in PUBLIC_PATHS")
        app.view_functions[endpoint] = cast(Any, shared(app.view_functions[endpoint]))
    app.extensions[LIMITER] = limiter
    return limiter
