"""Publicity period and objections (公示与异议, supervision-and-interop.md §8): proposals of a batch's
results, objections lodged by its bidders with attachments, the bureau's answers and finality.
Views: check role → validate → unit_of_work(service) → dump."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from marshmallow import fields

import bidding.publicity_messaging  # noqa: F401  (registers who hears of proposals and objections)
from app.api.files import file_responses
from app.auth import WRITERS, current_actor, requires
from app.db import request_session, unit_of_work
from app.idempotency import idempotent
from bidding import objections, publicity
from bidding.publicity_schemas import ObjectionAnswerSchema, ObjectionLodgeSchema
from core import clock
from core.actors import OrgKind
from core.errors import ValidationFailed
from core.file_types import TYPES
from core.validation import BaseSchema

PREFIX = ""
blp = Blueprint("publicity", __name__, description="公示与异议 (publicity period and objections)")


class ProposalSchema(BaseSchema):
    id = fields.Integer()
    batch_id = fields.Integer()
    seq = fields.Integer(metadata={"description": "第几次公示 (1, then one more per re-derivation)"})
    kind = fields.String(metadata={"description": "results | backup"})
    status = fields.String(metadata={"description": "proposed (公示中) | final | void"})
    period_starts_at = fields.DateTime()
    period_ends_at = fields.DateTime()
    supersedes_id = fields.Integer(allow_none=True)
    proposed_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)
    snapshot = fields.Method(
        "_snapshot",
        metadata={
            "description": "品种、拟中选企业、中选价、供应地区 (items, proposed winners, prices, regions)"
        },
    )

    def _snapshot(self, proposal: Any) -> dict[str, Any]:
        return publicity.visible_snapshot(current_actor(), proposal)


class AttachmentSchema(BaseSchema):
    id = fields.Integer()
    content_type = fields.String()
    filename = fields.String()
    size_bytes = fields.Integer()
    sha256 = fields.String()
    uploaded_at = fields.DateTime()


class ObjectionSchema(BaseSchema):
    id = fields.Integer()
    proposal_id = fields.Integer()
    batch_id = fields.Integer()
    objector_org_id = fields.Integer()
    item_ids = fields.List(fields.Integer())
    reasons = fields.String()
    status = fields.String(
        metadata={"description": "lodged | sustained | partly_sustained | dismissed | withdrawn"}
    )
    lodged_at = fields.DateTime()
    answered_at = fields.DateTime(allow_none=True)
    answer_reasons = fields.String(allow_none=True)
    correction = fields.List(fields.Dict(), allow_none=True)
    new_proposal_id = fields.Integer(allow_none=True)
    attachments = fields.List(fields.Nested(AttachmentSchema))


class AttachmentUploadSchema(BaseSchema):
    file = Upload(required=True, metadata={"description": "PDF, OFD, JPEG or PNG"})


@blp.route("/batches/<int:batch_id>/proposals", methods=["GET"])
@requires()
@blp.response(200, ProposalSchema(many=True))
def batch_proposals(batch_id: int) -> Any:
    """The batch's proposals (公示), oldest first: the current one is `proposed`."""
    return publicity.proposals_of(request_session(), current_actor(), batch_id)


@blp.route("/proposals/<int:proposal_id>", methods=["GET"])
@requires()
@blp.response(200, ProposalSchema)
def get_proposal(proposal_id: int) -> Any:
    return publicity.get_proposal(request_session(), current_actor(), proposal_id)


@blp.route("/proposals/<int:proposal_id>/finalize", methods=["POST"])
@requires(OrgKind.BUREAU, roles=WRITERS)
@idempotent()
@blp.response(200, ProposalSchema)
def finalize(proposal_id: int) -> Any:
    """Make the results final once the period has ended with no open objection (409 before)."""
    with unit_of_work() as session:
        return publicity.finalize_proposal(session, current_actor(), proposal_id, now=clock.now())


