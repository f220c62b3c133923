"""Demo step for issue 20 item 4: the demo batch's procurement agreements, generated from its
allocations and signed by both parties (each with a certificate from the platform CA), one of
them written to the output folder. Safe to run twice: generation adds nothing the second time
and a party that has signed is not asked again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.demo_tendering import BATCH_NAME
from bidding.models import ProcurementBatch
from core.accounts import actor_for_user
from core.actors import Actor, Role
from core.organizations import User
from ledger.contracts import queries
from ledger.contracts.generation import FINAL
from ledger.contracts.models import AgreementStatus
from reports import agreement_signing
from reports.agreement_signing import Pki


def _operator(session: Session, org_id: int) -> Actor:
    user = session.scalar(
        select(User)
        .where(User.organization_id == org_id, User.role == Role.OPERATOR)
        .order_by(User.id)
        .limit(1)
    )
    assert user is not None  # noqa: S101 - the demo gives every organization an operator
    return actor_for_user(user)


def run_agreements(
    session: Session,
    *,
    users: dict[str, User],
    keys: Pki,
    now: datetime,
    out_dir: Path,
    echo: Callable[[str], None],
) -> None:
    """Generate the demo batch's agreements and have both parties sign every one of them."""
    batch = session.scalar(
        select(ProcurementBatch).where(ProcurementBatch.name == BATCH_NAME).order_by(ProcurementBatch.id)
    )
    if batch is None or batch.status not in FINAL:
        echo("演示批次结果未最终确定，跳过购销协议 (demo batch results not final: no agreements)")
        return
    bureau = actor_for_user(users["bureau-op"])
    created = agreement_signing.generate(session, bureau, batch.id, now=now)
    signatures = 0
    agreements = queries.list_agreements(session, bureau, batch_id=batch.id)
    for agreement in agreements:
        for org_id, signed_at in (
            (agreement.hospital_id, agreement.hospital_signed_at),
            (agreement.manufacturer_id, agreement.enterprise_signed_at),
        ):
            if signed_at is None and agreement.status is not AgreementStatus.TERMINATED:
                agreement_signing.sign(session, _operator(session, org_id), agreement.id, keys=keys, now=now)
                signatures += 1
    if agreements:
        first = agreements[0]
        document = queries.latest_document(session, first.id)
        if document is not None:
            (out_dir / f"agreement-{first.number}.pdf").write_bytes(document.pdf)
    echo(
        f"购销协议 新生成 {len(created)} 份、共 {len(agreements)} 份，本次签署 {signatures} 次；"
        f"验证页 /verify/agreements (agreements generated and signed by both parties)"
    )
