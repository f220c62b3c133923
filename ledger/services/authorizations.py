"""Distribution authorizations (配送授权, vbp-rules.md §5): a manufacturer authorizes a
distributor for a product (or all its products) in a region; hospitals order only through an
authorized distributor."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from bidding.models import Product
from core import audit
from core.actors import Actor, OrgKind, Role
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.organizations import Organization
from core.uscc import region_code_error
from ledger.models import DistributionAuthorization


def authorize_distributor(
    session: Session,
    actor: Actor,
    *,
    distributor_id: int,
    product_id: int | None,
    region_code: str,
    now: datetime,
) -> DistributionAuthorization:
    """A manufacturer authorizes a distributor for one product (or all) in a region (§5)."""
    if actor.org_kind is not OrgKind.MANUFACTURER or actor.role not in (Role.ADMIN, Role.OPERATOR):
        raise PermissionDenied("仅生产企业可授权配送企业 (manufacturers only)")
    distributor = session.get(Organization, distributor_id)
    if distributor is None or distributor.kind is not OrgKind.DISTRIBUTOR:
        raise ValidationFailed(fields={"distributor_id": ["不是已登记的配送企业 (not a distributor)"]})
    if product_id is not None:
        product = session.get(Product, product_id)
        if product is None or product.mah_id != actor.org_id:
            raise ValidationFailed(fields={"product_id": ["不是本企业产品 (not your product)"]})
    if msg := region_code_error(region_code):
        raise ValidationFailed(fields={"region_code": [msg]})
    key = product_id or 0
    existing = session.scalars(
        select(DistributionAuthorization).where(
            DistributionAuthorization.manufacturer_id == actor.org_id,
            DistributionAuthorization.distributor_id == distributor_id,
            DistributionAuthorization.product_key == key,
            DistributionAuthorization.region_code == region_code,
        )
    ).first()
    if existing is not None:
        if existing.active:
            raise Conflict("授权已存在 (authorization exists)", code="authorization_exists")
        existing.active = True
        auth = existing
    else:
        auth = DistributionAuthorization(
            manufacturer_id=actor.org_id,
            distributor_id=distributor_id,
            product_id=product_id,
            product_key=key,
            region_code=region_code,
            active=True,
            created_at=now,
        )
        session.add(auth)
    session.flush()
    audit.record(
        session,
        actor,
        "distribution.authorize",
        subject_type="distribution_authorization",
        subject_id=auth.id,
        subject_org_id=actor.org_id,
        after={"distributor_id": distributor_id, "product_id": product_id, "region_code": region_code},
        now=now,
    )
    return auth


def revoke_authorization(
    session: Session, actor: Actor, authorization_id: int, *, now: datetime
) -> DistributionAuthorization:
    """End an authorization (orders already placed still ship)."""
    auth = session.get(DistributionAuthorization, authorization_id)
    if (
        auth is None
        or not (actor.is_bureau or auth.manufacturer_id == actor.org_id)
        or actor.role is Role.AUDITOR
    ):
        raise NotFound("授权不存在 (authorization not found)")
    auth.active = False
    session.flush()
    audit.record(
        session,
        actor,
        "distribution.revoke",
        subject_type="distribution_authorization",
        subject_id=auth.id,
        subject_org_id=auth.manufacturer_id,
        now=now,
    )
    return auth


def authorizations_visible_to(actor: Actor) -> Select[tuple[DistributionAuthorization]]:
    stmt = select(DistributionAuthorization)
    if actor.is_bureau or actor.org_kind is OrgKind.HOSPITAL:
        return stmt  # published on the platform (§5): hospitals choose among authorized distributors
    if actor.org_kind is OrgKind.MANUFACTURER:
        return stmt.where(DistributionAuthorization.manufacturer_id == actor.org_id)
    return stmt.where(DistributionAuthorization.distributor_id == actor.org_id)
