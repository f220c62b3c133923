"""Leading an inter-provincial alliance batch (省际联盟, supervision-and-interop.md §10): the member
provinces' hospitals' demand is imported per province (or reported here by hospitals that use this
platform), selection and the allocation of provinces to winners run here over every member
(bidding/opening.py), and each member province gets its results in exactly the format a results
import reads (bidding/results_format.py), so its own platform executes them to the same agreed
volumes, to the unit (bidding/volumes.py keys every split by USCC and product code).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bidding.batches import get_batch, require_bureau_writer
from bidding.models import (
    Award,
    BatchItem,
    BatchStatus,
    DemandReport,
    ItemResult,
    MemberDemand,
    ProcurementBatch,
    Product,
    RegionAssignment,
    Scope,
    SelectionSource,
)
from bidding.results_format import BATCH_FIELDS, Item, ResultsFile, Supply, Winner, write
from bidding.volumes import AgreedVolume, Demand, agreed_volumes
from core import audit
from core.actors import Actor
from core.errors import InvalidState, ValidationFailed
from core.money import e4_to_decimal
from core.organizations import Organization
from core.regions import PROVINCES, province_code_error, province_of
from core.spreadsheets import Column, Sheet, SpreadsheetError, error_fields, read_table, write_xlsx
from core.uscc import uscc_error

#: Member demand may arrive until the bids are sealed (it weighs in the allocation and, for
#: brand reports, in batch 11's revival order, both worked out at the opening).
MEMBER_DEMAND_OPEN = (BatchStatus.DRAFT, BatchStatus.DEMAND_COLLECTION, BatchStatus.BIDDING)
#: A year's demand of one hospital in minimum units: far above any real figure, inside BIGINT.
MAX_QUANTITY = 10**12
DEMAND_COLUMNS = [
    Column("hospital_uscc", ("医疗机构统一社会信用代码", "hospital_uscc")),
    Column("hospital_name", ("医疗机构名称", "hospital_name")),
    Column("region_code", ("报量地区代码", "region_code")),
    Column("generic_name", ("通用名", "generic_name")),
    Column("dosage_form_group", ("剂型组", "dosage_form_group"), required=False),
    Column("brand_product_code", ("厂牌产品编码", "brand_product_code"), required=False),
    Column("quantity", ("年度报量（最小单位）", "quantity")),
]


def lead_batch(
    session: Session, actor: Actor, batch_id: int, *, for_update: bool = False
) -> ProcurementBatch:
    batch = get_batch(session, actor, batch_id, for_update=for_update)
    if batch.scope is not Scope.ALLIANCE or batch.selection is not SelectionSource.LOCAL:
        raise InvalidState(
            "仅本平台牵头的联盟批次 (only an alliance batch led here)", code="not_alliance_lead"
        )
    return batch


def set_member_provinces(
    session: Session,
    actor: Actor,
    batch_id: int,
    provinces: Sequence[str],
    *,
    own_province: str,
    now: datetime,
) -> ProcurementBatch:
    """The alliance's members (this province always among them); fixed once bidding starts."""
    require_bureau_writer(actor)
    batch = lead_batch(session, actor, batch_id, for_update=True)
    if batch.status not in (BatchStatus.DRAFT, BatchStatus.DEMAND_COLLECTION):
        raise InvalidState(
            "投标开始后不能再改联盟成员 (members are fixed once bidding starts)", code="members_frozen"
        )
    problems = {
        f"member_provinces.{i}": [msg]
        for i, code in enumerate(provinces)
        if (msg := province_code_error(code))
    }
    if problems:
        raise ValidationFailed(fields=problems)
    members = sorted(set(provinces) | {own_province})
    before = batch.member_provinces
    batch.member_provinces = members
    session.flush()
    audit.record(
        session,
        actor,
        "batch.members",
        subject_type="batch",
        subject_id=batch.id,
        before={"member_provinces": before},
        after={"member_provinces": members},
        now=now,
    )
    return batch


