"""Procurement agreements signed online (购销协议, issue 20 item 4): the bureau generates a
batch's agreements, renews and terminates them; hospitals and winners read and sign their own
(PAdES); organization admins import their signing certificate; anyone may verify a PDF.

The per-allocation, per-cycle-year schedule stays at GET /agreements (app/api/renewal.py); the
signed records live at /procurement-agreements.
Views: check role → validate → unit_of_work(service) → dump."""

from __future__ import annotations

from typing import Any

from flask import Response, request
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from flask_smorest.pagination import PaginationParameters

import ledger.contracts.messages  # noqa: F401  (registers who hears of agreement events)
from app import pki as app_pki
from app.api.common import PAGE
from app.api.files import file_responses
from app.auth import WRITERS, current_actor, requires
from app.db import request_session, unit_of_work
from app.idempotency import idempotent
from core import clock
from core.actors import OrgKind, Role
from core.errors import ValidationFailed
from core.validation import BaseSchema
from ledger.contracts import generation, queries, signatures
from ledger.contracts.schemas import (
    AgreementDocumentSchema,
    AgreementTerminationSchema,
    AgreementVerificationSchema,
    ProcurementAgreementQuerySchema,
    ProcurementAgreementSchema,
    SigningCertificateSchema,
)
from reports import agreement_signing

PREFIX = ""
blp = Blueprint(
    "agreements", __name__, description="购销协议与电子签名 (procurement agreements and signatures)"
)
PARTIES = (OrgKind.BUREAU, OrgKind.HOSPITAL, OrgKind.MANUFACTURER)
#: Largest PDF or PKCS#12 accepted for verification or import.
MAX_UPLOAD = 5 * 1024 * 1024


class AgreementPdfUploadSchema(BaseSchema):
    file = Upload(required=True, metadata={"description": "签署后的购销协议PDF (the signed PDF)"})


class Pkcs12UploadSchema(BaseSchema):
    file = Upload(required=True, metadata={"description": "PKCS#12 (.p12/.pfx)"})


def _upload(name: str = "file") -> bytes:
    upload = request.files.get(name)
    if upload is None or not upload.filename:
        raise ValidationFailed(fields={name: ["请上传文件 (upload the file as 'file')"]})
    data = upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD or not data:
        raise ValidationFailed(fields={name: ["文件为空或超过5 MB (empty or larger than 5 MB)"]})
    return data


@blp.route("/batches/<int:batch_id>/procurement-agreements", methods=["POST"])
@requires(OrgKind.BUREAU, roles=WRITERS)
@idempotent()
@blp.response(201, ProcurementAgreementSchema(many=True))
def generate(batch_id: int) -> Any:
    """Generate the agreements of a batch whose results are final, one per hospital × winner,
    from its allocations; returns those created now (none on a second run)."""
    with unit_of_work() as session:
        return agreement_signing.generate(session, current_actor(), batch_id, now=clock.now())


@blp.route("/procurement-agreements", methods=["GET"])
@requires(*PARTIES)
@blp.arguments(ProcurementAgreementQuerySchema, location="query")
@blp.response(200, ProcurementAgreementSchema(many=True))
@blp.paginate(**PAGE)
def list_agreements(query: dict[str, Any], pagination_parameters: PaginationParameters) -> Any:
    """The caller's agreements (a hospital its own, a manufacturer its own, the bureau all)."""
    found = queries.list_agreements(
        request_session(), current_actor(), batch_id=query.get("batch_id"), status=query.get("status")
    )
    pagination_parameters.item_count = len(found)
    start = pagination_parameters.first_item
    return found[start : start + pagination_parameters.page_size]


@blp.route("/procurement-agreements/<int:agreement_id>", methods=["GET"])
@requires(*PARTIES)
@blp.response(200, ProcurementAgreementSchema)
def get_agreement(agreement_id: int) -> Any:
    """One agreement with its lines; another party's is 404."""
    return queries.get_agreement(request_session(), current_actor(), agreement_id)


