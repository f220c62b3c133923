"""Signing certificates of organizations and the record of each signature (a new PDF version).

Private keys: encrypted PKCS#8 in `signing_certificates.key_pkcs8`, under VBP_PKI_KEY_PASSWORD
(outside the database, like the bid-sealing key). Kept with the certificate row so a key and its
certificate come and go in one transaction; a database copy alone cannot sign.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from cryptography import x509
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import audit, pki
from core.actors import Actor, OrgKind, Role
from core.errors import Conflict, InvalidState, PermissionDenied
from core.organizations import Organization
from ledger.contracts.models import AgreementDocument, Party, ProcurementAgreement, SigningCertificate
from ledger.contracts.queries import latest_version, party_of
from ledger.contracts.states import AGREEMENT, after_signature


def active_certificate(session: Session, org_id: int) -> SigningCertificate | None:
    return session.scalar(
        select(SigningCertificate).where(
            SigningCertificate.org_id == org_id, SigningCertificate.active.is_(True)
        )
    )


def certificates_of(session: Session, actor: Actor) -> list[SigningCertificate]:
    """The actor's organization's certificates, newest first (the bureau: all)."""
    stmt = select(SigningCertificate).order_by(SigningCertificate.id.desc())
    if not actor.is_bureau:
        stmt = stmt.where(SigningCertificate.org_id == actor.org_id)
    return list(session.scalars(stmt))


def _store(
    session: Session,
    actor: Actor,
    org_id: int,
    credential: pki.Credential,
    *,
    source: str,
    key_password: bytes,
    now: datetime,
) -> SigningCertificate:
    fp = pki.fingerprint(credential.cert)
    if session.scalar(select(SigningCertificate.id).where(SigningCertificate.fingerprint == fp)) is not None:
        raise Conflict("该证书已导入 (certificate already registered)", code="certificate_exists")
    session.execute(
        update(SigningCertificate)
        .where(SigningCertificate.org_id == org_id, SigningCertificate.active.is_(True))
        .values(active=False)
    )
    row = SigningCertificate(
        org_id=org_id,
        fingerprint=fp,
        subject=credential.cert.subject.rfc4514_string()[:500],
        serial_hex=format(credential.cert.serial_number, "x"),
        source=source,
        cert_pem=pki.pem([credential.cert]),
        chain_pem=pki.pem(credential.chain),
        key_pkcs8=pki.encrypt_key(credential.key, key_password),
        not_before=credential.cert.not_valid_before_utc,
        not_after=credential.cert.not_valid_after_utc,
        active=True,
        created_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        f"signing_certificate.{source}",
        subject_type="signing_certificate",
        subject_id=row.id,
        subject_org_id=org_id,
        after={"fingerprint": fp, "subject": row.subject, "not_after": row.not_after},
        now=now,
    )
    return row


def issue_certificate(
    session: Session,
    actor: Actor,
    org: Organization,
    *,
    ca: pki.PlatformCA,
    key_password: bytes,
    now: datetime,
) -> SigningCertificate:
    """A signing key and certificate from the platform CA for `org` (demo; on demand)."""
    credential = pki.issue_signer(ca, org_name=org.name, org_code=org.uscc, now=now)
    return _store(session, actor, org.id, credential, source="platform", key_password=key_password, now=now)


def import_certificate(
    session: Session,
    actor: Actor,
    *,
    data: bytes,
    password: str,
    roots: Sequence[x509.Certificate],
    key_password: bytes,
    now: datetime,
) -> SigningCertificate:
    """An organization admin imports its PKCS#12 (production); it must chain to a trust root."""
    if actor.role is not Role.ADMIN or actor.org_kind not in (OrgKind.HOSPITAL, OrgKind.MANUFACTURER):
        raise PermissionDenied("仅医疗机构或企业的管理员可导入签名证书 (hospital or enterprise admins only)")
    assert actor.org_id is not None  # noqa: S101 - an organization's admin has one
    credential = pki.import_pkcs12(data, password, roots=roots, now=now)
    return _store(
        session, actor, actor.org_id, credential, source="imported", key_password=key_password, now=now
    )


def credential_of(row: SigningCertificate, key_password: bytes) -> pki.Credential:
    return pki.Credential(
        pki.decrypt_key(row.key_pkcs8, key_password),
        pki.load_pem_certs(row.cert_pem)[0],
        tuple(pki.load_pem_certs(row.chain_pem)),
    )


def signing_party(agreement: ProcurementAgreement, actor: Actor) -> Party:
    """The side the actor signs for; refused for the bureau and for anyone not a party, and for a
    party that has signed already or an agreement no longer open to signatures."""
    party = party_of(agreement, actor)
    if party is None or not actor.can_write:
        raise PermissionDenied("只有协议双方可以签署 (only the parties may sign)", code="not_a_party")
    signed_at = agreement.hospital_signed_at if party is Party.HOSPITAL else agreement.enterprise_signed_at
    if signed_at is not None:
        raise InvalidState("本方已签署 (your side has signed already)", code="already_signed")
    AGREEMENT.check(agreement.status, after_signature(agreement.status, party.value))
    return party


def add_document(
    session: Session,
    agreement: ProcurementAgreement,
    pdf: bytes,
    *,
    signed_by: Party | None = None,
    certificate_id: int | None = None,
    extra: dict[str, Any] | None = None,
    now: datetime,
) -> AgreementDocument:
    doc = AgreementDocument(
        agreement_id=agreement.id,
        version=latest_version(session, agreement.id) + 1,
        pdf=pdf,
        sha256=pki.digest(pdf),
        signed_by=signed_by,
        certificate_id=certificate_id,
        extra_signature=extra,
        created_at=now,
    )
    session.add(doc)
    session.flush()
    return doc


def record_signature(
    session: Session,
    actor: Actor,
    agreement: ProcurementAgreement,
    *,
    party: Party,
    pdf: bytes,
    certificate: SigningCertificate,
    extra: dict[str, Any] | None,
    now: datetime,
) -> AgreementDocument:
    """Store the PDF a party's signature made as the next version and move the agreement."""
    before = agreement.status
    AGREEMENT.move(agreement, after_signature(before, party.value))
    if party is Party.HOSPITAL:
        agreement.hospital_signed_at = now
    else:
        agreement.enterprise_signed_at = now
    doc = add_document(
        session, agreement, pdf, signed_by=party, certificate_id=certificate.id, extra=extra, now=now
    )
    audit.record(
        session,
        actor,
        "agreement.sign",
        subject_type="procurement_agreement",
        subject_id=agreement.id,
        subject_org_id=agreement.hospital_id,
        before={"status": before.value},
        after={
            "status": agreement.status.value,
            "party": party.value,
            "version": doc.version,
            "sha256": doc.sha256,
            "certificate": certificate.fingerprint,
        },
        now=now,
    )
    return doc
