"""Public pages (no login): the statement verification page the QR code on every statement PDF
opens. Anyone holding the PDF may read which statement its code belongs to (period, parties,
version, whether it is still current, each party's decision); no amounts, no dispute reasons.
The code itself is the secret the reader presents (256 bits: `ledger.statements.verify`)."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue

from app.db import request_session
from app.web.common import web
from reports.verification import verification

#: How much of an unknown code the page repeats (the address is the visitor's own text).
SHOWN_CODE_CHARS = 80
#: Search engines keep out; each answer is read fresh (a newer version may appear any day).
HEADERS = {"X-Robots-Tag": "noindex", "Cache-Control": "no-store"}


@web.route("/verify/<string:code>")
def verify_page(code: str) -> ResponseReturnValue:
    found = verification(request_session(), code)
    if found is None:
        return render_template("web/verify.html", found=None, code=code[:SHOWN_CODE_CHARS]), 404, HEADERS
    return render_template("web/verify.html", found=found, code=found.code), 200, HEADERS
