"""Leading an alliance batch (issue 22, item 2): members' demand imported per province, selection
and allocation of provinces here, results exported per member in the import's format; the round
trip into a fresh platform gives the same agreed volumes to the unit."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from app.cli import alembic_config
from bidding import alliance, batches, opening
from bidding.models import (
    Award,
    BatchStatus,
    MemberDemand,
    Product,
    RegionAssignment,
    Scope,
    VolumeAllocation,
)
from bidding.results_format import read
from core import accounts, clock
from core.actors import Actor, OrgKind
from core.errors import InvalidState, ValidationFailed
from core.organizations import HospitalLevel, Organization
from core.uscc import make_uscc
from tests.factories import make_org
from tests.national import new_platform
from tests.tendering import AT_OPENING, T0, TIMELINE, World, make_world

SYSTEM = Actor.system()
OWN, CHONGQING, YUNNAN = "510000", "500000", "530000"
#: Member hospitals (USCC, name, demand region) and their demand per item (index) — numbers not
#: used elsewhere; M2 names the second winner of item 0, which is not Chongqing's primary.
MEMBERS = {
    CHONGQING: [
        (make_uscc("91500000MA5U00001"), "重庆成员医院一", "500100", [70001, 3333, 12345]),
        (make_uscc("91500000MA5U00002"), "重庆成员医院二", "500100", [50003, 8887, 4321]),
        (make_uscc("91500000MA5U00003"), "重庆成员医院三", "500200", [9999, 7777, 23457]),
    ],
    YUNNAN: [
        (make_uscc("91530000MA6K00001"), "云南成员医院一", "530100", [88888, 11111, 31313]),
        (make_uscc("91530000MA6K00002"), "云南成员医院二", "530300", [44445, 2223, 777]),
    ],
}


def demand_csv(province: str, *, brand: tuple[int, str, int] | None = None) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "医疗机构统一社会信用代码",
            "医疗机构名称",
            "报量地区代码",
            "通用名",
            "厂牌产品编码",
            "年度报量（最小单位）",
        ]
    )
    for uscc, name, region, quantities in MEMBERS[province]:
        for n, qty in enumerate(quantities):
            writer.writerow([uscc, name, region, f"联盟药{n}", "", qty])
    if brand:
        hospital, code, qty = brand
        uscc, name, region, _ = MEMBERS[province][hospital]
        writer.writerow([uscc, name, region, "联盟药0", code, qty])
    return buffer.getvalue().encode("utf-8")


def valid_usccs() -> None:
    from core.uscc import uscc_error

    for rows in MEMBERS.values():
        for uscc, *_ in rows:
            assert uscc_error(uscc) is None, uscc


@pytest.fixture
def lead(session) -> World:
    world = make_world(
        session,
        rule_version="batch_4_9",
        items=[{"generic_name": f"联盟药{n}"} for n in range(3)],
        scope=Scope.ALLIANCE,
    )
    alliance.set_member_provinces(
        session, world.bureau, world.batch.id, [CHONGQING, YUNNAN], own_province=OWN, now=T0
    )
    return world


def run_lead(world: World, *, brand_code: bool = True) -> None:
    s = world.session
    world.to(BatchStatus.DEMAND_COLLECTION, T0)
    h1 = make_org(s, OrgKind.HOSPITAL, region_code="510104")
    h2 = make_org(s, OrgKind.HOSPITAL, region_code="510703")
    for n, item in enumerate(world.items):
        world.report(h1, item, [12001, 3455, 9090][n])
        world.report(h2, item, [6007, 1001, 18181][n])
    prices = {"甲": "0.5100", "乙": "0.5600", "丙": "0.6100", "丁": "0.7700"}
    products = {}
    for n, item in enumerate(world.items):
        for maker in prices:
            products[(n, maker)] = world.product(maker, item)
    second = s.get_one(Product, products[(0, "乙")]).code
    alliance.import_member_demand(
        s,
        world.bureau,
        world.batch.id,
        province=CHONGQING,
        own_province=OWN,
        data=demand_csv(CHONGQING, brand=(1, second, 6543) if brand_code else None),
        filename="cq.csv",
        now=T0,
    )
    alliance.import_member_demand(
        s,
        world.bureau,
        world.batch.id,
        province=YUNNAN,
        own_province=OWN,
        data=demand_csv(YUNNAN),
        filename="yn.csv",
        now=T0,
    )
    world.to(BatchStatus.BIDDING, TIMELINE["demand_closes_at"])
    for (n, maker), product_id in products.items():
        world.bid(maker, world.items[n], prices[maker], product_id=product_id)
    world.open()
    opening.publish_results(s, world.bureau, world.batch.id, now=AT_OPENING, days=0)


def test_the_lead_allocates_member_provinces_and_counts_their_demand(lead):
    valid_usccs()
    run_lead(lead)
    s = lead.session
    regions = set(
        s.scalars(
            select(RegionAssignment.region_code)
            .join(Award, Award.id == RegionAssignment.award_id)
            .where(Award.batch_id == lead.batch.id, RegionAssignment.kind == "primary")
        )
    )
    assert regions == {OWN, CHONGQING, YUNNAN}  # provinces, not prefectures
    # Own hospitals' stored allocations are what the member computation gives for this province.
    own = alliance.province_volumes(s, lead.bureau, lead.batch.id, OWN)
    stored = s.scalar(
        select(func.sum(VolumeAllocation.agreed_quantity)).where(VolumeAllocation.batch_id == lead.batch.id)
    )
    assert sum(v.volume.agreed_quantity for v in own) == stored
    cq = alliance.province_volumes(s, lead.bureau, lead.batch.id, CHONGQING)
    assert {v.volume.hospital for v in cq} == {u for u, *_ in MEMBERS[CHONGQING]}


def test_the_alliance_round_trip_holds_to_the_unit(lead, databases):
    run_lead(lead)
    s = lead.session
    expected = {
        (v.volume.hospital, v.volume.supplier): v.volume.agreed_quantity
        for v in alliance.province_volumes(s, lead.bureau, lead.batch.id, CHONGQING)
    }
    assert sum(expected.values()) > 0
    exported = {
        fmt: alliance.export_for_member(
            s, lead.bureau, lead.batch.id, CHONGQING, own_province=OWN, fmt=fmt, now=AT_OPENING
        )
        for fmt in ("xlsx", "csv", "json")
    }
    makers = {
        org.id: org
        for org in s.scalars(
            select(Organization).where(
                Organization.id.in_(select(Product.mah_id).where(Product.code.like("XA%")))
            )
        )
    }
    products = list(s.scalars(select(Product).where(Product.mah_id.in_(makers))))
    for fmt, data in exported.items():
        assert read(data, f"r.{fmt}").to_json() == read(exported["json"], "r.json").to_json()
        assert fresh_platform_volumes(databases, data, f"联盟结果.{fmt}", makers, products) == expected, fmt


def fresh_platform_volumes(
    databases, data: bytes, filename: str, makers, products
) -> dict[tuple[str, str], int]:
    """Chongqing's own platform: a new database, the same enterprises and products (by USCC and
    code), its hospitals report the same demand, it imports the lead's file and executes it."""
    from alembic import command

    url = databases.new()
    command.upgrade(alembic_config(url), "head")
    engine = create_engine(url)
    try:
        with Session(engine) as fresh:
            p = new_platform(fresh, CHONGQING)
            for org in makers.values():
                p.manufacturers[org.uscc] = accounts.create_organization(
                    fresh,
                    SYSTEM,
                    kind=OrgKind.MANUFACTURER,
                    name=org.name,
                    uscc=org.uscc,
                    region_code=org.region_code,
                    hospital_level=None,
                    is_public=None,
                    now=clock.now(),
                )
            uscc_of = {org.id: org.uscc for org in makers.values()}
            codes = {}
            for product in products:
                codes[product.code] = p.product(
                    uscc_of[product.mah_id],
                    product.code,
                    product.generic_name,
                    strength=product.strength_value,
                    units=product.units_per_pack,
                ).id
            for uscc, org in list(p.manufacturers.items()):
                p.manufacturers[uscc] = org
            batch = p.import_file(data, filename).batch
            p.open_demand(batch.id)
            items = {i.generic_name: i for i in batch.items}
            for uscc, name, region, quantities in MEMBERS[CHONGQING]:
                hospital = accounts.create_organization(
                    fresh,
                    SYSTEM,
                    kind=OrgKind.HOSPITAL,
                    name=name,
                    uscc=uscc,
                    region_code=region,
                    hospital_level=HospitalLevel.SECONDARY,
                    is_public=True,
                    now=clock.now(),
                )
                p.hospitals[uscc] = hospital
                for n, qty in enumerate(quantities):
                    p.report(hospital, batch.id, items[f"联盟药{n}"].id, qty)
            second = next(code for code, pid in codes.items() if code == _second_code(products, makers))
            p.report(
                p.hospitals[MEMBERS[CHONGQING][1][0]],
                batch.id,
                items["联盟药0"].id,
                6543,
                brand=codes[second],
            )
            p.execute(batch.id)
            rows = fresh.execute(
                select(Organization.uscc, Product.code, VolumeAllocation.agreed_quantity)
                .join(Organization, Organization.id == VolumeAllocation.hospital_id)
                .join(Award, Award.id == VolumeAllocation.award_id)
                .join(Product, Product.id == Award.product_id)
            ).all()
            fresh.rollback()
            return {(u, c): q for u, c, q in rows}
    finally:
        engine.dispose()


