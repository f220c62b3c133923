"""Stored answers of retried writes (the Idempotency-Key header), kept in the write's transaction.

The store holds nothing a database reader could use. A stored answer can be a sealed bid's
receipt, whose salt with the digest gives the price away in at most 100,000 hash tries, and a
request body holds the price itself; so:

- the caller's key and the request's fingerprint are HMAC digests under a server key (an
  unkeyed hash of a bid's body is found by hashing every plausible price);
- the answer is encrypted (AEAD) and bound to its caller, key, method and path, so a row
  cannot be moved to answer another request.

Both keys are derived (HKDF) from the application's secrets, the bid-sealing key among them, and
are never stored: whoever can read these rows in clear can also open the bids.

The algorithms are the platform's suite (core/crypto_suites.py): HMAC-SHA256, HKDF-SHA256 and
AES-256-GCM under the AES sealing key, or HMAC-SM3, HKDF-SM3 and SM4-GCM under the SM4 sealing
key. Each record names its suite; a retry is looked up under every suite whose keys are
configured, so one that spans a switch of suites is still recognised and replayed.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core import crypto_suites
from core.crypto_suites import STANDARD, AeadFailed, CryptoSuite
from core.db import Base, IdPK

#: Format tag of an encrypted stored answer.
SEALED_PREFIX = "v1:"


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
    #: The first answer, encrypted ("v1:" + base64 of nonce and AES-GCM or SM4-GCM ciphertext).
    response_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    #: Cryptographic suite of `key`, `request_hash` and `response_body` (core/crypto_suites.py).
    suite: Mapped[str] = mapped_column(String(16), server_default=STANDARD)


class ReplayUnreadable(Exception):
    """A stored answer failed authentication: altered, moved, or written under other keys."""


@dataclass(frozen=True)
class _SuiteKeys:
    suite: CryptoSuite
    mac_key: bytes
    aead_key: bytes


class ReplayKeys:
    """Keyed fingerprints and encrypted answers for the idempotency store, per suite."""

    def __init__(
        self, secret_key: bytes, sealing_keys: Mapping[str, bytes], *, suite: str = STANDARD
    ) -> None:
        """`sealing_keys`: the bid-sealing key of each suite that has one; `suite`: the one new
        records are made with."""
        if not secret_key or not sealing_keys or not all(sealing_keys.values()):
            raise ValueError("the idempotency keys need the application's secrets")
        if suite not in sealing_keys:
            raise ValueError(f"no bid-sealing key for the {suite} suite")
        self._sets: dict[str, _SuiteKeys] = {}
        for name, sealing_key in sealing_keys.items():
            algorithms = crypto_suites.get(name)
            # Standard: exactly the derivation of the records written before suites existed.
            material = b"".join(bytes.fromhex(algorithms.digest(s)) for s in (secret_key, sealing_key))
            self._sets[name] = _SuiteKeys(
                algorithms,
                algorithms.derive_key(material, b"vbp idempotency fingerprint v1", 32),
                algorithms.derive_key(material, b"vbp idempotency answer v1"),
            )
        self.suite = crypto_suites.get(suite)

    def _keys(self, suite: str | None) -> _SuiteKeys:
        keys = self._sets.get(suite or self.suite.name)
        if keys is None:
            raise ReplayUnreadable(f"no keys of the {suite} suite are configured")
        return keys

    def key_digest(self, user_id: int, key: str, suite: str | None = None) -> str:
        """What is stored for a caller's Idempotency-Key (looked up by it, never reversed)."""
        return self._mac(suite, b"key\n%d\n" % user_id + key.encode("utf-8", "surrogatepass"))

    def key_digests(self, user_id: int, key: str) -> list[str]:
        """The key's digest under every configured suite (a retry may span a switch)."""
        return [self.key_digest(user_id, key, name) for name in self._sets]

    def fingerprint(self, method: str, path: str, body: bytes, suite: str | None = None) -> str:
        """HMAC of the request: tells a retry from another request under the same key."""
        return self._mac(
            suite,
            b"request\n" + method.encode() + b" " + path.encode("utf-8", "surrogatepass") + b"\n" + body,
        )

    def seal_answer(self, answer: str, *, bound_to: str) -> str:
        """Encrypt an answer for storage under the current suite, bound to its record (caller,
        key, method, path)."""
        keys = self._keys(None)
        blob = keys.suite.seal(keys.aead_key, answer.encode(), bound_to.encode())
        return SEALED_PREFIX + base64.b64encode(blob).decode()

    def open_answer(self, stored: str, *, bound_to: str, suite: str = STANDARD) -> str:
        """The stored answer in clear; ReplayUnreadable when it was altered, moved or is not ours."""
        if not stored.startswith(SEALED_PREFIX):
            raise ReplayUnreadable("not an encrypted answer")
        keys = self._keys(suite)
        try:
            blob = base64.b64decode(stored[len(SEALED_PREFIX) :], validate=True)
            clear = keys.suite.open(keys.aead_key, blob, bound_to.encode())
        except (AeadFailed, ValueError) as exc:
            raise ReplayUnreadable("the stored answer failed authentication") from exc
        return clear.decode()

    def _mac(self, suite: str | None, message: bytes) -> str:
        keys = self._keys(suite)
        return keys.suite.hmac(keys.mac_key, message)
