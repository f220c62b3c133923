"""What the bureau records about organizations for the two-invoice count (vbp-rules.md §5): a
remote township or village hospital, a sole sales subsidiary or sole general agent acting as a
manufacturer, a distributor's distribution group. One record per organization, replaced whole."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core import audit
from core.actors import Actor, OrgKind, Role
from core.errors import NotFound, PermissionDenied, ValidationFailed
from core.organizations import Organization
from ledger.models.upstream import SupplyChainRole


def role_of(session: Session, organization_id: int) -> SupplyChainRole | None:
    return session.scalars(
        select(SupplyChainRole).where(SupplyChainRole.organization_id == organization_id)
    ).first()


def set_role(
    session: Session,
    actor: Actor,
    organization_id: int,
    *,
    remote_township: bool,
    acts_as_manufacturer_for_id: int | None,
    distribution_group: str | None,
    now: datetime,
) -> SupplyChainRole:
    """Record (or replace) an organization's designations; the bureau only."""
    if not actor.is_bureau or actor.role not in (Role.ADMIN, Role.OPERATOR):
        raise PermissionDenied("仅医保部门可登记 (bureau only)")
    org = session.get(Organization, organization_id)
    if org is None:
        raise NotFound("未找到机构 (organization not found)")
    errors: dict[str, list[str]] = {}
    if remote_township and org.kind is not OrgKind.HOSPITAL:
        errors["remote_township"] = ["仅医疗机构可标记为偏远乡村 (hospitals only)"]
    if acts_as_manufacturer_for_id is not None:
        mah = session.get(Organization, acts_as_manufacturer_for_id)
        if (
            org.kind is OrgKind.HOSPITAL
            or mah is None
            or mah.kind is not OrgKind.MANUFACTURER
            or mah.id == org.id
        ):
            errors["acts_as_manufacturer_for_id"] = [
                "须为另一生产企业，且本机构为企业 (another manufacturer; enterprises only)"
            ]
    group = (distribution_group or "").strip() or None
    if group is not None and (org.kind is not OrgKind.DISTRIBUTOR or len(group) > 60):
        errors["distribution_group"] = ["仅配送企业可登记所属集团，至多60字符 (distributors only)"]
    if errors:
        raise ValidationFailed(fields=errors)
    role = role_of(session, organization_id)
    before = None
    if role is None:
        role = SupplyChainRole(organization_id=organization_id)
        session.add(role)
    else:
        before = {
            "remote_township": role.remote_township,
            "acts_as_manufacturer_for_id": role.acts_as_manufacturer_for_id,
            "distribution_group": role.distribution_group,
        }
    role.remote_township = remote_township
    role.acts_as_manufacturer_for_id = acts_as_manufacturer_for_id
    role.distribution_group = group
    role.updated_at, role.updated_by = now, actor.user_id
    session.flush()
    audit.record(
        session,
        actor,
        "supply_chain_role.set",
        subject_type="organization",
        subject_id=organization_id,
        subject_org_id=organization_id,
        before=before,
        after={
            "remote_township": remote_township,
            "acts_as_manufacturer_for_id": acts_as_manufacturer_for_id,
            "distribution_group": group,
        },
        now=now,
    )
    return role
