"""What an uploaded document is, from its bytes: PDF (`%PDF-`), JPEG (FF D8 FF), PNG (its 8-byte
signature) or OFD (GB/T 33190: a ZIP whose root holds OFD.xml) — never from the declared content
type. Shared by invoice images (ledger/services/invoice_images.py) and objection attachments
(bidding/objections.py)."""

from __future__ import annotations

import io
import re
import zipfile

#: Sniffed type → the extensions that may name it.
TYPES: dict[str, tuple[str, ...]] = {
    "application/pdf": ("pdf",),
    "application/ofd": ("ofd",),
    "image/jpeg": ("jpg", "jpeg"),
    "image/png": ("png",),
}


def sniff(data: bytes) -> str | None:
    """The content type the bytes are, or None."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                if "OFD.xml" in archive.namelist():
                    return "application/ofd"
        except zipfile.BadZipFile:
            return None
    return None


def extension_mismatch(filename: str, content_type: str) -> str | None:
    """The filename's extension when it names another known type than the bytes are, else None."""
    ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    known = {e for exts in TYPES.values() for e in exts}
    return ext if ext in known and ext not in TYPES[content_type] else None


def safe_filename(name: str, content_type: str, default: str = "file") -> str:
    """The uploaded name reduced to letters, digits, CJK, '-', '_' and '.', with the sniffed type's
    extension; never used as a path."""
    stem = (name or "").replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    stem = re.sub(r"[^\w\-.]", "_", stem, flags=re.UNICODE).strip("._")[:80] or default
    return f"{stem}.{TYPES[content_type][0]}"
