"""Stored answers of retried writes (the Idempotency-Key header), kept in the write's transaction.

The store holds nothing a database reader could use. A stored answer can be a sealed bid's
receipt, whose salt with the digest gives the price away in at most 100,000 hash tries, and a
request body holds the price itself; so:

- the caller's key and the request's fingerprint are HMAC-SHA256 digests under a server key (an
  unkeyed hash of a bid's body is found by hashing every plausible price);
- the answer is encrypted (AES-256-GCM) and bound to its caller, key, method and path, so a row
  cannot be moved to answer another request.

Both keys are derived (HKDF-SHA256) from the application's secrets, the bid-sealing key among
them, and are never stored: whoever can read these rows in clear can also open the bids.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from datetime import datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import BigInteger, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, IdPK

#: Format tag of an encrypted stored answer.
SEALED_PREFIX = "v1:"
_NONCE_BYTES = 12


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key", name="one_per_user"),)

    id: Mapped[IdPK]
    #: Scope: one caller's keys never collide with another's.
    user_id: Mapped[int] = mapped_column(BigInteger)
    #: HMAC of the caller's Idempotency-Key (the key a client chose may say what it sends).
    key: Mapped[str] = mapped_column(String(100))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(300))
    #: HMAC of method, path and body: the same key with a different request is an error.
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    #: The first answer, encrypted ("v1:" + base64 of nonce and AES-GCM ciphertext).
    response_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class ReplayUnreadable(Exception):
    """A stored answer failed authentication: altered, moved, or written under other keys."""


class ReplayKeys:
    """Keyed fingerprints and encrypted answers for the idempotency store."""

    def __init__(self, *secrets: bytes) -> None:
        if not secrets or not all(secrets):
            raise ValueError("the idempotency keys need the application's secrets")
        material = b"".join(hashlib.sha256(s).digest() for s in secrets)
        self._mac_key = _derive(material, b"vbp idempotency fingerprint v1")
        self._aead = AESGCM(_derive(material, b"vbp idempotency answer v1"))

    def key_digest(self, user_id: int, key: str) -> str:
        """What is stored for a caller's Idempotency-Key (looked up by it, never reversed)."""
        return self._mac(b"key\n%d\n" % user_id + key.encode("utf-8", "surrogatepass"))

    def fingerprint(self, method: str, path: str, body: bytes) -> str:
        """HMAC-SHA256 of the request: tells a retry from another request under the same key."""
        return self._mac(
            b"request\n" + method.encode() + b" " + path.encode("utf-8", "surrogatepass") + b"\n" + body
        )

    def seal_answer(self, answer: str, *, bound_to: str) -> str:
        """Encrypt an answer for storage, bound to its record (caller, key, method, path)."""
        nonce = os.urandom(_NONCE_BYTES)
        blob = nonce + self._aead.encrypt(nonce, answer.encode(), bound_to.encode())
        return SEALED_PREFIX + base64.b64encode(blob).decode()

    def open_answer(self, stored: str, *, bound_to: str) -> str:
        """The stored answer in clear; ReplayUnreadable when it was altered, moved or is not ours."""
        if not stored.startswith(SEALED_PREFIX):
            raise ReplayUnreadable("not an encrypted answer")
        try:
            blob = base64.b64decode(stored[len(SEALED_PREFIX) :], validate=True)
            clear = self._aead.decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], bound_to.encode())
        except (InvalidTag, ValueError) as exc:
            raise ReplayUnreadable("the stored answer failed authentication") from exc
        return clear.decode()

    def _mac(self, message: bytes) -> str:
        return hmac.new(self._mac_key, message, hashlib.sha256).hexdigest()


def _derive(material: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(material)
