"""PAdES signatures on PDFs with pyHanko: sign as an incremental update, and validate.

Signatures are PAdES B-B (CAdES detached, /ETSI.CAdES.detached): no timestamp authority runs
here, and a local one would add nothing a verifier could trust beyond the platform itself. Each
signature is an incremental update, so an earlier signature keeps covering exactly the bytes it
signed; the last one must cover the whole file.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.general import SigningError
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from core.pki import Credential

T = TypeVar("T")


def _asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def _outside_any_event_loop(work: Callable[[], T]) -> T:
    """Run `work` where asyncio.run() may be called. pyHanko's synchronous sign and validate
    calls run their coroutines with asyncio.run(), which refuses to start inside a thread whose
    event loop is running (an async server worker, or a process that drove a browser through
    Playwright's synchronous API): such a caller gets the work done on a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return work()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pades") as pool:
        return pool.submit(work).result()


def sign(pdf: bytes, credential: Credential, *, field_name: str, reason: str, location: str) -> bytes:
    """`pdf` plus an incremental update holding a PAdES B-B signature in field `field_name`."""
    return _outside_any_event_loop(
        lambda: _sign(pdf, credential, field_name=field_name, reason=reason, location=location)
    )


def _sign(pdf: bytes, credential: Credential, *, field_name: str, reason: str, location: str) -> bytes:
    key_der = credential.key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    signer = signers.SimpleSigner(
        signing_cert=_asn1_cert(credential.cert),
        signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
        cert_registry=SimpleCertificateStore.from_certs([_asn1_cert(c) for c in credential.chain]),
    )
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        reason=reason,
        location=location,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    out = signers.sign_pdf(writer, meta, signer=signer, new_field_spec=fields.SigFieldSpec(field_name))
    return bytes(out.getbuffer())


@dataclass(frozen=True)
class SignatureCheck:
    """What validation found about one embedded signature."""

    field_name: str
    signer: str
    signed_at: dt.datetime | None
    intact: bool
    valid: bool
    trusted: bool
    #: "entire_file" | "entire_revision" | "contiguous_block_from_start"
    coverage: str
    #: The changes made after this signature: "none" | "form_filling" | ... | "other".
    modifications: str
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.intact and self.valid and self.trusted and self.problem is None


@dataclass(frozen=True)
class PdfCheck:
    signatures: list[SignatureCheck]
    #: The last signature covers every byte of the file: nothing was appended after it.
    covers_whole_file: bool
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return (
            self.problem is None
            and bool(self.signatures)
            and self.covers_whole_file
            and all(s.ok for s in self.signatures)
        )


#: Changes after a signature that leave it standing: none, or adding the next party's signature.
ACCEPTED = (ModificationLevel.NONE, ModificationLevel.LTA_UPDATES, ModificationLevel.FORM_FILLING)


def validate(pdf: bytes, *, roots: Sequence[x509.Certificate], moment: dt.datetime) -> PdfCheck:
    """Validate every signature of `pdf` against `roots` at `moment`."""
    return _outside_any_event_loop(lambda: _validate(pdf, roots=roots, moment=moment))


def _validate(pdf: bytes, *, roots: Sequence[x509.Certificate], moment: dt.datetime) -> PdfCheck:
    try:
        reader = PdfFileReader(io.BytesIO(pdf), strict=False)
        embedded = list(reader.embedded_signatures)
    except (PdfError, ValueError, KeyError, IndexError, TypeError) as exc:
        return PdfCheck([], False, f"不是可读的PDF (not a readable PDF): {type(exc).__name__}")
    if not embedded:
        return PdfCheck([], False, "PDF中没有签名 (the PDF holds no signature)")
    context = ValidationContext(
        trust_roots=[_asn1_cert(r) for r in roots], moment=moment, allow_fetching=False
    )
    checks = [_check(sig, context) for sig in embedded]
    return PdfCheck(checks, checks[-1].coverage == "entire_file")


def _check(sig: Any, context: ValidationContext) -> SignatureCheck:
    name = str(sig.field_name)
    try:
        status = validate_pdf_signature(sig, context)
    except (SignatureValidationError, SigningError, PdfError, ValueError, KeyError, TypeError) as exc:
        return SignatureCheck(name, "", None, False, False, False, "unknown", "other", type(exc).__name__)
    level = status.modification_level
    subject = status.signing_cert.subject.native if status.signing_cert is not None else {}
    problem = None
    if level is not None and level not in ACCEPTED:
        problem = f"签名后有不允许的修改 (changes after signing: {level.name.lower()})"
    return SignatureCheck(
        field_name=name,
        signer=str(subject.get("organization_name") or subject.get("common_name") or ""),
        signed_at=status.signer_reported_dt,
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=bool(status.trusted),
        coverage=status.coverage.name.lower() if status.coverage is not None else "unknown",
        modifications=level.name.lower() if level is not None else "unknown",
        problem=problem,
    )
