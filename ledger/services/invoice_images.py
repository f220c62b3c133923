"""发票影像: images of first and second invoices (supervision-and-interop.md §6).

The type is sniffed from the bytes — PDF (`%PDF-`), JPEG (FF D8 FF), PNG (its 8-byte signature),
OFD (GB/T 33190: a ZIP whose root holds OFD.xml) — never taken from the declared content type; a
known extension that names another type is refused. The SHA-256 of the bytes is stored; the bytes
stay in the database (one transaction with the record, backed up with it) and never reach a log or
an audit event. Records are never changed: a replacement is a new record pointing at the old one.
Only the invoice's parties (seller and buyer; issuer and hospital) and the bureau see an image.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from core import audit, file_types
from core.actors import Actor, Role
from core.errors import NotFound, PermissionDenied, TooLarge, UnsupportedMedia, ValidationFailed
from core.file_types import TYPES, sniff
from ledger.models import Invoice
from ledger.models.upstream import InvoiceImage, UpstreamInvoice

#: Default largest image (a setting: VBP_INVOICE_IMAGE_MAX_BYTES).
DEFAULT_MAX_BYTES = 10 * 1024 * 1024


class UnsupportedImage(UnsupportedMedia):
    """Not a PDF, OFD, JPEG or PNG (HTTP 415)."""

    code = "unsupported_media_type"
    message = "仅支持 PDF、OFD、JPEG、PNG 格式 (PDF, OFD, JPEG or PNG only)"


class ImageTooLarge(TooLarge):
    """Beyond the configured size (HTTP 413)."""


def safe_filename(name: str, content_type: str) -> str:
    """The uploaded name made safe, with the sniffed type's extension (core/file_types.py)."""
    return file_types.safe_filename(name, content_type, default="invoice")


def _invoice_parties(
    session: Session, *, invoice_id: int | None, upstream_invoice_id: int | None
) -> tuple[int, int]:
    if upstream_invoice_id is not None:
        up = session.get(UpstreamInvoice, upstream_invoice_id)
        if up is None:
            raise NotFound("未找到发票 (invoice not found)")
        return up.seller_id, up.buyer_id
    second = session.get(Invoice, invoice_id or 0)
    if second is None:
        raise NotFound("未找到发票 (invoice not found)")
    return second.issuer_id, second.hospital_id


def attach_image(
    session: Session,
    actor: Actor,
    *,
    data: bytes,
    filename: str,
    now: datetime,
    invoice_id: int | None = None,
    upstream_invoice_id: int | None = None,
    replaces_id: int | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> InvoiceImage:
    """Attach an image to one invoice (second or upstream) as one of its parties."""
    parties = _invoice_parties(session, invoice_id=invoice_id, upstream_invoice_id=upstream_invoice_id)
    if not actor.is_bureau and actor.org_id not in parties:
        raise NotFound("未找到发票 (invoice not found)")
    if actor.is_bureau or actor.role not in (Role.ADMIN, Role.OPERATOR):
        raise PermissionDenied("仅发票当事方可上传影像 (the invoice's parties upload images)")
    if len(data) > max_bytes:
        raise ImageTooLarge(
            f"文件超过 {max_bytes // (1024 * 1024)} MB (larger than the limit)",
            fields={"file": [f"至多 {max_bytes} 字节 (at most {max_bytes} bytes)"]},
        )
    if not data:
        raise ValidationFailed(fields={"file": ["文件为空 (empty file)"]})
    content_type = sniff(data)
    if content_type is None:
        raise UnsupportedImage(fields={"file": ["仅支持 PDF、OFD、JPEG、PNG (PDF, OFD, JPEG or PNG only)"]})
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    known = {e for exts in TYPES.values() for e in exts}
    if ext in known and ext not in TYPES[content_type]:
        raise ValidationFailed(
            fields={
                "file": [
                    f"扩展名 .{ext} 与文件内容（{content_type}）不符 (extension does not match the content)"
                ]
            }
        )
    if replaces_id is not None:
        old = session.get(InvoiceImage, replaces_id)
        if old is None or (old.invoice_id, old.upstream_invoice_id) != (invoice_id, upstream_invoice_id):
            raise ValidationFailed(fields={"replaces_id": ["须为同一发票的影像 (an image of this invoice)"]})
    image = InvoiceImage(
        invoice_id=invoice_id,
        upstream_invoice_id=upstream_invoice_id,
        content_type=content_type,
        filename=safe_filename(filename, content_type),
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        replaces_id=replaces_id,
        uploaded_by_org_id=actor.org_id,
        uploaded_by=actor.user_id,
        uploaded_at=now,
        data=data,
    )
    session.add(image)
    session.flush()  # a racing replacement of the same image hits uq_invoice_images_replaces_id: 409
    audit.record(
        session,
        actor,
        "invoice_image.attach",
        subject_type="invoice_image",
        subject_id=image.id,
        after={
            "invoice_id": invoice_id,
            "upstream_invoice_id": upstream_invoice_id,
            "content_type": content_type,
            "size_bytes": image.size_bytes,
            "sha256": image.sha256,
            "replaces_id": replaces_id,
        },
        now=now,
    )
    return image


def images_visible_to(actor: Actor) -> Select[tuple[InvoiceImage]]:
    """Images of invoices the actor is a party to; all for the bureau."""
    stmt = select(InvoiceImage)
    if actor.is_bureau:
        return stmt
    org = actor.org_id
    return stmt.where(
        or_(
            InvoiceImage.invoice_id.in_(
                select(Invoice.id).where(or_(Invoice.issuer_id == org, Invoice.hospital_id == org))
            ),
            InvoiceImage.upstream_invoice_id.in_(
                select(UpstreamInvoice.id).where(
                    or_(UpstreamInvoice.seller_id == org, UpstreamInvoice.buyer_id == org)
                )
            ),
        )
    )


def get_image(session: Session, actor: Actor, image_id: int) -> InvoiceImage:
    found = session.scalars(images_visible_to(actor).where(InvoiceImage.id == image_id)).first()
    if found is None:
        raise NotFound("未找到发票影像 (invoice image not found)")
    return found


def images_of(
    session: Session, actor: Actor, *, invoice_id: int | None = None, upstream_invoice_id: int | None = None
) -> list[InvoiceImage]:
    parties = _invoice_parties(session, invoice_id=invoice_id, upstream_invoice_id=upstream_invoice_id)
    if not actor.is_bureau and actor.org_id not in parties:
        raise NotFound("未找到发票 (invoice not found)")
    stmt = images_visible_to(actor).order_by(InvoiceImage.id)
    if upstream_invoice_id is not None:
        return list(session.scalars(stmt.where(InvoiceImage.upstream_invoice_id == upstream_invoice_id)))
    return list(session.scalars(stmt.where(InvoiceImage.invoice_id == invoice_id)))