def import_member_demand(
    session: Session,
    actor: Actor,
    batch_id: int,
    *,
    province: str,
    own_province: str,
    data: bytes,
    filename: str,
    now: datetime,
) -> int:
    """Replace a member province's imported demand with the file's rows (all or nothing)."""
    require_bureau_writer(actor)
    batch = lead_batch(session, actor, batch_id, for_update=True)
    if batch.status not in MEMBER_DEMAND_OPEN:
        raise InvalidState(
            "开标前才能导入成员省报量 (member demand only before the bids are sealed)", code="demand_closed"
        )
    if province == own_province:
        raise ValidationFailed(
            fields={"province": ["本省医疗机构在本平台直接报量 (this province's hospitals report here)"]}
        )
    if province not in (batch.member_provinces or []):
        raise ValidationFailed(fields={"province": ["不是本联盟的成员省份 (not a member of this alliance)"]})
    try:
        table = read_table(data, filename=filename, columns=DEMAND_COLUMNS)
    except SpreadsheetError as exc:
        raise ValidationFailed(
            "导入失败，未写入任何数据 (import failed; nothing was written)", fields=error_fields(exc)
        ) from exc
    items: dict[str, list[BatchItem]] = {}
    for item in batch.items:
        items.setdefault(item.generic_name, []).append(item)
    codes = {row.values.get("brand_product_code") for row in table.rows} - {None, ""}
    products = {p.code: p for p in session.scalars(select(Product).where(Product.code.in_(codes)))}
    problems: dict[str, list[str]] = {}
    seen: dict[tuple[int, str, str, int], int] = {}
    rows = []
    sha = hashlib.sha256(data).hexdigest()
    for row in table.rows:
        v = {k: (val or "").strip() for k, val in row.values.items()}
        at = f"row {row.number}"
        if msg := uscc_error(v["hospital_uscc"]):
            problems[f"{at}.hospital_uscc"] = [msg]
        if (
            province_of(v["region_code"]) != province
            or not v["region_code"].isdigit()
            or len(v["region_code"]) != 6
        ):
            problems[f"{at}.region_code"] = [
                f"须为{PROVINCES[province]}的地区代码 (must be a region of {province})"
            ]
        candidates = [
            i for i in items.get(v["generic_name"], [])
            if not v.get("dosage_form_group") or i.dosage_form_group.value == v["dosage_form_group"]
        ]  # fmt: skip
        if len(candidates) != 1:
            problems[f"{at}.generic_name"] = [
                "不是本批次的品种，或须注明剂型组 (not an item of this batch, or name the group)"
            ]
            continue
        item = candidates[0]
        brand = None
        if v.get("brand_product_code"):
            brand = products.get(v["brand_product_code"])
            if brand is None or brand.generic_name != item.generic_name:
                problems[f"{at}.brand_product_code"] = [
                    "目录中没有该品种的此产品 (no such product of this variety)"
                ]
                continue
        try:
            quantity = int(v["quantity"]) if v["quantity"].isascii() else -1
            if not 0 <= quantity <= MAX_QUANTITY:
                raise ValueError
        except ValueError:
            problems[f"{at}.quantity"] = ["须为非负整数 (a whole number, not negative)"]
            continue
        key = (item.id, v["hospital_uscc"], v["region_code"], brand.id if brand else 0)
        if key in seen:
            problems[f"{at}.hospital_uscc"] = [f"与第 {seen[key]} 行重复 (duplicates row {seen[key]})"]
            continue
        seen[key] = row.number
        rows.append(
            MemberDemand(
                batch_id=batch.id,
                item_id=item.id,
                province_code=province,
                hospital_uscc=v["hospital_uscc"],
                hospital_name=v["hospital_name"][:200],
                region_code=v["region_code"],
                brand_product_id=brand.id if brand else None,
                brand_key=brand.id if brand else 0,
                quantity=quantity,
                source_sha256=sha,
                imported_at=now,
            )
        )
    if problems:
        raise ValidationFailed(
            "导入失败，未写入任何数据 (import failed; nothing was written)", fields=problems
        )
    session.execute(
        delete(MemberDemand).where(MemberDemand.batch_id == batch.id, MemberDemand.province_code == province)
    )
    session.add_all(rows)
    session.flush()
    audit.record(
        session,
        actor,
        "batch.member_demand",
        subject_type="batch",
        subject_id=batch.id,
        after={
            "province": province,
            "rows": len(rows),
            "quantity": sum(r.quantity for r in rows),
            "sha256": sha,
        },
        now=now,
    )
    return len(rows)


@dataclass(frozen=True)
class ProvinceVolume:
    item_id: int
    generic_name: str
    volume: AgreedVolume
    hospital_name: str


def province_volumes(session: Session, actor: Actor, batch_id: int, province: str) -> list[ProvinceVolume]:
    """A member province's agreed volumes as the lead works them out (its own hospitals' figures
    are the stored allocations; the same function gives both)."""
    batch = lead_batch(session, actor, batch_id)
    if batch.opened_at is None:
        raise InvalidState("开标后才有约定采购量 (agreed volumes exist after the opening)", code="not_opened")
    demand: dict[int, list[Demand]] = {}
    names: dict[str, str] = {}
    brand_codes: dict[int, str] = {}
    for m in session.scalars(
        select(MemberDemand).where(MemberDemand.batch_id == batch.id, MemberDemand.province_code == province)
    ):
        demand.setdefault(m.item_id, []).append(
            Demand(
                m.hospital_uscc, m.region_code, _code(session, m.brand_product_id, brand_codes), m.quantity
            )
        )
        names[m.hospital_uscc] = m.hospital_name
    for r, uscc, name in session.execute(
        select(DemandReport, Organization.uscc, Organization.name)
        .join(Organization, Organization.id == DemandReport.hospital_id)
        .where(DemandReport.batch_id == batch.id)
    ):
        if province_of(r.region_code) == province:
            demand.setdefault(r.item_id, []).append(
                Demand(uscc, r.region_code, _code(session, r.brand_product_id, brand_codes), r.quantity)
            )
            names[uscc] = name
    out = []
    for item in batch.items:
        ratio, awards, primary = _item_results(session, item, province)
        if not awards:
            continue
        for v in agreed_volumes(
            demand.get(item.id, []),
            ratio,
            primary_of=lambda region, code=primary: code if province_of(region) == province else None,
            winners=awards,
        ):
            out.append(ProvinceVolume(item.id, item.generic_name, v, names.get(v.hospital, "")))
    return out


