"""发票影像 (issue 19 item 3): PDF, OFD, JPEG or PNG images of first and second invoices, uploaded by
the invoice's parties and served only to them and the bureau."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from marshmallow import fields

from app.api.files import file_responses
from app.auth import WRITERS, current_actor, requires
from app.db import request_session, unit_of_work
from core import clock
from core.actors import OrgKind
from core.errors import ValidationFailed
from core.validation import BaseSchema
from ledger.services import invoice_images

PREFIX = ""
blp = Blueprint("invoice_images", __name__, description="发票影像 (invoice images)")


class ImageUploadSchema(BaseSchema):
    file = Upload(required=True, metadata={"description": "PDF, OFD, JPEG or PNG"})


class ImageSchema(BaseSchema):
    id = fields.Integer()
    invoice_id = fields.Integer(allow_none=True)
    upstream_invoice_id = fields.Integer(allow_none=True)
    content_type = fields.String()
    filename = fields.String()
    size_bytes = fields.Integer()
    sha256 = fields.String()
    replaces_id = fields.Integer(allow_none=True)
    uploaded_at = fields.DateTime()


def _attach(**target: int) -> Any:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ValidationFailed(fields={"file": ["请上传发票影像文件 (upload the image as 'file')"]})
    limit = current_app.config["VBP"].invoice_image_max_bytes
    raw = request.form.get("replaces_id", "").strip()
    if raw and not raw.isdigit():
        raise ValidationFailed(fields={"replaces_id": ["须为影像编号 (an image id)"]})
    with unit_of_work() as session:
        return invoice_images.attach_image(
            session,
            current_actor(),
            data=upload.read(limit + 1),  # one byte past the limit is enough to refuse it
            filename=upload.filename,
            replaces_id=int(raw) if raw else None,
            max_bytes=limit,
            now=clock.now(),
            **target,
        )


@blp.route("/invoices/<int:invoice_id>/images", methods=["POST"])
@requires(OrgKind.DISTRIBUTOR, OrgKind.HOSPITAL, OrgKind.MANUFACTURER, roles=WRITERS)
@blp.arguments(ImageUploadSchema, location="files")
@blp.response(201, ImageSchema)
def attach_to_invoice(_files: dict[str, Any], invoice_id: int) -> Any:
    """Attach an image to a second invoice (issuer or hospital); form field `replaces_id` replaces one."""
    return _attach(invoice_id=invoice_id)


@blp.route("/upstream-invoices/<int:invoice_id>/images", methods=["POST"])
@requires(OrgKind.DISTRIBUTOR, OrgKind.HOSPITAL, OrgKind.MANUFACTURER, roles=WRITERS)
@blp.arguments(ImageUploadSchema, location="files")
@blp.response(201, ImageSchema)
def attach_to_upstream(_files: dict[str, Any], invoice_id: int) -> Any:
    """Attach an image to an upstream invoice (seller or buyer)."""
    return _attach(upstream_invoice_id=invoice_id)


@blp.route("/invoices/<int:invoice_id>/images", methods=["GET"])
@requires()
@blp.response(200, ImageSchema(many=True))
def list_invoice_images(invoice_id: int) -> Any:
    return invoice_images.images_of(request_session(), current_actor(), invoice_id=invoice_id)


@blp.route("/upstream-invoices/<int:invoice_id>/images", methods=["GET"])
@requires()
@blp.response(200, ImageSchema(many=True))
def list_upstream_images(invoice_id: int) -> Any:
    return invoice_images.images_of(request_session(), current_actor(), upstream_invoice_id=invoice_id)


@blp.route("/invoice-images/<int:image_id>/content", methods=["GET"])
@requires()
@blp.doc(**file_responses(*invoice_images.TYPES, description="发票影像 (invoice image)"))
def image_content(image_id: int) -> Response:
    """The image's bytes, as the type sniffed at upload."""
    image = invoice_images.get_image(request_session(), current_actor(), image_id)
    response = Response(image.data, mimetype=image.content_type)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="invoice-image-{image.id}.{image.filename.rsplit(".", 1)[-1]}"'
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response