@blp.route("/procurement-agreements/<int:agreement_id>/pdf", methods=["GET"])
@requires(*PARTIES)
@blp.doc(**file_responses("application/pdf", description="购销协议PDF（现行版本）"))
def agreement_pdf(agreement_id: int) -> Response:
    """The agreement's current PDF (as signed so far)."""
    agreement, document = agreement_signing.document_for(request_session(), current_actor(), agreement_id)
    response = Response(document.pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{agreement.number}-v{document.version}.pdf"'
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Document-Version"] = str(document.version)
    return response


@blp.route("/procurement-agreements/<int:agreement_id>/sign", methods=["POST"])
@requires(OrgKind.HOSPITAL, OrgKind.MANUFACTURER, roles=WRITERS)
@idempotent()
@blp.response(201, AgreementDocumentSchema)
def sign(agreement_id: int) -> Any:
    """The caller's organization signs (PAdES, incremental update); either party may sign first."""
    keys = app_pki.signing_keys()
    with unit_of_work() as session:
        return agreement_signing.sign(session, current_actor(), agreement_id, keys=keys, now=clock.now())


@blp.route("/procurement-agreements/<int:agreement_id>/renewal", methods=["POST"])
@requires(OrgKind.BUREAU, roles=WRITERS)
@idempotent()
@blp.response(201, ProcurementAgreementSchema)
def renew(agreement_id: int) -> Any:
    """The next cycle year's agreement of a signed one (new record; the old one is superseded)."""
    with unit_of_work() as session:
        return agreement_signing.renew(session, current_actor(), agreement_id, now=clock.now())


@blp.route("/procurement-agreements/<int:agreement_id>/termination", methods=["POST"])
@requires(OrgKind.BUREAU, roles=WRITERS)
@idempotent()
@blp.arguments(AgreementTerminationSchema)
@blp.response(200, ProcurementAgreementSchema)
def terminate(data: dict[str, Any], agreement_id: int) -> Any:
    """The bureau ends an agreement, with the reason."""
    with unit_of_work() as session:
        return generation.terminate_agreement(
            session, current_actor(), agreement_id, reason=data["reason"], now=clock.now()
        )


@blp.route("/signing-certificates", methods=["GET"])
@requires(*PARTIES)
@blp.response(200, SigningCertificateSchema(many=True))
def list_certificates() -> Any:
    """The caller's organization's signing certificates (the bureau: all); never a key."""
    return signatures.certificates_of(request_session(), current_actor())


@blp.route("/signing-certificates", methods=["POST"])
@requires(OrgKind.HOSPITAL, OrgKind.MANUFACTURER, roles=(Role.ADMIN,))
@blp.arguments(Pkcs12UploadSchema, location="files")
@blp.response(201, SigningCertificateSchema)
def import_certificate(_files: dict[str, Any]) -> Any:
    """An admin imports the organization's PKCS#12 (form fields `file` and `password`); it must
    chain to the platform CA or a root of VBP_PKI_TRUST_ROOTS. It replaces the active one."""
    data = _upload()
    password = request.form.get("password", "")
    keys = app_pki.signing_keys()
    with unit_of_work() as session:
        return signatures.import_certificate(
            session,
            current_actor(),
            data=data,
            password=password,
            roots=keys.roots,
            key_password=keys.key_password,
            now=clock.now(),
        )


@blp.route("/procurement-agreements/verify", methods=["POST"])
@blp.arguments(AgreementPdfUploadSchema, location="files")
@blp.response(200, AgreementVerificationSchema)
def verify(_files: dict[str, Any]) -> Any:
    """Public: check an agreement PDF (every signature valid and trusted, nothing after the last
    one, the current version of a known agreement). Shows no amounts."""
    data = _upload()
    roots = app_pki.trust_roots()
    return agreement_signing.verify(request_session(), data, roots=roots, now=clock.now())
