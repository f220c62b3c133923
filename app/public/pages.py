"""Public pages (信息公开, no login): published results, the listing catalogue, the credit list and
notices, Chinese first with English in brackets. They read no session (see app/public/guard.py),
so every visitor, signed in or not, gets the same page for the same address."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template
from flask.typing import ResponseReturnValue

from app.db import request_session
from app.public.guard import PublicQueryError, cached, paging, query_text
from core import clock
from core.glossary import term
from ledger import disclosure, public_proposals

pages = Blueprint("public", __name__, url_prefix="/public", template_folder="templates")


@pages.app_template_filter("zh")
def zh(value: object) -> str:
    """The glossary's Chinese word for a code (core/glossary.py); public pages are Chinese first."""
    return "" if value is None else term(value, "zh")


@pages.errorhandler(PublicQueryError)
def _bad_query(exc: PublicQueryError) -> ResponseReturnValue:
    return render_template("public/error.html", status=400, error=exc), 400


@pages.errorhandler(404)
def _not_found(_exc: Exception) -> ResponseReturnValue:
    return render_template("public/error.html", status=404, error=None), 404


@pages.route("/")
@cached
def index() -> ResponseReturnValue:
    stages = current_app.config["VBP"].ocds_public_stages
    return render_template("public/index.html", stages=stages)


@pages.route("/batches")
@cached
def batches() -> ResponseReturnValue:
    page, size = paging()
    found = disclosure.batch_page(request_session(), page=page, page_size=size)
    return render_template("public/batches.html", found=found)


@pages.route("/batches/<int:batch_id>")
@cached
def batch(batch_id: int) -> ResponseReturnValue:
    results = disclosure.batch_results(request_session(), batch_id)
    if results is None:
        abort(404)
    stages = current_app.config["VBP"].ocds_public_stages
    return render_template("public/batch.html", results=results, stages=stages)


@pages.route("/proposals")
@cached
def proposals() -> ResponseReturnValue:
    page, size = paging()
    found = public_proposals.proposal_page(request_session(), now=clock.now(), page=page, page_size=size)
    return render_template("public/proposals.html", found=found)


@pages.route("/listings")
@cached
def listings() -> ResponseReturnValue:
    page, size = paging()
    q = query_text()
    found = disclosure.listing_page(request_session(), page=page, page_size=size, query=q)
    return render_template("public/listings.html", found=found, q=q)


@pages.route("/credit")
@cached
def credit() -> ResponseReturnValue:
    page, size = paging()
    today = clock.business_date(clock.now())
    found = disclosure.rating_page(request_session(), today=today, page=page, page_size=size)
    return render_template("public/credit.html", found=found, today=today)


@pages.route("/notices")
@cached
def notices() -> ResponseReturnValue:
    page, size = paging()
    found = disclosure.notice_page(request_session(), page=page, page_size=size)
    return render_template("public/notices.html", found=found)


@pages.route("/notices/<int:notice_id>")
@cached
def notice(notice_id: int) -> ResponseReturnValue:
    found = disclosure.public_notice(request_session(), notice_id)
    if found is None:
        abort(404)
    return render_template("public/notice.html", notice=found)


@pages.route("/audit-roots")
@cached
def audit_roots() -> ResponseReturnValue:
    """审计日根: each day's digest over every audit lane head, so anyone can later hold the
    platform to the trail as it stood that day (core/audit_roots.py)."""
    from core.audit_roots import root_page
    from ledger.disclosure import Page

    page, size = paging()
    items, total = root_page(request_session(), page=page, page_size=size)
    return render_template("public/audit_roots.html", found=Page(items, total, page, size))