def _code(session: Session, product_id: int | None, cache: dict[int, str]) -> str | None:
    if product_id is None:
        return None
    if product_id not in cache:
        cache[product_id] = session.get_one(Product, product_id).code
    return cache[product_id]


def _item_results(
    session: Session, item: BatchItem, province: str
) -> tuple[Decimal, dict[str, Award], str | None]:
    """The item's ratio, its winners by product code, and the code of the province's primary."""
    result = session.scalars(select(ItemResult).where(ItemResult.item_id == item.id)).first()
    awards = {
        code: award
        for award, code in session.execute(
            select(Award, Product.code)
            .join(Product, Product.id == Award.product_id)
            .where(Award.item_id == item.id)
        )
    }
    primary_id = session.scalar(
        select(RegionAssignment.award_id).where(
            RegionAssignment.item_id == item.id,
            RegionAssignment.region_code == province,
            RegionAssignment.kind == "primary",
        )
    )
    primary = next((code for code, a in awards.items() if a.id == primary_id), None)
    ratio = Decimal(result.volume_ratio) if result and result.volume_ratio else Decimal(0)
    return ratio, awards, primary


def results_for_member(
    session: Session, actor: Actor, batch_id: int, province: str, *, own_province: str
) -> ResultsFile:
    """The results a member province executes: every item and winner (a hospital's named brand is
    honoured anywhere), and the supply rows of that province."""
    batch = lead_batch(session, actor, batch_id)
    if batch.status not in (BatchStatus.RESULTS_PUBLISHED, BatchStatus.EXECUTING, BatchStatus.CLOSED):
        raise InvalidState(
            "结果公布后才能导出 (export after the results are published)", code="not_published"
        )
    if province not in (batch.member_provinces or []):
        raise ValidationFailed(fields={"province": ["不是本联盟的成员省份 (not a member of this alliance)"]})
    head = {
        "batch_name": batch.name,
        "scope": "alliance",
        "category": batch.category.value,
        "rule_version": batch.rule_version,
        "reference": f"{own_province}-{batch.id}",
        "issuer": f"{PROVINCES.get(own_province, own_province)}医疗保障局（联盟牵头）",
        "cycle_start_on": batch.cycle_start_on.isoformat(),
        "cycle_end_on": batch.cycle_end_on.isoformat(),
    }
    items = []
    for n, item in enumerate(batch.items, start=1):
        ratio, awards, _ = _item_results(session, item, province)
        roles = {
            award_id: kind
            for award_id, kind in session.execute(
                select(RegionAssignment.award_id, RegionAssignment.kind).where(
                    RegionAssignment.item_id == item.id, RegionAssignment.region_code == province
                )
            )
        }
        winners = []
        for code, award in sorted(awards.items(), key=lambda kv: (kv[1].rank, kv[0])):
            org = session.get_one(Organization, award.manufacturer_id)
            values = {
                "winner_uscc": org.uscc,
                "winner_name": org.name,
                "product_code": code,
                "winning_pack_price": str(Decimal(award.pack_price_fen) / 100),
                "rank": str(award.rank),
            }
            supply = [Supply(province, roles[award.id])] if award.id in roles else []
            winners.append(Winner(values, supply))
        values = {
            "item_no": f"{n:02d}",
            "generic_name": item.generic_name,
            "dosage_form_group": item.dosage_form_group.value,
            "rep_strength_value": item.rep_strength_value,
            "rep_strength_unit": item.rep_strength_unit,
            "ratio_kind": item.ratio_kind.value,
            "allowed_strengths": "|".join(item.allowed_strengths),
            "ceiling": str(e4_to_decimal(item.ceiling_e4)),
            "volume_ratio": str(ratio) if awards else "",
        }
        items.append(Item(values, winners))
    return ResultsFile({k: head[k] for k in BATCH_FIELDS}, items)


def export_for_member(
    session: Session,
    actor: Actor,
    batch_id: int,
    province: str,
    *,
    own_province: str,
    fmt: str,
    now: datetime,
) -> bytes:
    data = write(results_for_member(session, actor, batch_id, province, own_province=own_province), fmt)
    audit.record(
        session,
        actor,
        "batch.results_export",
        subject_type="batch",
        subject_id=batch_id,
        after={"province": province, "format": fmt, "sha256": hashlib.sha256(data).hexdigest()},
        now=now,
    )
    return data


def demand_template() -> bytes:
    return write_xlsx([Sheet("成员省报量", [c.headers[0] for c in DEMAND_COLUMNS], [])])
