"""Org-scoped reads of procurement agreements: a hospital its own, a manufacturer its own, the
bureau all; anyone else (or another party's agreement) is not found."""

from __future__ import annotations

from sqlalchemy import Select, false, func, select
from sqlalchemy.orm import Session

from core.actors import Actor, OrgKind
from core.errors import NotFound
from ledger.contracts.models import AgreementDocument, AgreementStatus, Party, ProcurementAgreement


def agreements_visible_to(actor: Actor) -> Select[ProcurementAgreement]:
    """The agreements the actor is party to (the bureau: all)."""
    stmt = select(ProcurementAgreement)
    if actor.is_bureau:
        return stmt
    if actor.org_kind is OrgKind.HOSPITAL:
        return stmt.where(ProcurementAgreement.hospital_id == actor.org_id)
    if actor.org_kind is OrgKind.MANUFACTURER:
        return stmt.where(ProcurementAgreement.manufacturer_id == actor.org_id)
    return stmt.where(false())


def list_agreements(
    session: Session,
    actor: Actor,
    *,
    batch_id: int | None = None,
    status: AgreementStatus | None = None,
) -> list[ProcurementAgreement]:
    """The actor's agreements, newest batch first, then hospital, winner and cycle year."""
    stmt = agreements_visible_to(actor)
    if batch_id is not None:
        stmt = stmt.where(ProcurementAgreement.batch_id == batch_id)
    if status is not None:
        stmt = stmt.where(ProcurementAgreement.status == status)
    stmt = stmt.order_by(
        ProcurementAgreement.batch_id.desc(),
        ProcurementAgreement.hospital_id,
        ProcurementAgreement.manufacturer_id,
        ProcurementAgreement.cycle_year,
    )
    return list(session.scalars(stmt))


def get_agreement(
    session: Session, actor: Actor, agreement_id: int, *, lock: bool = False
) -> ProcurementAgreement:
    """One agreement the actor may see; NotFound otherwise (existence is not leaked)."""
    stmt = agreements_visible_to(actor).where(ProcurementAgreement.id == agreement_id)
    if lock:
        # Two signatures at once: the second waits for the first (PostgreSQL; SQLite serialises
        # writers anyway), then signs the version the first made.
        stmt = stmt.with_for_update()
    found = session.scalar(stmt)
    if found is None:
        raise NotFound("购销协议不存在 (agreement not found)", code="agreement_not_found")
    return found


def party_of(agreement: ProcurementAgreement, actor: Actor) -> Party | None:
    """Which side the actor's organization signs for, or None (the bureau, anyone else)."""
    if actor.org_kind is OrgKind.HOSPITAL and actor.org_id == agreement.hospital_id:
        return Party.HOSPITAL
    if actor.org_kind is OrgKind.MANUFACTURER and actor.org_id == agreement.manufacturer_id:
        return Party.ENTERPRISE
    return None


def latest_document(session: Session, agreement_id: int) -> AgreementDocument | None:
    return session.scalar(
        select(AgreementDocument)
        .where(AgreementDocument.agreement_id == agreement_id)
        .order_by(AgreementDocument.version.desc())
        .limit(1)
    )


def latest_version(session: Session, agreement_id: int) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.max(AgreementDocument.version), 0)).where(
                AgreementDocument.agreement_id == agreement_id
            )
        )
        or 0
    )


def renewal_of(session: Session, agreement_id: int) -> ProcurementAgreement | None:
    return session.scalar(select(ProcurementAgreement).where(ProcurementAgreement.renews_id == agreement_id))
