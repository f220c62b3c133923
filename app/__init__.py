"""The web and CLI shell: create_app() wires config, database, auth, API, errors and commands.

Nothing happens at import time; create_app() only configures and registers.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask, Response
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, Map

from app.config import Config

if TYPE_CHECKING:
    from bidding.sealing import BidSealer


def create_app(config: Config | None = None) -> Flask:
    """Build the Flask application from `config` (default: the environment)."""
    app = Flask(__name__, instance_relative_config=True, instance_path=_instance_path(config))
    config = (config or Config.from_env()).resolve(app.instance_path)
    app.config.update(
        VBP=config,
        SECRET_KEY=config.secret_key,
        TESTING=config.testing,
        MAX_CONTENT_LENGTH=config.max_content_length,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.production,
        # The cookie's own expiry; the server's session record (core.sessions) is what counts.
        PERMANENT_SESSION_LIFETIME=timedelta(hours=config.session_hours),
        JSON_SORT_KEYS=False,
    )
    # Path ids beyond 64 bits are not ids: 404, not an overflow inside the database driver.
    app.url_map.converters["int"] = BoundedIntConverter
    app.json.ensure_ascii = False  # type: ignore[attr-defined]  # Chinese stays readable in JSON
    logging.basicConfig(level=logging.INFO if not config.testing else logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

    from app import auth, cli, db, errors, input_guard
    from app.api import init_api
    from app.web import init_web
    from core import clock, crypto_suites

    clock.configure(config.timezone)  # the domain's business dates follow the province's zone
    crypto_suites.configure(config.crypto_suite)  # new security records use the deployment's suite

    db.init_app(
        app, config.database_url or "", config.database_replica_url, pgbouncer=config.database_pgbouncer
    )
    errors.register_error_handlers(app)
    input_guard.init_app(app)  # before authentication: a malformed request is refused as such
    auth.init_app(app)
    init_api(app, config)
    init_web(app)
    from app.public import init_public

    init_public(app)  # public disclosure: no login, rate-limited, cached
    cli.init_app(app)
    app.after_request(_security_headers)
    app.wsgi_app = HeadAsGet(app.wsgi_app)  # type: ignore[method-assign]
    if config.proxy_count:
        # Trust X-Forwarded-For/-Proto from exactly the configured proxies (the login throttle
        # counts by client address); never X-Forwarded-Host: no address is built from the request.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=config.proxy_count, x_proto=config.proxy_count, x_host=0
        )
    return app


class HeadAsGet:
    """WSGI middleware: a HEAD request is served exactly as GET, then its body is dropped.

    Flask would otherwise run a GET+POST view for HEAD with request.method == "HEAD", and a view
    that only distinguishes GET from "anything else" would treat it as a write (a HEAD to /login
    with a form body logged in, past the CSRF check that covered POST only). Here no view ever
    sees HEAD: a HEAD to a POST-only route is a 405 like GET, and HEAD cannot change anything a
    GET cannot. Headers, Content-Length included, are those of the GET (RFC 9110 §9.3.2).
    """

    def __init__(self, wsgi_app: Any) -> None:
        self.wsgi_app = wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("REQUEST_METHOD") != "HEAD":
            return self.wsgi_app(environ, start_response)
        environ["REQUEST_METHOD"] = "GET"
        body = self.wsgi_app(environ, start_response)
        if hasattr(body, "close"):
            body.close()
        return []


class BoundedIntConverter(IntegerConverter):
    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)


def _instance_path(config: Config | None) -> str:
    if config is not None and config.instance_path:
        return str(Path(config.instance_path).resolve())
    from os import environ

    if environ.get("VBP_INSTANCE_PATH"):
        return str(Path(environ["VBP_INSTANCE_PATH"]).resolve())
    return str(Path(__file__).resolve().parent.parent / "instance")


#: Sent with every response. Pages and the API docs load scripts, styles, images and fonts from
#: this site only, run no inline script or style, and may not be framed; `data:` images are
#: Swagger UI's inline SVG icons.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def bid_sealer() -> BidSealer:
    """The app's bid sealer, built from the configured keys (kept out of the database): it seals
    under the deployment's suite and opens under whichever suite a bid records."""
    from flask import current_app

    from bidding.sealing import BidSealer

    sealer = current_app.extensions.get("vbp.sealer")
    if sealer is None:
        config = current_app.config["VBP"]
        sealer = BidSealer.from_base64(
            config.bid_sealing_key, sm4=config.bid_sealing_key_sm4, suite=config.crypto_suite
        )
        current_app.extensions["vbp.sealer"] = sealer
    return sealer
