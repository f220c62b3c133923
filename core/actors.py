"""Who is acting: every service call receives an explicit Actor (user, organization, role)."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class OrgKind(enum.StrEnum):
    BUREAU = "bureau"  #: 医疗保障局 / 招采机构 (also the insurance agency that pays)
    MANUFACTURER = "manufacturer"  #: 生产企业 / 上市许可持有人
    DISTRIBUTOR = "distributor"  #: 配送企业
    HOSPITAL = "hospital"  #: 医疗机构


class Role(enum.StrEnum):
    ADMIN = "admin"  #: manages its organization's users; bureau admins manage all organizations
    OPERATOR = "operator"  #: does the business work (bids, orders, receipts, invoices)
    AUDITOR = "auditor"  #: reads everything its organization may read; changes nothing
    SYSTEM = "system"  #: the scheduler and CLI jobs; never a login


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: int | None
    org_id: int | None
    org_kind: OrgKind | None
    role: Role

    @classmethod
    def system(cls) -> Actor:
        """The platform itself (scheduled jobs, migrations of data)."""
        return cls(user_id=None, org_id=None, org_kind=None, role=Role.SYSTEM)

    @property
    def is_system(self) -> bool:
        return self.role is Role.SYSTEM

    @property
    def is_bureau(self) -> bool:
        """Bureau users and the platform itself see the whole province."""
        return self.is_system or self.org_kind is OrgKind.BUREAU

    @property
    def can_write(self) -> bool:
        return self.role in (Role.ADMIN, Role.OPERATOR, Role.SYSTEM)
