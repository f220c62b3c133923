"""Generate agreements from a batch's final allocations, renew them per cycle year, terminate.

One agreement per hospital × winner (manufacturer) for the batch's first cycle year; its lines
are the allocations (agreed yearly volume at the winning price, vbp-rules.md §1.6). Generation
is idempotent: a hospital × winner that has its agreement is skipped. Each later cycle year is
a renewal: a NEW agreement pointing at the one it renews, which then reads superseded (§1.8).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bidding.models import Award, BatchStatus, ProcurementBatch, VolumeAllocation
from core import audit
from core.actors import Actor
from core.errors import InvalidState, NotFound, PermissionDenied, ValidationFailed
from core.money import e4_to_decimal, to_fen
from core.organizations import Organization
from ledger.contracts.models import AgreementLine, AgreementStatus, ProcurementAgreement
from ledger.contracts.queries import get_agreement, renewal_of
from ledger.contracts.states import AGREEMENT
from ledger.figures.cycle import CycleYear, cycle_years
from ledger.models import DistributionAuthorization
from ledger.services.listings import prefecture, province

#: Results are final: another part adds a publicity period before results_published.
FINAL = (BatchStatus.RESULTS_PUBLISHED, BatchStatus.EXECUTING)


def _bureau_only(actor: Actor) -> None:
    if not (actor.is_bureau and actor.can_write):
        raise PermissionDenied("仅医保部门可执行 (bureau only)")


def agreement_number(batch_id: int, hospital_id: int, manufacturer_id: int, cycle_year: int) -> str:
    return f"GX{batch_id:05d}-{hospital_id:06d}-{manufacturer_id:06d}-{cycle_year:02d}"


def _distributors(
    session: Session, hospital: Organization, manufacturer_id: int, product_ids: set[int]
) -> list[dict[str, Any]]:
    """Distributors the winner authorized for the hospital's prefecture or province (§5)."""
    rows = session.scalars(
        select(DistributionAuthorization)
        .where(
            DistributionAuthorization.manufacturer_id == manufacturer_id,
            DistributionAuthorization.active.is_(True),
            DistributionAuthorization.product_key.in_({0, *product_ids}),
            DistributionAuthorization.region_code.in_(
                (prefecture(hospital.region_code), province(hospital.region_code))
            ),
        )
        .order_by(DistributionAuthorization.distributor_id)
    )
    found: dict[int, str] = {}
    for auth in rows:
        found.setdefault(auth.distributor_id, auth.distributor.name)
    return [{"id": k, "name": v} for k, v in found.items()]


