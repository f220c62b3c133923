"""The platform CA and signing certificates for agreements signed online (issue 20 item 4).

The platform CA (a key and a self-signed certificate) lives in files, in the instance folder or
VBP_PKI_PATH, never in the database: `flask pki init` creates it (development and tests create
it on first use). Organizations' signing keys are ECDSA P-256; a key issued here for the demo is
stored in the database encrypted as PKCS#8 under a password that is not in the database
(VBP_PKI_KEY_PASSWORD), so a copy of the database alone signs nothing. Production organizations
import a PKCS#12 (key + certificate + chain) issued by a CA the platform trusts.

Chain validation here is deliberately small: each certificate is signed by the next, issuers
are CAs, every certificate is valid at the moment, and the top one is a configured trust root.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from core.errors import ValidationFailed

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
CA_KEY_FILE, CA_CERT_FILE = "platform_ca_key.pem", "platform_ca_cert.pem"
#: The CA outlives many certificates; an organization's signing certificate is renewed yearly
#: like the agreements it signs (vbp-rules.md §1.8).
CA_YEARS, SIGNER_DAYS = 20, 2 * 366


class PkiMissing(RuntimeError):
    """No platform CA where the configuration says; run `flask pki init`."""


@dataclass(frozen=True)
class PlatformCA:
    key: PrivateKey
    cert: x509.Certificate


@dataclass(frozen=True)
class Credential:
    """A signing key with its certificate and the chain up to (and including) its root."""

    key: PrivateKey
    cert: x509.Certificate
    chain: tuple[x509.Certificate, ...]


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


def pem(certs: Iterable[x509.Certificate]) -> str:
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in certs)


def load_pem_certs(text: str | bytes) -> list[x509.Certificate]:
    data = text.encode() if isinstance(text, str) else text
    return x509.load_pem_x509_certificates(data) if data.strip() else []


def _name(common_name: str, organization: str, unit: str | None = None) -> x509.Name:
    parts = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ]
    if unit:
        parts.insert(2, x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    return x509.Name(parts)


def create_ca(*, name: str, now: dt.datetime) -> PlatformCA:
    """A new platform CA: ECDSA P-256 key, self-signed certificate valid CA_YEARS years."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(name, name, "平台CA (platform CA)")
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return PlatformCA(key, cert)


def save_ca(ca: PlatformCA, directory: Path, password: bytes) -> None:
    """Write the CA into `directory` (key encrypted, file mode 0600); never overwrites."""
    directory.mkdir(parents=True, exist_ok=True)
    key_path, cert_path = directory / CA_KEY_FILE, directory / CA_CERT_FILE
    if key_path.exists() or cert_path.exists():
        raise FileExistsError(f"platform CA already exists in {directory}")
    key_path.touch(mode=0o600)
    key_path.write_bytes(encrypt_key(ca.key, password))
    cert_path.write_bytes(ca.cert.public_bytes(serialization.Encoding.PEM))


def load_ca(directory: Path, password: bytes) -> PlatformCA:
    key_path, cert_path = directory / CA_KEY_FILE, directory / CA_CERT_FILE
    if not (key_path.is_file() and cert_path.is_file()):
        raise PkiMissing(
            f"平台CA不存在 (no platform CA in {directory}): 请运行 flask pki init (run flask pki init)"
        )
    return PlatformCA(decrypt_key(key_path.read_bytes(), password), load_pem_certs(cert_path.read_bytes())[0])


def encrypt_key(key: PrivateKey, password: bytes) -> bytes:
    """PKCS#8 PEM, encrypted with the best encryption `cryptography` offers for the password."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(password),
    )


def decrypt_key(data: bytes, password: bytes) -> PrivateKey:
    key = serialization.load_pem_private_key(data, password=password)
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ValueError("unsupported key type")
    return key


def issue_signer(ca: PlatformCA, *, org_name: str, org_code: str, now: dt.datetime) -> Credential:
    """A signing key and certificate for an organization, issued by the platform CA (demo)."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(org_name, org_name, org_code))
        .issuer_name(ca.cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(min(now + dt.timedelta(days=SIGNER_DAYS), ca.cert.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,  # non-repudiation: the party commits to the agreement
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.cert.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
        .sign(ca.key, hashes.SHA256())
    )
    return Credential(key, cert, (ca.cert,))


def chain_problem(
    cert: x509.Certificate,
    intermediates: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
    *,
    now: dt.datetime,
) -> tuple[list[x509.Certificate], str | None]:
    """Build the chain from `cert` to one of `roots`: (chain above cert, None) or ([], the problem)."""
    trusted = {fingerprint(r): r for r in roots}
    pool = list(intermediates) + list(roots)
    chain: list[x509.Certificate] = []
    current = cert
    for _ in range(8):
        if not current.not_valid_before_utc <= now <= current.not_valid_after_utc:
            return [], f"证书不在有效期内 (certificate not valid now): {current.subject.rfc4514_string()}"
        if fingerprint(current) in trusted and current is not cert:
            return chain, None
        issuer = next((c for c in pool if c.subject == current.issuer and _signed_by(current, c)), None)
        if issuer is None:
            return [], "证书未由受信任的CA签发 (certificate does not chain to a trusted root)"
        try:
            is_ca = issuer.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            is_ca = False
        if not is_ca:
            return [], "签发者不是CA (issuer is not a CA)"
        chain.append(issuer)
        current = issuer
    return [], "证书链过长 (certificate chain too long)"


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def import_pkcs12(
    data: bytes, password: str, *, roots: Sequence[x509.Certificate], now: dt.datetime
) -> Credential:
    """A credential from a PKCS#12 file: refused (422 naming the field) unless it opens with the
    password, holds an ECDSA P-256 or RSA ≥ 2048 key with its certificate, and chains to a root."""
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, password.encode() or None)
    except (ValueError, TypeError) as exc:
        raise ValidationFailed(
            fields={
                "file": [
                    "无法打开PKCS#12文件：文件损坏或密码错误 (cannot open the PKCS#12: bad file or password)"
                ]
            }
        ) from exc
    if key is None or cert is None:
        raise ValidationFailed(
            fields={"file": ["PKCS#12须包含私钥和证书 (must hold a key and its certificate)"]}
        )
    if not (
        (isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(key.curve, ec.SECP256R1))
        or (isinstance(key, rsa.RSAPrivateKey) and key.key_size >= 2048)
    ):
        raise ValidationFailed(
            fields={"file": ["仅支持ECDSA P-256或RSA-2048及以上密钥 (ECDSA P-256 or RSA ≥ 2048 only)"]}
        )
    if cert.public_key() != key.public_key():
        raise ValidationFailed(fields={"file": ["证书与私钥不匹配 (certificate does not match the key)"]})
    chain, problem = chain_problem(cert, extra, roots, now=now)
    if problem:
        raise ValidationFailed(fields={"file": [problem]})
    return Credential(key, cert, tuple(chain))


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
