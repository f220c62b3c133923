"""Sealed bids: AES-256-GCM encryption of the price, and the bidder's receipt digest.

Before the opening no one, the bureau included, can read a price: the database holds only
ciphertext, and the key lives outside it (environment or a key file the operator keeps apart
from the database backups). The associated data binds a ciphertext to its bid, so moving or
editing a ciphertext makes decryption fail, which the opening reports as tampering.

The receipt digest is SHA-256 over the bid's content and a random salt that is itself sealed.
Without the salt, the small space of plausible prices could be searched from the digest alone;
the bidder gets the salt in its receipt and can check the opened bid against it.

The plaintext is padded to a fixed length before encryption: AES-GCM keeps the plaintext's length,
so unpadded, a 96-byte ciphertext would tell 12.34 from a 95-byte 6.83.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.errors import DomainError

NONCE_BYTES = 12
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


def receipt_digest(content: BidContent, salt: str) -> str:
    """SHA-256 hex over the canonical bid content and its salt (what the receipt shows)."""
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
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Sealed:
    key_id: str
    blob: bytes
    digest: str
    salt: str


@dataclass(frozen=True)
class Opened:
    pack_price_fen: int
    salt: str


class BidSealer:
    """Seals and opens bid prices with one current key and any number of older keys (rotation)."""

    def __init__(self, keys: dict[str, bytes], current_key_id: str) -> None:
        for key_id, key in keys.items():
            if len(key) != 32:
                raise ValueError(f"bid sealing key {key_id!r} must be 32 bytes (AES-256)")
        if current_key_id not in keys:
            raise ValueError("current bid sealing key id not among the keys")
        self._keys, self.current_key_id = dict(keys), current_key_id

    @classmethod
    def from_base64(cls, encoded: str, key_id: str = "k1") -> BidSealer:
        return cls({key_id: base64.urlsafe_b64decode(encoded.strip())}, key_id)

    @staticmethod
    def generate_key() -> str:
        return base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode()

    def seal(self, content: BidContent) -> Sealed:
        """Encrypt the price with a fresh salt; return the blob and the receipt digest."""
        salt = secrets.token_hex(16)
        nonce = os.urandom(NONCE_BYTES)
        plaintext = _padded(json.dumps({"pack_price_fen": content.pack_price_fen, "salt": salt}).encode())
        blob = nonce + AESGCM(self._keys[self.current_key_id]).encrypt(
            nonce, plaintext, content.associated_data()
        )
        return Sealed(self.current_key_id, blob, receipt_digest(content, salt), salt)

    def open(self, key_id: str, blob: bytes, content_without_price: BidContent) -> Opened:
        """Decrypt; SealBroken if the key is unknown or the ciphertext/associated data was altered."""
        key = self._keys.get(key_id)
        if key is None:
            raise SealBroken(f"未知的密钥 {key_id} (unknown sealing key)")
        try:
            plaintext = AESGCM(key).decrypt(
                blob[:NONCE_BYTES], blob[NONCE_BYTES:], content_without_price.associated_data()
            )
        except (InvalidTag, ValueError) as exc:
            raise SealBroken() from exc
        data = json.loads(plaintext)  # JSON ignores the trailing padding (spaces); older bids had none
        return Opened(pack_price_fen=int(data["pack_price_fen"]), salt=str(data["salt"]))


def _padded(plaintext: bytes) -> bytes:
    if len(plaintext) > PADDED_BYTES:
        raise ValueError("sealed bid content longer than the padded length")
    return plaintext.ljust(PADDED_BYTES, b" ")