def content_digest(agreement: ProcurementAgreement, lines: list[AgreementLine]) -> str:
    """SHA-256 of the agreement's terms in canonical JSON: its version, printed on the PDF."""
    content = {
        "number": agreement.number,
        "batch": agreement.batch_id,
        "hospital": agreement.hospital_id,
        "manufacturer": agreement.manufacturer_id,
        "cycle_year": agreement.cycle_year,
        "period": [agreement.starts_on.isoformat(), agreement.ends_on.isoformat()],
        "renews": agreement.renews_id,
        "distributors": [d["id"] for d in agreement.distributors],
        "lines": [
            [
                ln.allocation_id,
                ln.product_id,
                ln.agreed_quantity,
                ln.unit_price_e4,
                ln.pack_price_fen,
                ln.amount_fen,
            ]
            for ln in lines
        ],
        "amount_fen": agreement.amount_fen,
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _create(
    session: Session,
    actor: Actor,
    *,
    batch: ProcurementBatch,
    hospital: Organization,
    manufacturer_id: int,
    year_no: int,
    period: CycleYear,
    allocations: list[tuple[VolumeAllocation, Award]],
    renews: ProcurementAgreement | None,
    now: datetime,
) -> ProcurementAgreement:
    lines = [
        AgreementLine(
            allocation_id=alloc.id,
            item_id=alloc.item_id,
            award_id=award.id,
            product_id=award.product_id,
            agreed_quantity=alloc.agreed_quantity,
            unit_price_e4=award.unit_price_e4,
            pack_price_fen=award.pack_price_fen,
            # 金额 = 约定量 × 单位中选价, rounded to fen once (core.money, ROUND_HALF_UP).
            amount_fen=to_fen(Decimal(alloc.agreed_quantity) * e4_to_decimal(award.unit_price_e4)),
        )
        for alloc, award in allocations
    ]
    agreement = ProcurementAgreement(
        number=agreement_number(batch.id, hospital.id, manufacturer_id, year_no),
        batch_id=batch.id,
        hospital_id=hospital.id,
        manufacturer_id=manufacturer_id,
        cycle_year=year_no,
        starts_on=period.first_day,
        ends_on=period.last_day,
        status=AgreementStatus.GENERATED,
        renews_id=renews.id if renews else None,
        distributors=_distributors(session, hospital, manufacturer_id, {ln.product_id for ln in lines}),
        amount_fen=sum(ln.amount_fen for ln in lines),
        content_sha256="",
        created_at=now,
        lines=lines,
    )
    agreement.content_sha256 = content_digest(agreement, lines)
    session.add(agreement)
    session.flush()
    audit.record(
        session,
        actor,
        "agreement.renew" if renews else "agreement.generate",
        subject_type="procurement_agreement",
        subject_id=agreement.id,
        subject_org_id=hospital.id,
        after={
            "number": agreement.number,
            "batch_id": batch.id,
            "hospital_id": hospital.id,
            "manufacturer_id": manufacturer_id,
            "cycle_year": year_no,
            "renews_id": agreement.renews_id,
            "lines": len(lines),
            "content_sha256": agreement.content_sha256,
        },
        now=now,
    )
    return agreement


def _allocations(
    session: Session, batch_id: int
) -> dict[tuple[int, int], list[tuple[VolumeAllocation, Award]]]:
    rows = session.execute(
        select(VolumeAllocation, Award)
        .join(Award, Award.id == VolumeAllocation.award_id)
        .where(VolumeAllocation.batch_id == batch_id, VolumeAllocation.agreed_quantity > 0)
        .order_by(VolumeAllocation.id)
    )
    groups: dict[tuple[int, int], list[tuple[VolumeAllocation, Award]]] = defaultdict(list)
    for alloc, award in rows:
        groups[(alloc.hospital_id, award.manufacturer_id)].append((alloc, award))
    return groups


def generate_agreements(
    session: Session, actor: Actor, batch_id: int, *, now: datetime
) -> list[ProcurementAgreement]:
    """Create the first-cycle-year agreement of every hospital × winner of a batch whose results
    are final, from its allocations; those that exist already are left alone (idempotent)."""
    _bureau_only(actor)
    batch = session.get(ProcurementBatch, batch_id)
    if batch is None:
        raise NotFound("批次不存在 (batch not found)", code="batch_not_found")
    if batch.status not in FINAL:
        raise InvalidState(
            "采购结果尚未最终确定，不能生成购销协议 (results are not final: no agreements yet)",
            code="results_not_final",
        )
    existing = {
        (hospital_id, manufacturer_id)
        for hospital_id, manufacturer_id in session.execute(
            select(ProcurementAgreement.hospital_id, ProcurementAgreement.manufacturer_id).where(
                ProcurementAgreement.batch_id == batch.id, ProcurementAgreement.cycle_year == 1
            )
        )
    }
    first = cycle_years(batch.cycle_start_on, batch.cycle_end_on)[0]
    groups = {k: v for k, v in _allocations(session, batch.id).items() if k not in existing}
    hospitals = {
        o.id: o
        for o in session.scalars(select(Organization).where(Organization.id.in_({h for h, _ in groups})))
    }
    return [
        _create(
            session,
            actor,
            batch=batch,
            hospital=hospitals[hospital_id],
            manufacturer_id=manufacturer_id,
            year_no=1,
            period=first,
            allocations=allocations,
            renews=None,
            now=now,
        )
        for (hospital_id, manufacturer_id), allocations in sorted(groups.items())
    ]


def renew_agreement(
    session: Session, actor: Actor, agreement_id: int, *, now: datetime
) -> ProcurementAgreement:
    """The next cycle year's agreement of a signed one (a new record pointing at it, from the
    allocations as they stand); the renewed agreement becomes superseded."""
    _bureau_only(actor)
    old = get_agreement(session, actor, agreement_id, lock=True)
    if renewal_of(session, old.id) is not None:
        raise InvalidState("该协议已续签 (already renewed)", code="agreement_already_renewed")
    AGREEMENT.check(old.status, AgreementStatus.SUPERSEDED)
    batch = session.get_one(ProcurementBatch, old.batch_id)
    years = cycle_years(batch.cycle_start_on, batch.cycle_end_on)
    if old.cycle_year >= len(years):
        raise ValidationFailed(
            "采购周期已到最后一个年度：请通过续标批次续签 (the cycle ends: renew through a renewal batch)",
            fields={"agreement_id": ["采购周期最后一个年度 (last year of the cycle)"]},
        )
    allocations = _allocations(session, batch.id).get((old.hospital_id, old.manufacturer_id), [])
    new = _create(
        session,
        actor,
        batch=batch,
        hospital=session.get_one(Organization, old.hospital_id),
        manufacturer_id=old.manufacturer_id,
        year_no=old.cycle_year + 1,
        period=years[old.cycle_year],
        allocations=allocations,
        renews=old,
        now=now,
    )
    _end(session, actor, old, AgreementStatus.SUPERSEDED, f"由 {new.number} 续签替代 (renewed)", now=now)
    return new


def terminate_agreement(
    session: Session, actor: Actor, agreement_id: int, *, reason: str, now: datetime
) -> ProcurementAgreement:
    """The bureau ends an agreement (with the reason); it can no longer be signed or renewed."""
    _bureau_only(actor)
    if not reason.strip():
        raise ValidationFailed(fields={"reason": ["必填 (required)"]})
    agreement = get_agreement(session, actor, agreement_id, lock=True)
    _end(session, actor, agreement, AgreementStatus.TERMINATED, reason.strip(), now=now)
    return agreement


def _end(
    session: Session,
    actor: Actor,
    agreement: ProcurementAgreement,
    target: AgreementStatus,
    reason: str,
    *,
    now: datetime,
) -> None:
    before = agreement.status
    AGREEMENT.move(agreement, target)
    agreement.ended_at, agreement.end_reason = now, reason[:500]
    audit.record(
        session,
        actor,
        f"agreement.{'supersede' if target is AgreementStatus.SUPERSEDED else 'terminate'}",
        subject_type="procurement_agreement",
        subject_id=agreement.id,
        subject_org_id=agreement.hospital_id,
        before={"status": before.value},
        after={"status": target.value, "reason": agreement.end_reason},
        now=now,
    )
