"""Server-rendered pages for hospital staff, enterprise staff and bureau auditors (Jinja templates).

The pages call the same domain services as the JSON API, inside the same units of work, so a page
cannot do what the API refuses. Chinese is the default language and English is switchable; every
visible string goes through Flask-Babel (catalogues in `app/web/translations`).

Forms post back to the page with the session's CSRF token; each write either commits completely
or shows what was wrong and changes nothing.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, session
from flask_babel import Babel

from app.web.common import LANGUAGES, web

TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def select_locale() -> str:
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return str(chosen)
    return "zh"  # Chinese first, whatever the browser asks for; English is one click away


def init_web(app: Flask) -> None:
    app.config.update(
        BABEL_DEFAULT_LOCALE="zh",
        BABEL_DEFAULT_TIMEZONE="Asia/Shanghai",
        BABEL_TRANSLATION_DIRECTORIES=str(TRANSLATIONS),
    )
    Babel(app, locale_selector=select_locale)
    # The views register themselves on the blueprint when imported.
    from app.web import (  # noqa: F401
        agreements,
        audit,
        background_jobs,
        bureau,
        bureau_results,
        catalogue,
        enterprise,
        enterprise_renewal,
        home,
        hospital,
        lists,
        messages,
        procurement_agreements,
        public,
        publicity,
        reconciliation,
        shared,
        supervision_credit,
        supervision_prices,
        supervision_supply,
        warnings,
    )

    app.register_blueprint(web)
