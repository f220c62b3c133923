"""Public disclosure (信息公开): pages under /public and the read-only API under /api/v1/public
(app/api/public.py), with no login, a per-client rate limit and a short answer cache (guard.py)."""

from __future__ import annotations

from flask import Flask

from app.public.guard import PUBLIC_PREFIXES, init_guard

__all__ = ["PUBLIC_PREFIXES", "init_public"]
#: Public routes of other blueprints: checking a signed agreement (API and page).
PUBLIC_ENDPOINTS = ("agreements.verify", "web.verify_agreement_page")


def init_public(app: Flask) -> None:
    """Register the public pages; limit and cache them and the public API (registered with the API)."""
    from app.api import public as public_api
    from app.public.pages import pages

    app.register_blueprint(pages)
    init_guard(app, [pages, public_api.blp], PUBLIC_ENDPOINTS)