@blp.route("/proposals/<int:proposal_id>/objections", methods=["POST"])
@requires(OrgKind.MANUFACTURER, roles=WRITERS)
@idempotent()
@blp.arguments(ObjectionLodgeSchema)
@blp.response(201, ObjectionSchema)
def lodge(data: dict[str, Any], proposal_id: int) -> Any:
    """A bidder of the batch objects to items it bid on, with reasons, before the period ends (409 after)."""
    with unit_of_work() as session:
        return objections.lodge_objection(
            session,
            current_actor(),
            proposal_id,
            item_ids=data["item_ids"],
            reasons=data["reasons"],
            now=clock.now(),
        )


@blp.route("/objections", methods=["GET"])
@requires(OrgKind.BUREAU, OrgKind.MANUFACTURER)
@blp.response(200, ObjectionSchema(many=True))
def list_objections() -> Any:
    """The bureau: every objection; a bidder: its own."""
    return list(request_session().scalars(objections.objections_visible_to(current_actor())))


@blp.route("/objections/<int:objection_id>", methods=["GET"])
@requires(OrgKind.BUREAU, OrgKind.MANUFACTURER)
@blp.response(200, ObjectionSchema)
def get_objection(objection_id: int) -> Any:
    return objections.get_objection(request_session(), current_actor(), objection_id)


@blp.route("/objections/<int:objection_id>/answer", methods=["POST"])
@requires(OrgKind.BUREAU, roles=WRITERS)
@idempotent()
@blp.arguments(ObjectionAnswerSchema)
@blp.response(200, ObjectionSchema)
def answer(data: dict[str, Any], objection_id: int) -> Any:
    """Sustained, partly sustained or dismissed, with reasons; a (partly) sustained answer carries its
    correction (exclude / reinstate bids), re-derives the results and proposes them again."""
    days = current_app.config["VBP"].publicity_days
    with unit_of_work() as session:
        return objections.answer_objection(
            session,
            current_actor(),
            objection_id,
            decision=data["decision"],
            reasons=data["reasons"],
            correction=data["correction"],
            now=clock.now(),
            days=days,
        )


@blp.route("/objections/<int:objection_id>/withdraw", methods=["POST"])
@requires(OrgKind.MANUFACTURER, roles=WRITERS)
@idempotent()
@blp.response(200, ObjectionSchema)
def withdraw(objection_id: int) -> Any:
    """The objector withdraws its objection before the answer."""
    with unit_of_work() as session:
        return objections.withdraw_objection(session, current_actor(), objection_id, now=clock.now())


@blp.route("/objections/<int:objection_id>/attachments", methods=["POST"])
@requires(OrgKind.MANUFACTURER, roles=WRITERS)
@blp.arguments(AttachmentUploadSchema, location="files")
@blp.response(201, AttachmentSchema)
def attach(_files: dict[str, Any], objection_id: int) -> Any:
    """Attach a PDF, OFD, JPEG or PNG to one's objection (type sniffed from the bytes; size limited)."""
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationFailed(fields={"file": ["请上传附件 (upload the document as 'file')"]})
    limit = current_app.config["VBP"].objection_attachment_max_bytes
    with unit_of_work() as session:
        return objections.attach(
            session,
            current_actor(),
            objection_id,
            data=upload.read(limit + 1),  # one byte past the limit is enough to refuse it
            filename=upload.filename,
            max_bytes=limit,
            now=clock.now(),
        )


@blp.route("/objections/<int:objection_id>/attachments/<int:attachment_id>", methods=["GET"])
@requires(OrgKind.BUREAU, OrgKind.MANUFACTURER)
@blp.doc(**file_responses(*TYPES, description="异议附件 (objection attachment)"))
def attachment_content(objection_id: int, attachment_id: int) -> Response:
    """The attachment's bytes, as the type sniffed at upload (the objector and the bureau only)."""
    item = objections.get_attachment(request_session(), current_actor(), objection_id, attachment_id)
    response = Response(item.data, mimetype=item.content_type)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="objection-{objection_id}-{item.id}.{item.filename.rsplit(".", 1)[-1]}"'
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
