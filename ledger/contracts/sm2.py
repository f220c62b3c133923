"""The domestic suite's signature on an agreement PDF (VBP_CRYPTO_SUITE=sm; issue 20 item 5).

pyHanko makes PAdES signatures with ECDSA or RSA keys only, so under the domestic suite each
party's signed PDF also carries an SM2 signature (with SM3) by that party, made with an SM2 key
kept beside its signing certificate. The signature covers the exact bytes of the signed version,
is stored with that version (`AgreementDocument.extra_signature`, naming its suite) and is checked
by the public verification. Documents made under the standard suite carry none and stay valid
after a switch: a record says which suite made it.
"""

from __future__ import annotations

import base64
from typing import Any

from core import crypto_suites
from ledger.contracts.models import SigningCertificate

SUITE = crypto_suites.SM
ALGORITHM = "SM2-with-SM3"


def _wrapping_key(key_password: bytes, row: SigningCertificate) -> bytes:
    return crypto_suites.get(SUITE).derive_key(key_password, b"agreement-sm2-key:" + row.fingerprint.encode())


def _private_key(row: SigningCertificate, key_password: bytes) -> str:
    """The holder's SM2 private key, made (and stored sealed) on first use."""
    suite = crypto_suites.get(SUITE)
    if row.sm2_public_pem is None or row.sm2_key_sealed is None:
        private, public = crypto_suites.generate_signing_key(suite=SUITE)
        row.sm2_key_sealed = suite.seal(
            _wrapping_key(key_password, row), private.encode(), row.fingerprint.encode()
        )
        row.sm2_public_pem = public
        return private
    return suite.open(_wrapping_key(key_password, row), row.sm2_key_sealed, row.fingerprint.encode()).decode()


def countersign(row: SigningCertificate, pdf: bytes, key_password: bytes) -> dict[str, Any] | None:
    """Under the domestic suite, the holder's SM2 signature over the signed PDF; else None."""
    if crypto_suites.current().name != SUITE:
        return None
    signature = crypto_suites.sign(_private_key(row, key_password), pdf, suite=SUITE)
    return {
        "suite": SUITE,
        "algorithm": ALGORITHM,
        "sm3": crypto_suites.get(SUITE).digest(pdf),
        "signature": base64.b64encode(signature).decode(),
        "public_key": row.sm2_public_pem,
        "certificate_fingerprint": row.fingerprint,
    }


def problem(extra: dict[str, Any] | None, pdf: bytes) -> str | None:
    """Why a stored domestic signature does not hold for `pdf`, or None (also None when the
    version was made under a suite that adds none)."""
    if not extra:
        return None
    if extra.get("suite") != SUITE or extra.get("algorithm") != ALGORITHM:
        return f"未知的签名算法 (unknown signature algorithm {extra.get('algorithm')!r})"
    if crypto_suites.get(SUITE).digest(pdf) != extra.get("sm3"):
        return "SM3 摘要不符 (the file's SM3 digest does not match its SM2 signature)"
    try:
        crypto_suites.verify(
            str(extra["public_key"]), pdf, base64.b64decode(str(extra["signature"])), suite=SUITE
        )
    except (crypto_suites.SignatureInvalid, ValueError, KeyError):
        return "SM2 签名无效 (the SM2 signature does not verify)"
    return None
