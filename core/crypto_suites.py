"""Cryptographic algorithm suites (密码算法套件): the standard one and the domestic one (国密).

A deployment picks one suite (VBP_CRYPTO_SUITE, app/config.py), set once at start-up through
`configure`; every new security record is made with it:

| purpose | standard | sm (自主可控密码技术) |
|---|---|---|
| sealing bid prices (AEAD) | AES-256-GCM | SM4-GCM (GB/T 32907), 16-byte keys |
| audit chain, statement digests, receipt digests | SHA-256 | SM3 (GB/T 32905) |
| request fingerprints, idempotency keys (MAC, KDF) | HMAC-SHA256, HKDF-SHA256 | HMAC-SM3, HKDF-SM3 |
| signatures | ECDSA P-256 with SHA-256 | SM2 with SM3 (GB/T 32918, via tongsuopy) |

Records store the name of the suite that made them (a `suite` column), and whoever checks a
record asks `get(record.suite)`, never `current()`: a platform switched from one suite to the
other still opens the bids and verifies the audit rows made before the switch.

SM3 and SM4 come from `cryptography` (OpenSSL); SM2 from `tongsuopy`, the Tongsuo project's
Python SDK (the `cryptography` package has no SM2). Both digests are 256 bits, so every digest
column keeps its 64 hex characters.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, CipherAlgorithm, algorithms, modes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

STANDARD = "standard"
SM = "sm"
NONCE_BYTES = 12
TAG_BYTES = 16


class UnknownSuite(ValueError):
    """A suite name that is not in the registry (the message lists the known ones)."""


class AeadFailed(Exception):
    """A ciphertext failed authentication: altered, moved, truncated, or sealed under another key."""


class SignatureInvalid(Exception):
    """A signature does not match the data under the given public key."""


@dataclass(frozen=True)
class CryptoSuite:
    """One named set of algorithms: digest, MAC, key derivation, AEAD and signatures."""

    name: str
    #: What users read, Chinese first.
    label: str
    digest_name: str
    cipher_name: str
    signature_name: str
    #: AEAD key length in bytes (AES-256: 32, SM4: 16).
    key_bytes: int
    _hash: Callable[[], hashes.HashAlgorithm] = field(repr=False)
    _cipher: Callable[[bytes], CipherAlgorithm] = field(repr=False)
    _signer: _Signer = field(repr=False)

    def digest(self, data: bytes) -> str:
        """Hex digest of `data` (SHA-256 or SM3, 64 hex characters)."""
        h = hashes.Hash(self._hash())
        h.update(data)
        return h.finalize().hex()

    def hmac(self, key: bytes, data: bytes) -> str:
        """Hex HMAC of `data` under `key` (HMAC-SHA256 or HMAC-SM3)."""
        mac = hmac.HMAC(key, self._hash())
        mac.update(data)
        return mac.finalize().hex()

    def derive_key(self, material: bytes, purpose: bytes, length: int | None = None) -> bytes:
        """A key for one purpose from secret material (HKDF with the suite's hash)."""
        kdf = HKDF(algorithm=self._hash(), length=length or self.key_bytes, salt=None, info=purpose)
        return kdf.derive(material)

    def generate_key(self) -> bytes:
        """A fresh random AEAD key of the suite's length."""
        return os.urandom(self.key_bytes)

    def check_key(self, key: bytes) -> None:
        if len(key) != self.key_bytes:
            raise ValueError(f"{self.cipher_name} keys are {self.key_bytes} bytes, not {len(key)}")

    def seal(self, key: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
        """nonce ‖ ciphertext ‖ tag, the associated data bound in (AES-256-GCM or SM4-GCM)."""
        self.check_key(key)
        nonce = os.urandom(NONCE_BYTES)
        encryptor = Cipher(self._cipher(key), modes.GCM(nonce)).encryptor()
        encryptor.authenticate_additional_data(associated_data)
        body = encryptor.update(plaintext) + encryptor.finalize()
        return nonce + body + encryptor.tag

    def open(self, key: bytes, blob: bytes, associated_data: bytes) -> bytes:
        """The plaintext of a `seal` blob; AeadFailed if anything about it was changed."""
        self.check_key(key)
        if len(blob) < NONCE_BYTES + TAG_BYTES:
            raise AeadFailed("ciphertext too short")
        nonce, body, tag = blob[:NONCE_BYTES], blob[NONCE_BYTES:-TAG_BYTES], blob[-TAG_BYTES:]
        decryptor = Cipher(self._cipher(key), modes.GCM(nonce, tag)).decryptor()
        decryptor.authenticate_additional_data(associated_data)
        try:
            return decryptor.update(body) + decryptor.finalize()
        except InvalidTag as exc:
            raise AeadFailed("ciphertext failed authentication") from exc

    def generate_signing_key(self) -> tuple[str, str]:
        """A new signing key pair as PEM text: (private key, PKCS#8; public key, SubjectPublicKeyInfo)."""
        return self._signer.generate()

    def sign(self, private_key_pem: str | bytes, data: bytes) -> bytes:
        """DER signature of `data` (ECDSA P-256/SHA-256 or SM2/SM3) with a PEM private key."""
        return self._signer.sign(_bytes(private_key_pem), data)

    def verify(self, public_key_pem: str | bytes, data: bytes, signature: bytes) -> None:
        """Return if `signature` is this suite's signature of `data`; SignatureInvalid otherwise."""
        self._signer.verify(_bytes(public_key_pem), data, signature)


class _Signer:
    def generate(self) -> tuple[str, str]:
        raise NotImplementedError

    def sign(self, private_pem: bytes, data: bytes) -> bytes:
        raise NotImplementedError

    def verify(self, public_pem: bytes, data: bytes, signature: bytes) -> None:
        raise NotImplementedError


class _EcdsaP256(_Signer):
    """ECDSA on NIST P-256 with SHA-256 (`cryptography`)."""

    def generate(self) -> tuple[str, str]:
        from cryptography.hazmat.primitives.asymmetric import ec

        return _pem_pair(ec.generate_private_key(ec.SECP256R1()), _std_serialization())

    def sign(self, private_pem: bytes, data: bytes) -> bytes:
        from cryptography.hazmat.primitives.asymmetric import ec

        try:
            key = _std_serialization().load_pem_private_key(private_pem, password=None)
        except UnsupportedAlgorithm as exc:
            raise ValueError("not an ECDSA P-256 private key") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
            raise ValueError("not an ECDSA P-256 private key")
        return key.sign(data, ec.ECDSA(hashes.SHA256()))

    def verify(self, public_pem: bytes, data: bytes, signature: bytes) -> None:
        from cryptography.hazmat.primitives.asymmetric import ec

        try:
            key = _std_serialization().load_pem_public_key(public_pem)
        except UnsupportedAlgorithm as exc:
            raise ValueError("not an ECDSA P-256 public key") from exc
        if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
            raise ValueError("not an ECDSA P-256 public key")
        try:
            key.verify(signature, data, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature as exc:
            raise SignatureInvalid("ECDSA P-256 signature does not match") from exc


class _Sm2(_Signer):
    """SM2 with SM3 (`tongsuopy`; the signer's default distinguishing id of GB/T 35276)."""

    def generate(self) -> tuple[str, str]:
        from tongsuopy.crypto import serialization
        from tongsuopy.crypto.asymciphers import ec

        return _pem_pair(ec.generate_private_key(ec.SM2()), serialization)

    def sign(self, private_pem: bytes, data: bytes) -> bytes:
        from tongsuopy.crypto import hashes as sm_hashes
        from tongsuopy.crypto import serialization
        from tongsuopy.crypto.asymciphers import ec
        from tongsuopy.crypto.exceptions import UnsupportedAlgorithm

        try:
            key = serialization.load_pem_private_key(private_pem, password=None)
        except UnsupportedAlgorithm as exc:
            raise ValueError("not an SM2 private key") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SM2):
            raise ValueError("not an SM2 private key")
        return bytes(key.sign(data, ec.ECDSA(sm_hashes.SM3())))

    def verify(self, public_pem: bytes, data: bytes, signature: bytes) -> None:
        from tongsuopy.crypto import hashes as sm_hashes
        from tongsuopy.crypto import serialization
        from tongsuopy.crypto.asymciphers import ec
        from tongsuopy.crypto.exceptions import InvalidSignature as SmInvalidSignature
        from tongsuopy.crypto.exceptions import UnsupportedAlgorithm

        try:
            key = serialization.load_pem_public_key(public_pem)
        except UnsupportedAlgorithm as exc:
            raise ValueError("not an SM2 public key") from exc
        if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SM2):
            raise ValueError("not an SM2 public key")
        try:
            key.verify(signature, data, ec.ECDSA(sm_hashes.SM3()))
        except SmInvalidSignature as exc:
            raise SignatureInvalid("SM2 signature does not match") from exc


def _std_serialization() -> Any:
    from cryptography.hazmat.primitives import serialization

    return serialization


def _pem_pair(key: Any, serialization: Any) -> tuple[str, str]:
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private.decode(), public.decode()


def _bytes(pem: str | bytes) -> bytes:
    return pem.encode() if isinstance(pem, str) else pem


SUITES: dict[str, CryptoSuite] = {
    STANDARD: CryptoSuite(
        name=STANDARD,
        label="标准算法 (standard: AES-256-GCM, SHA-256, ECDSA P-256)",
        digest_name="SHA-256",
        cipher_name="AES-256-GCM",
        signature_name="ECDSA P-256",
        key_bytes=32,
        _hash=hashes.SHA256,
        _cipher=algorithms.AES,
        _signer=_EcdsaP256(),
    ),
    SM: CryptoSuite(
        name=SM,
        label="国密算法 (domestic: SM4-GCM, SM3, SM2)",
        digest_name="SM3",
        cipher_name="SM4-GCM",
        signature_name="SM2",
        key_bytes=16,
        _hash=hashes.SM3,
        _cipher=algorithms.SM4,
        _signer=_Sm2(),
    ),
}


def get(name: str) -> CryptoSuite:
    """The suite of this name (a record's `suite`); UnknownSuite names the known ones."""
    try:
        return SUITES[name]
    except KeyError:
        known = ", ".join(SUITES)
        raise UnknownSuite(
            f"未知的密码算法套件 {name!r} (unknown cryptographic suite; known: {known})"
        ) from None


_current = SUITES[STANDARD]


def configure(name: str) -> None:
    """Select the suite new records are made with (once, at start-up; an unknown name raises)."""
    global _current  # one process-wide setting, like the time zone (core/clock.py)
    _current = get(name)


def current() -> CryptoSuite:
    """The suite new records are made with."""
    return _current


# Helpers for other parts (agreement PDF signatures): the suite by name, PEM keys in and out.
def sign(private_key_pem: str | bytes, data: bytes, *, suite: str | None = None) -> bytes:
    """Sign `data` with a PEM private key under `suite` (default: the current suite)."""
    return (get(suite) if suite else current()).sign(private_key_pem, data)


def verify(public_key_pem: str | bytes, data: bytes, signature: bytes, *, suite: str | None = None) -> None:
    """Check a signature under `suite` (default: the current suite); SignatureInvalid if it fails."""
    (get(suite) if suite else current()).verify(public_key_pem, data, signature)


def generate_signing_key(*, suite: str | None = None) -> tuple[str, str]:
    """(private PEM, public PEM) of a new signing key for `suite` (default: the current suite)."""
    return (get(suite) if suite else current()).generate_signing_key()