def _second_code(products, makers) -> str:
    """The product of maker 乙 for item 0 (the brand M2 names)."""
    by_name = {org.id: org.name for org in makers.values()}
    return next(p.code for p in products if p.generic_name == "联盟药0" and by_name[p.mah_id] == "企业乙")


def test_member_demand_is_checked_row_by_row_and_replaced_whole(lead):
    s = lead.session
    lead.to(BatchStatus.DEMAND_COLLECTION, T0)
    bad = demand_csv(CHONGQING).replace(b"500200", b"510100")
    with pytest.raises(ValidationFailed) as caught:
        alliance.import_member_demand(
            s,
            lead.bureau,
            lead.batch.id,
            province=CHONGQING,
            own_province=OWN,
            data=bad,
            filename="x.csv",
            now=T0,
        )
    assert set(caught.value.fields) == {f"row {n}.region_code" for n in (8, 9, 10)}  # 重庆成员医院三
    assert s.scalar(select(func.count()).select_from(MemberDemand)) == 0
    for _ in range(2):  # a second import replaces the first
        alliance.import_member_demand(
            s,
            lead.bureau,
            lead.batch.id,
            province=CHONGQING,
            own_province=OWN,
            data=demand_csv(CHONGQING),
            filename="x.csv",
            now=T0,
        )
    assert s.scalar(select(func.count()).select_from(MemberDemand)) == 9
    with pytest.raises(ValidationFailed):  # this province's hospitals report on the platform
        alliance.import_member_demand(
            s,
            lead.bureau,
            lead.batch.id,
            province=OWN,
            own_province=OWN,
            data=demand_csv(CHONGQING),
            filename="x.csv",
            now=T0,
        )
    with pytest.raises(InvalidState):  # results exist only after publication
        alliance.results_for_member(s, lead.bureau, lead.batch.id, CHONGQING, own_province=OWN)


def test_a_national_batch_is_never_created_by_hand(session):
    world = make_world(session)
    with pytest.raises(ValidationFailed) as caught:
        batches.create_batch(
            session,
            world.bureau,
            name="手工国采",
            category=world.batch.category,
            scope=Scope.NATIONAL,
            rule_version="batch_11",
            rule_overrides=None,
            timeline={
                k: getattr(world.batch, k)
                for k in (
                    "demand_opens_at",
                    "demand_closes_at",
                    "bid_opens_at",
                    "bid_closes_at",
                    "opening_at",
                    "cycle_start_on",
                    "cycle_end_on",
                )
            },
            now=T0,
        )
    assert "scope" in caught.value.fields
