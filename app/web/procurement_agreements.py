"""Pages of agreements signed online (购销协议, issue 20 item 4): hospitals and winners see and
sign their own, the bureau generates a batch's agreements and follows their signatures; anyone
checks a signed PDF at /verify/agreements (no login, no amounts)."""

from __future__ import annotations

import contextlib

from flask import Response, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from app import pki as app_pki
from app.db import request_session
from app.web.common import WRITERS, FormFailed, actor, ascii_int, attempt, done, page, paged_list, web
from bidding.models import ProcurementBatch, Product
from core import clock
from core.actors import OrgKind
from ledger.contracts import generation, queries
from ledger.contracts.models import AgreementStatus
from ledger.contracts.states import AGREEMENT
from reports import agreement_signing

PARTIES = (OrgKind.BUREAU, OrgKind.HOSPITAL, OrgKind.MANUFACTURER)
#: Largest PDF the public page checks (the API's limit).
MAX_PDF = 5 * 1024 * 1024
HEADERS = {"X-Robots-Tag": "noindex", "Cache-Control": "no-store"}


@web.route("/procurement-agreements")
@page(*PARTIES)
def procurement_agreements() -> ResponseReturnValue:
    who, db = actor(), request_session()
    batch_id = request.args.get("batch_id", None, type=ascii_int)
    raw = request.args.get("status", "")
    status = AgreementStatus(raw) if raw in {s.value for s in AgreementStatus} else None
    found = queries.list_agreements(db, who, batch_id=batch_id, status=status)
    names = dict(db.execute(select(ProcurementBatch.id, ProcurementBatch.name)).all()) if found else {}
    return render_template(
        "web/procurement_agreements.html",
        pager=paged_list(found),
        batch_id=batch_id,
        status=status,
        statuses=list(AgreementStatus),
        batch_names=names,
        state_label=AGREEMENT.label,
    )


@web.route("/procurement-agreements/<int:agreement_id>")
@page(*PARTIES)
def procurement_agreement(agreement_id: int) -> ResponseReturnValue:
    who, db = actor(), request_session()
    agreement = queries.get_agreement(db, who, agreement_id)
    products = {
        p.id: f"{p.generic_name} {p.spec_text}"
        for p in db.scalars(select(Product).where(Product.id.in_({ln.product_id for ln in agreement.lines})))
    }
    party = queries.party_of(agreement, who)
    signed_at = None
    if party is not None:
        signed_at = (
            agreement.hospital_signed_at if party.value == "hospital" else agreement.enterprise_signed_at
        )
    return render_template(
        "web/procurement_agreement.html",
        a=agreement,
        products=products,
        state_label=AGREEMENT.label(agreement.status),
        can_sign=party is not None
        and who.can_write
        and signed_at is None
        and agreement.status
        in (
            AgreementStatus.GENERATED,
            AgreementStatus.SIGNED_BY_HOSPITAL,
            AgreementStatus.SIGNED_BY_ENTERPRISE,
        ),
        can_renew=who.is_bureau and who.can_write and agreement.status is AgreementStatus.SIGNED,
        version=queries.latest_version(db, agreement.id),
        renewal=queries.renewal_of(db, agreement.id),
    )


@web.route("/procurement-agreements/<int:agreement_id>/agreement.pdf")
@page(*PARTIES)
def procurement_agreement_pdf(agreement_id: int) -> ResponseReturnValue:
    agreement, document = agreement_signing.document_for(request_session(), actor(), agreement_id)
    response = Response(document.pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{agreement.number}-v{document.version}.pdf"'
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@web.route("/procurement-agreements/<int:agreement_id>/sign", methods=["POST"])
@page(OrgKind.HOSPITAL, OrgKind.MANUFACTURER, roles=WRITERS)
def procurement_agreement_sign(agreement_id: int) -> ResponseReturnValue:
    who, keys = actor(), app_pki.signing_keys()
    try:
        attempt(lambda db: agreement_signing.sign(db, who, agreement_id, keys=keys, now=clock.now()))
    except FormFailed:
        return redirect(url_for("web.procurement_agreement", agreement_id=agreement_id))
    return done("已签署 (signature added)", "web.procurement_agreement", agreement_id=agreement_id)


@web.route("/procurement-agreements/<int:agreement_id>/renewal", methods=["POST"])
@page(OrgKind.BUREAU, roles=WRITERS)
def procurement_agreement_renew(agreement_id: int) -> ResponseReturnValue:
    who = actor()
    try:
        new = attempt(lambda db: agreement_signing.renew(db, who, agreement_id, now=clock.now()).id)
    except FormFailed:
        return redirect(url_for("web.procurement_agreement", agreement_id=agreement_id))
    return done("已续签 (renewed)", "web.procurement_agreement", agreement_id=new)


@web.route("/procurement-agreements/<int:agreement_id>/termination", methods=["POST"])
@page(OrgKind.BUREAU, roles=WRITERS)
def procurement_agreement_terminate(agreement_id: int) -> ResponseReturnValue:
    who, reason = actor(), request.form.get("reason", "")
    with contextlib.suppress(FormFailed):  # the error is flashed; the page shows it
        attempt(
            lambda db: generation.terminate_agreement(db, who, agreement_id, reason=reason, now=clock.now())
        )
    return redirect(url_for("web.procurement_agreement", agreement_id=agreement_id))


@web.route("/procurement-agreements/generate", methods=["POST"])
@page(OrgKind.BUREAU, roles=WRITERS)
def procurement_agreements_generate() -> ResponseReturnValue:
    who = actor()
    batch_id = request.form.get("batch_id", None, type=ascii_int) or 0
    try:
        count = attempt(lambda db: len(agreement_signing.generate(db, who, batch_id, now=clock.now())))
    except FormFailed:
        return redirect(url_for("web.procurement_agreements"))
    return done(
        f"新生成购销协议 {count} 份 (agreements generated)", "web.procurement_agreements", batch_id=batch_id
    )


@web.route("/verify/agreements", methods=["GET", "POST"])
def verify_agreement_page() -> ResponseReturnValue:
    """Public: upload a signed agreement PDF and read whether it holds."""
    if request.method == "GET":
        return render_template("web/verify_agreement.html", result=None), 200, HEADERS
    upload = request.files.get("file")
    data = upload.read(MAX_PDF + 1) if upload is not None else b""
    if not data or len(data) > MAX_PDF:
        error = "请选择不超过5 MB的PDF文件 (choose a PDF of at most 5 MB)"
        return render_template("web/verify_agreement.html", result=None, error=error), 422, HEADERS
    result = agreement_signing.verify(request_session(), data, roots=app_pki.trust_roots(), now=clock.now())
    return render_template("web/verify_agreement.html", result=result), 200, HEADERS
