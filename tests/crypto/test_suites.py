"""The two suites' algorithms against their published test vectors, and signatures round trip."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core import crypto_suites
from core.crypto_suites import SM, STANDARD, AeadFailed, SignatureInvalid, UnknownSuite

SM3_ABC = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"  # GB/T 32905 A.1
# GB/T 32905 A.2: "abcd" repeated 16 times.
SM3_ABCD16 = "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"
SM4_KEY = bytes.fromhex("0123456789abcdeffedcba9876543210")  # GB/T 32907 A.1: key = plaintext
SM4_CIPHERTEXT = "681edf34d206965e86b3e94f536e4246"


def test_sm3_matches_the_published_test_vectors() -> None:
    sm = crypto_suites.get(SM)
    assert sm.digest(b"abc") == SM3_ABC
    assert sm.digest(b"abcd" * 16) == SM3_ABCD16


def test_sha256_is_the_standard_suites_digest() -> None:
    assert crypto_suites.get(STANDARD).digest(b"abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def test_sm4_block_matches_the_published_test_vector() -> None:
    # One block, as the standard's example gives it (ECB of a single block is the bare cipher).
    encryptor = Cipher(algorithms.SM4(SM4_KEY), modes.ECB()).encryptor()  # noqa: S305
    assert (encryptor.update(SM4_KEY) + encryptor.finalize()).hex() == SM4_CIPHERTEXT


def test_sm4_gcm_is_the_sm_suites_aead_and_detects_any_changed_byte() -> None:
    sm = crypto_suites.get(SM)
    blob = sm.seal(SM4_KEY, b"price 1234", b"bid-1")
    assert sm.open(SM4_KEY, blob, b"bid-1") == b"price 1234"
    for i in range(len(blob)):
        changed = bytearray(blob)
        changed[i] ^= 0x01
        with pytest.raises(AeadFailed):
            sm.open(SM4_KEY, bytes(changed), b"bid-1")
    with pytest.raises(AeadFailed):
        sm.open(SM4_KEY, blob, b"bid-2")
    with pytest.raises(AeadFailed):
        sm.open(bytes(16), blob, b"bid-1")


def test_the_standard_suites_blob_is_what_aesgcm_makes() -> None:
    std = crypto_suites.get(STANDARD)
    key = std.generate_key()
    blob = std.seal(key, b"x", b"ad")
    assert AESGCM(key).decrypt(blob[:12], blob[12:], b"ad") == b"x"
    nonce = bytes(12)
    assert std.open(key, nonce + AESGCM(key).encrypt(nonce, b"y", b"ad"), b"ad") == b"y"


def test_each_suite_refuses_a_key_of_the_other_length() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        crypto_suites.get(SM).seal(bytes(32), b"x", b"")
    with pytest.raises(ValueError, match="32 bytes"):
        crypto_suites.get(STANDARD).seal(bytes(16), b"x", b"")


def test_hmac_sm3_differs_from_hmac_sha256_and_depends_on_the_key() -> None:
    sm, std = crypto_suites.get(SM), crypto_suites.get(STANDARD)
    assert sm.hmac(b"k", b"m") != std.hmac(b"k", b"m")
    assert sm.hmac(b"k", b"m") != sm.hmac(b"l", b"m")
    assert len(sm.hmac(b"k", b"m")) == 64
    # RFC 4231 test case 2 for the standard suite.
    assert std.hmac(b"Jefe", b"what do ya want for nothing?") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


@pytest.mark.parametrize("name", [STANDARD, SM])
def test_a_signature_verifies_and_a_changed_byte_fails(name: str) -> None:
    private_pem, public_pem = crypto_suites.generate_signing_key(suite=name)
    data = "带量采购购销协议 v1".encode()
    signature = crypto_suites.sign(private_pem, data, suite=name)
    crypto_suites.verify(public_pem, data, signature, suite=name)
    with pytest.raises(SignatureInvalid):
        crypto_suites.verify(public_pem, data[:-1] + b"2", signature, suite=name)
    broken = bytearray(signature)
    broken[len(broken) // 2] ^= 0x01
    with pytest.raises((SignatureInvalid, ValueError)):
        crypto_suites.verify(public_pem, data, bytes(broken), suite=name)
    _, other_public = crypto_suites.generate_signing_key(suite=name)
    with pytest.raises(SignatureInvalid):
        crypto_suites.verify(other_public, data, signature, suite=name)


def test_an_sm2_key_is_an_sm2_key_and_a_p256_key_is_not() -> None:
    sm_private, sm_public = crypto_suites.generate_signing_key(suite=SM)
    std_private, std_public = crypto_suites.generate_signing_key(suite=STANDARD)
    # The SM2 curve's object identifier 1.2.156.10197.1.301 is in the public key.
    assert bytes.fromhex("2a811ccf5501822d") in base64.b64decode("".join(sm_public.splitlines()[1:-1]))
    with pytest.raises(ValueError, match="SM2"):
        crypto_suites.sign(std_private, b"x", suite=SM)
    with pytest.raises(ValueError, match="P-256"):
        crypto_suites.sign(sm_private, b"x", suite=STANDARD)
    signature = crypto_suites.sign(sm_private, b"x", suite=SM)
    with pytest.raises(ValueError, match="SM2"):
        crypto_suites.verify(std_public, b"x", signature, suite=SM)


def test_an_unknown_suite_name_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(UnknownSuite, match="standard, sm"):
        crypto_suites.get("gost")
