"""Sealed bids: AEAD encryption of the price, and the bidder's receipt digest.

Before the opening no one, the bureau included, can read a price: the database holds only
ciphertext, and the key lives outside it (environment or a key file the operator keeps apart
from the database backups). The associated data binds a ciphertext to its bid, so moving or
editing a ciphertext makes decryption fail, which the opening reports as tampering.

The algorithms are the deployment's suite (core/crypto_suites.py): AES-256-GCM and SHA-256, or
SM4-GCM and SM3. A bid records the suite and key id that sealed it, and is opened with those,
whatever the suite is now: each suite has its own keys (rotation by key id within a suite).

The receipt digest is the suite's digest over the bid's content and a random salt that is itself
sealed. Without the salt, the small space of plausible prices could be searched from the digest
alone; the bidder gets the salt in its receipt and can check the opened bid against it.

The plaintext is padded to a fixed length before encryption: GCM keeps the plaintext's length,
so unpadded, a 96-byte ciphertext would tell 12.34 from a 95-byte 6.83.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from core import crypto_suites
from core.crypto_suites import STANDARD, AeadFailed, CryptoSuite
from core.errors import DomainError

#: Every sealed plaintext is padded to this many bytes: the longest price (a 64-bit fen amount)
#: and the salt fit with room to spare, so every ciphertext has one length.
PADDED_BYTES = 128


class SealBroken(DomainError):
    code = "bid_tampered"
    message = "投标密文校验失败，疑似被篡改 (sealed bid failed authentication: tampered)"


@dataclass(frozen=True)
class BidContent:
    """What is sealed, and what the digest covers."""

    public_id: str
    batch_id: int
    item_id: int
    manufacturer_id: int
    product_id: int
    pack_price_fen: int
    accepts_revival: bool
    submitted_at: datetime

    def associated_data(self) -> bytes:
        parts = (self.public_id, self.batch_id, self.item_id, self.manufacturer_id, self.product_id)
        return "|".join(str(p) for p in parts).encode()


def receipt_digest(content: BidContent, salt: str, suite: str = STANDARD) -> str:
    """The suite's hex digest over the canonical bid content and its salt (what the receipt shows)."""
    canonical = json.dumps(
        {
            "public_id": content.public_id,
            "batch_id": content.batch_id,
            "item_id": content.item_id,
            "manufacturer_id": content.manufacturer_id,
            "product_id": content.product_id,
            "pack_price_fen": content.pack_price_fen,
            "accepts_revival": content.accepts_revival,
            "submitted_at": content.submitted_at.isoformat(timespec="microseconds"),
            "salt": salt,
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return crypto_suites.get(suite).digest(canonical.encode())


@dataclass(frozen=True)
class Sealed:
    suite: str
    key_id: str
    blob: bytes
    digest: str
    salt: str


@dataclass(frozen=True)
class Opened:
    pack_price_fen: int
    salt: str


@dataclass(frozen=True)
class KeyRing:
    """One suite's sealing keys by id, and the id new bids are sealed with (rotation)."""

    keys: Mapping[str, bytes]
    current_key_id: str


class BidSealer:
    """Seals under one suite's current key; opens under the suite and key id a bid records."""

    def __init__(self, rings: Mapping[str, KeyRing], *, suite: str = STANDARD) -> None:
        for name, ring in rings.items():
            algorithms = crypto_suites.get(name)
            for key_id, key in ring.keys.items():
                if len(key) != algorithms.key_bytes:
                    raise ValueError(
                        f"bid sealing key {key_id!r} must be {algorithms.key_bytes} bytes "
                        f"({algorithms.cipher_name})"
                    )
            if ring.current_key_id not in ring.keys:
                raise ValueError(f"current {name} bid sealing key id not among the keys")
        if suite not in rings:
            raise ValueError(f"no bid sealing key for the {suite} suite")
        self._rings = {name: KeyRing(dict(r.keys), r.current_key_id) for name, r in rings.items()}
        self.suite: CryptoSuite = crypto_suites.get(suite)

    @property
    def current_key_id(self) -> str:
        return self._rings[self.suite.name].current_key_id

    @classmethod
    def from_base64(
        cls,
        encoded: str | None,
        key_id: str = "k1",
        *,
        sm4: str | None = None,
        suite: str = STANDARD,
    ) -> BidSealer:
        """From the configured keys: the AES-256 key and, if given, the SM4 key (both base64)."""
        rings = {}
        if encoded:
            rings[STANDARD] = KeyRing({key_id: base64.urlsafe_b64decode(encoded.strip())}, key_id)
        if sm4:
            rings[crypto_suites.SM] = KeyRing({key_id: base64.urlsafe_b64decode(sm4.strip())}, key_id)
        return cls(rings, suite=suite)

    @staticmethod
    def generate_key(suite: str = STANDARD) -> str:
        return base64.urlsafe_b64encode(crypto_suites.get(suite).generate_key()).decode()

    def seal(self, content: BidContent) -> Sealed:
        """Encrypt the price with a fresh salt; return the blob and the receipt digest."""
        salt = secrets.token_hex(16)
        plaintext = _padded(json.dumps({"pack_price_fen": content.pack_price_fen, "salt": salt}).encode())
        key_id = self.current_key_id
        blob = self.suite.seal(
            self._rings[self.suite.name].keys[key_id], plaintext, content.associated_data()
        )
        digest = receipt_digest(content, salt, self.suite.name)
        return Sealed(self.suite.name, key_id, blob, digest, salt)

    def open(
        self, key_id: str, blob: bytes, content_without_price: BidContent, *, suite: str = STANDARD
    ) -> Opened:
        """Decrypt under the suite and key that sealed it; SealBroken if the key is unknown or the
        ciphertext/associated data was altered."""
        ring = self._rings.get(suite)
        key = ring.keys.get(key_id) if ring else None
        if key is None:
            raise SealBroken(f"未配置 {suite} 套件的密钥 {key_id} (unknown sealing key)")
        try:
            plaintext = crypto_suites.get(suite).open(key, blob, content_without_price.associated_data())
        except (AeadFailed, ValueError) as exc:
            raise SealBroken() from exc
        data = json.loads(plaintext)  # JSON ignores the trailing padding (spaces); older bids had none
        return Opened(pack_price_fen=int(data["pack_price_fen"]), salt=str(data["salt"]))


def _padded(plaintext: bytes) -> bytes:
    if len(plaintext) > PADDED_BYTES:
        raise ValueError("sealed bid content longer than the padded length")
    return plaintext.ljust(PADDED_BYTES, b" ")
