"""The main job: a demo province on the configured database, extended by every capability.

Safe to run twice: organizations and users are found by their natural keys (USCC, username)
and only created when missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import Database, unit_of_work
from app.demo_agreements import run_agreements
from app.demo_codes import run_codes
from app.demo_documents import run_documents
from app.demo_invoices import run_first_invoices
from app.demo_national import run_national
from app.demo_ordering import run_invoicing, run_ordering
from app.demo_supervision import run_supervision
from app.demo_tendering import run_tendering, write_results
from bidding.sealing import BidSealer
from core import accounts, clock
from core.actors import Actor, OrgKind, Role
from core.organizations import HospitalLevel, Organization, User
from core.uscc import make_uscc
from ledger.money_rules import PaymentTerms
from ledger.supervision.settings import DEFAULTS as SUPERVISION_DEFAULTS
from ledger.supervision.settings import SupervisionSettings
from reports.agreement_signing import Pki

#: Demo only: printed for the person trying the platform. Production refuses to run the demo.
DEMO_PASSWORD = "Demo-2026-vbp"  # noqa: S105


@dataclass(frozen=True)
class DemoOrg:
    key: str
    kind: OrgKind
    name: str
    first17: str
    region: str
    level: HospitalLevel | None = None
    public: bool | None = None


PROVINCE = "510000"
DEMO_ORGS = (
    DemoOrg("bureau", OrgKind.BUREAU, "示范省医疗保障局", "11510000MB1234567", PROVINCE),
    DemoOrg("mfr1", OrgKind.MANUFACTURER, "华西制药股份有限公司", "91510100MA6C00001", "510100"),
    DemoOrg("mfr2", OrgKind.MANUFACTURER, "蜀南药业有限公司", "91510500MA6C00002", "510500"),
    DemoOrg("mfr3", OrgKind.MANUFACTURER, "川北生物制药有限公司", "91510700MA6C00003", "510700"),
    DemoOrg("mfr4", OrgKind.MANUFACTURER, "天府医药科技有限公司", "91510100MA6C00004", "510100"),
    DemoOrg("dist1", OrgKind.DISTRIBUTOR, "蓉城医药配送有限公司", "91510100MA6D00001", "510100"),
    DemoOrg("dist2", OrgKind.DISTRIBUTOR, "巴蜀医药物流有限公司", "91510600MA6D00002", "510600"),
    DemoOrg(
        "hosp1",
        OrgKind.HOSPITAL,
        "示范省人民医院",
        "12510000MB0H00001",
        "510100",
        HospitalLevel.TERTIARY,
        True,
    ),
    DemoOrg(
        "hosp2",
        OrgKind.HOSPITAL,
        "成都市第一人民医院",
        "12510100MB0H00002",
        "510100",
        HospitalLevel.TERTIARY,
        True,
    ),
    DemoOrg(
        "hosp3",
        OrgKind.HOSPITAL,
        "泸州市中心医院",
        "12510500MB0H00003",
        "510500",
        HospitalLevel.SECONDARY,
        True,
    ),
    DemoOrg(
        "hosp4",
        OrgKind.HOSPITAL,
        "德阳市人民医院",
        "12510600MB0H00004",
        "510600",
        HospitalLevel.SECONDARY,
        True,
    ),
    DemoOrg(
        "hosp5", OrgKind.HOSPITAL, "绵阳康华医院", "52510700MJ0H00005", "510700", HospitalLevel.PRIMARY, False
    ),
    DemoOrg(
        "hosp6",
        OrgKind.HOSPITAL,
        "自贡市第三人民医院",
        "12510300MB0H00006",
        "510300",
        HospitalLevel.SECONDARY,
        True,
    ),
)


@dataclass
class DemoWorld:
    """What the demo built, by key, for later steps of the cycle."""

    orgs: dict[str, Organization]
    users: dict[str, User]


def _org(session: Session, spec: DemoOrg) -> Organization:
    uscc = make_uscc(spec.first17)
    org = session.scalars(select(Organization).where(Organization.uscc == uscc)).first()
    if org is None:
        org = accounts.create_organization(
            session,
            Actor.system(),
            kind=spec.kind,
            name=spec.name,
            uscc=uscc,
            region_code=spec.region,
            hospital_level=spec.level,
            is_public=spec.public,
            now=clock.now(),
        )
    return org


def _user(session: Session, org: Organization, username: str, role: Role, name: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        user = accounts.create_user(
            session,
            Actor.system(),
            organization_id=org.id,
            username=username,
            display_name=name,
            password=DEMO_PASSWORD,
            role=role,
            now=clock.now(),
        )
    return user


def build_organizations(session: Session) -> DemoWorld:
    """Bureau, manufacturers, distributors and hospitals, each with an admin and an operator."""
    world = DemoWorld(orgs={}, users={})
    for spec in DEMO_ORGS:
        org = world.orgs[spec.key] = _org(session, spec)
        world.users[f"{spec.key}-admin"] = _user(
            session, org, f"{spec.key}-admin", Role.ADMIN, f"{spec.name}管理员"
        )
        world.users[f"{spec.key}-op"] = _user(
            session, org, f"{spec.key}-op", Role.OPERATOR, f"{spec.name}经办人"
        )
    world.users["bureau-audit"] = _user(session, world.orgs["bureau"], "bureau-audit", Role.AUDITOR, "审计员")
    return world


def run_demo(
    db: Database,
    *,
    out_dir: Path,
    echo: Callable[[str], None],
    sealer: BidSealer,
    terms: PaymentTerms,
    verify_url_base: str = "http://localhost:5000/verify",
    province_code: str = "510000",
    supervision: SupervisionSettings = SUPERVISION_DEFAULTS,
    agreement_keys: Pki | None = None,
) -> DemoWorld:
    """Run every demo step in order; each step is one unit of work."""
    with unit_of_work(db.sessionmaker()) as session:
        world = build_organizations(session)
        echo(f"机构 {len(world.orgs)} 家，用户 {len(world.users)} 个 (organizations, users ready)")
    with unit_of_work(db.sessionmaker()) as session:
        world = build_organizations(session)
        batch = run_tendering(
            session, orgs=world.orgs, users=world.users, sealer=sealer, now=clock.now(), echo=echo
        )
        write_results(session, batch, out_dir, echo)
    with unit_of_work(db.sessionmaker()) as session:
        world = build_organizations(session)
        run_national(
            session,
            orgs=world.orgs,
            users=world.users,
            province_code=province_code,
            now=clock.now(),
            out_dir=out_dir,
            echo=echo,
        )
    with unit_of_work(db.sessionmaker()) as session:
        world = build_organizations(session)
        batch = session.merge(batch)
        run_ordering(session, batch=batch, orgs=world.orgs, users=world.users, now=clock.now(), echo=echo)
    with unit_of_work(db.sessionmaker()) as session:
        world = build_organizations(session)
        run_invoicing(session, orgs=world.orgs, users=world.users, now=clock.now(), echo=echo, terms=terms)
    with unit_of_work(db.sessionmaker()) as session:
        world = build_organizations(session)
        run_first_invoices(session, orgs=world.orgs, users=world.users, now=clock.now(), echo=echo)
    run_documents(db, out_dir=out_dir, now=clock.now(), echo=echo, verify_url_base=verify_url_base)
    run_supervision(
        db, world_of=build_organizations, now=clock.now(), out_dir=out_dir, settings=supervision, echo=echo
    )
    with unit_of_work(db.sessionmaker()) as session:  # after every step that adds products
        world = build_organizations(session)
        run_codes(session, orgs=world.orgs, users=world.users, now=clock.now(), echo=echo)
    if agreement_keys is not None:  # the demo batch's agreements, signed by both parties
        with unit_of_work(db.sessionmaker()) as session:
            world = build_organizations(session)
            run_agreements(
                session,
                users=world.users,
                keys=agreement_keys,
                now=clock.now(),
                out_dir=out_dir,
                echo=echo,
            )
    echo("")
    echo("登录方式 (how to log in): flask run, then open http://127.0.0.1:5000/ (web pages)")
    echo("  or POST /api/v1/auth/login, or the API page /api/v1/docs")
    echo(f"  演示密码 (demo password for every user): {DEMO_PASSWORD}")
    for key in ("bureau-admin", "bureau-audit", "mfr1-op", "dist1-op", "hosp1-op", "hosp1-admin"):
        user = world.users[key]
        echo(f"  {user.username:<14} {user.role.value:<9} {user.organization.name}")
    echo(f"输出目录 (output folder): {out_dir}")
    return world
