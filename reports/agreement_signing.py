"""Agreements as signed PDFs: version 1 rendered when an agreement is generated or renewed, one
PAdES signature per party as an incremental update (either party first), and the public check
of an uploaded PDF (signatures, coverage, and whether it is the current version of a known
agreement)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from sqlalchemy import select
from sqlalchemy.orm import Session

from core import clock, pades, pki
from core.actors import Actor
from core.errors import NotFound
from core.organizations import Organization
from ledger.contracts import generation, signatures, sm2
from ledger.contracts.models import AgreementDocument, AgreementStatus, Party, ProcurementAgreement
from ledger.contracts.queries import get_agreement, latest_document, latest_version, renewal_of
from ledger.contracts.states import AGREEMENT, LIVE
from reports.agreement_pdf import agreement_text, render_agreement

FIELDS = {Party.HOSPITAL: "HospitalSignature", Party.ENTERPRISE: "EnterpriseSignature"}
REASONS = {Party.HOSPITAL: "甲方签署购销协议", Party.ENTERPRISE: "乙方签署购销协议"}


@dataclass(frozen=True)
class Pki:
    """What signing needs from the deployment: the platform CA (to issue demo certificates; None
    where it may not), the trust roots, and the password of stored private keys."""

    ca: pki.PlatformCA | None
    roots: tuple[x509.Certificate, ...]
    key_password: bytes


def _first_version(session: Session, agreement: ProcurementAgreement, now: datetime) -> AgreementDocument:
    return signatures.add_document(
        session, agreement, render_agreement(agreement_text(session, agreement)), now=now
    )


def generate(session: Session, actor: Actor, batch_id: int, *, now: datetime) -> list[ProcurementAgreement]:
    """Generate a batch's agreements (idempotent) and render each new one's PDF."""
    created = generation.generate_agreements(session, actor, batch_id, now=now)
    for agreement in created:
        _first_version(session, agreement, now)
    return created


def renew(session: Session, actor: Actor, agreement_id: int, *, now: datetime) -> ProcurementAgreement:
    """Renew a signed agreement for the next cycle year, with the new agreement's PDF."""
    new = generation.renew_agreement(session, actor, agreement_id, now=now)
    _first_version(session, new, now)
    return new


def sign(session: Session, actor: Actor, agreement_id: int, *, keys: Pki, now: datetime) -> AgreementDocument:
    """The actor's organization signs the agreement's current PDF with its active certificate
    (issued by the platform CA on first use where a CA is configured)."""
    agreement = get_agreement(session, actor, agreement_id, lock=True)
    party = signatures.signing_party(agreement, actor)
    org = session.get_one(Organization, actor.org_id)
    row = signatures.active_certificate(session, org.id)
    if row is None or row.not_after <= now:
        if keys.ca is None:
            raise NotFound(
                "本单位没有有效的签名证书，请先导入 (no valid signing certificate: import one first)",
                code="no_signing_certificate",
            )
        row = signatures.issue_certificate(
            session, actor, org, ca=keys.ca, key_password=keys.key_password, now=now
        )
    document = latest_document(session, agreement.id) or _first_version(session, agreement, now)
    signed = pades.sign(
        document.pdf,
        signatures.credential_of(row, keys.key_password),
        field_name=FIELDS[party],
        reason=REASONS[party],
        location=org.name,
    )
    return signatures.record_signature(
        session,
        actor,
        agreement,
        party=party,
        pdf=signed,
        certificate=row,
        extra=sm2.countersign(row, signed, keys.key_password),
        now=now,
    )


def document_for(
    session: Session, actor: Actor, agreement_id: int
) -> tuple[ProcurementAgreement, AgreementDocument]:
    """The current PDF of an agreement the actor may see."""
    agreement = get_agreement(session, actor, agreement_id)
    document = latest_document(session, agreement.id)
    if document is None:
        raise NotFound("协议文件尚未生成 (no document yet)", code="agreement_document_missing")
    return agreement, document


# --- public verification --------------------------------------------------------------------------


@dataclass(frozen=True)
class KnownVersion:
    number: str
    status: AgreementStatus
    status_label: str
    hospital: str
    enterprise: str
    cycle_year: int
    period: str
    version: int
    latest_version: int
    #: This file is the agreement's latest PDF and the agreement has not been superseded.
    current: bool
    superseded_by: str | None


@dataclass(frozen=True)
class AgreementVerification:
    check: pades.PdfCheck
    known: KnownVersion | None
    problems: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.check.ok and self.known is not None and self.known.current and not self.problems


def verify(
    session: Session, pdf: bytes, *, roots: Sequence[x509.Certificate], now: datetime | None = None
) -> AgreementVerification:
    """Check an uploaded agreement PDF: every signature valid, intact and trusted, the last one
    covering the whole file, and the file a known agreement's current version."""
    check = pades.validate(pdf, roots=roots, moment=now or clock.now())
    problems = [check.problem] if check.problem else []
    for sig in check.signatures:
        if not sig.ok:
            problems.append(
                f"签名 {sig.field_name} 无效 (signature invalid: intact={sig.intact}, valid={sig.valid}, "
                f"trusted={sig.trusted}{', ' + sig.problem if sig.problem else ''})"
            )
    if check.signatures and not check.covers_whole_file:
        problems.append("最后一个签名之后文件被追加修改 (the file was changed after the last signature)")
    document = session.scalar(select(AgreementDocument).where(AgreementDocument.sha256 == pki.digest(pdf)))
    known = _known(session, document)
    # The SM2 signature stored with this exact version (domestic suite), checked against it.
    domestic = sm2.problem(document.extra_signature, pdf) if document is not None else None
    if domestic:
        problems.append(domestic)
    if known is None:
        problems.append("不是平台生成的购销协议文件 (not an agreement file issued by the platform)")
    elif not known.current and known.version == known.latest_version and known.status in LIVE:
        problems.append(f"协议尚未由双方签署 (not yet signed by both parties): {known.status_label}")
    elif not known.current:
        problems.append(
            f"不是该协议的现行版本 (not the current version): 协议状态 {known.status_label}"
            + (f"，续签协议 {known.superseded_by}" if known.superseded_by else "")
        )
    return AgreementVerification(check, known, problems)


def _known(session: Session, document: AgreementDocument | None) -> KnownVersion | None:
    if document is None:
        return None
    agreement = session.get_one(ProcurementAgreement, document.agreement_id)
    names = {
        org_id: name
        for org_id, name in session.execute(
            select(Organization.id, Organization.name).where(
                Organization.id.in_({agreement.hospital_id, agreement.manufacturer_id})
            )
        )
    }
    latest = latest_version(session, agreement.id)
    renewal = renewal_of(session, agreement.id)
    return KnownVersion(
        number=agreement.number,
        status=agreement.status,
        status_label=AGREEMENT.label(agreement.status),
        hospital=names.get(agreement.hospital_id, ""),
        enterprise=names.get(agreement.manufacturer_id, ""),
        cycle_year=agreement.cycle_year,
        period=f"{agreement.starts_on.isoformat()} – {agreement.ends_on.isoformat()}",
        version=document.version,
        latest_version=latest,
        current=document.version == latest and agreement.status is AgreementStatus.SIGNED,
        superseded_by=renewal.number if renewal else None,
    )
