"""Executing results decided elsewhere (中选结果落地实施, supervision-and-interop.md §10): a national
or alliance batch is created from its results file, skips bidding and opening, collects this
province's demand, and is executed: demand → agreed volumes by the file's ratio (vbp-rules.md
§1.6), hospitals to the winners that supply this province (§1.7), then listings as for any batch.

The import is all or nothing and names every bad row. The batch keeps the whole file (as JSON) and
its SHA-256 as the record of where its results came from.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bidding import rules
from bidding.batches import create_batch, get_batch, move, require_bureau_writer
from bidding.models import (
    Award,
    BatchItem,
    BatchStatus,
    Category,
    DemandReport,
    DosageFormGroup,
    ItemResult,
    ProcurementBatch,
    Product,
    RatioKind,
    RegionAssignment,
    Scope,
    SelectionSource,
    VolumeAllocation,
)
from bidding.opening import rederive_item
from bidding.pricing import comparable_of
from bidding.results_format import ResultsFile, ResultsFileError, read
from bidding.volumes import Demand, agreed_volumes
from core import audit
from core.actors import Actor, OrgKind
from core.db import bulk_insert
from core.errors import Conflict, InvalidState, RuleViolation, ValidationFailed
from core.glossary import TERMS
from core.money import MoneyError, parse_decimal, to_e4, to_fen, unit_price_e4_from_pack
from core.organizations import Organization
from core.regions import province_code_error, province_of

IMPORTED_ROUTE = "imported"
ITEM_REQUIRED = (
    "generic_name",
    "dosage_form_group",
    "rep_strength_value",
    "rep_strength_unit",
    "ratio_kind",
    "ceiling",
)
ROLES = {"primary": "primary", "主供": "primary", "backup": "backup", "备供": "backup"}
SCOPES = {
    "national": Scope.NATIONAL,
    "国家组织": Scope.NATIONAL,
    "alliance": Scope.ALLIANCE,
    "省际联盟": Scope.ALLIANCE,
}
#: The national rule family a file names when it names none (the latest published, §1.5.4).
DEFAULT_RULE_VERSION = "batch_11"
#: Bidding and opening do not happen here; the timeline's bid phase is a one-second stub after
#: demand closes so the batch table's timeline constraint holds.
STUB = timedelta(seconds=1)


@dataclass
class ImportSummary:
    batch: ProcurementBatch
    items: int
    winners: int
    #: Items with no winner supplying this province as primary (their generic demand has no home).
    unsupplied_items: list[str] = field(default_factory=list)


def _enum_value(enum_cls: type, text: str) -> Any:
    """An enum member by its code or its Chinese term (the glossary's words)."""
    for member in enum_cls:
        if text in (member.value, TERMS.get(member.value, ("",))[0]):
            return member
    raise ValueError(text)


def _date(text: str) -> date:
    return date.fromisoformat(text[:10])


def _ratio(text: str) -> Decimal:
    """0.8 or 80 %: a share of the reported base in (0, 1] (§1.6: never more than the base)."""
    percent = text.endswith("%")
    number = parse_decimal(text.rstrip("%").strip(), places=4, integer_digits=3)
    if percent:
        number /= 100
    if not 0 < number <= 1:
        raise ValueError
    return number


class _Checker:
    """Collects every problem of a file, keyed "row n.column" or a JSON path."""

    def __init__(self) -> None:
        self.problems: dict[str, list[str]] = {}

    def add(self, where: str, key: str, message: str) -> None:
        self.problems.setdefault(f"{where}.{key}", []).append(message)


@dataclass
class _Plan:
    """What the file will create, validated."""

    batch: dict[str, Any]
    items: list[tuple[BatchItem, list[tuple[Award, list[tuple[str, str]]]]]]


def _plan(session: Session, results: ResultsFile, *, category_hint: Category | None) -> _Plan:
    c = _Checker()
    b = results.batch
    bw = results.batch_where
    where_b = lambda key: bw.get(key, "batch")  # noqa: E731
    batch: dict[str, Any] = {"name": b["batch_name"]}
    for key in ("batch_name", "scope", "category", "cycle_start_on", "cycle_end_on"):
        if not b.get(key):
            c.add(where_b(key), key, "必填 (required)")
    if b.get("scope"):
        if b["scope"] not in SCOPES:
            c.add(where_b("scope"), "scope", "须为 national/国家组织 或 alliance/省际联盟")
        batch["scope"] = SCOPES.get(b["scope"])
    try:
        batch["category"] = _enum_value(Category, b["category"]) if b.get("category") else category_hint
    except ValueError:
        c.add(where_b("category"), "category", "须为 drug/药品 或 consumable/耗材")
    for key in ("cycle_start_on", "cycle_end_on"):
        if b.get(key):
            try:
                batch[key] = _date(b[key])
            except ValueError:
                c.add(where_b(key), key, "须为日期 YYYY-MM-DD (must be a date)")
    if (
        batch.get("cycle_start_on")
        and batch.get("cycle_end_on")
        and batch["cycle_end_on"] <= batch["cycle_start_on"]
    ):
        c.add(where_b("cycle_end_on"), "cycle_end_on", "须晚于采购周期开始日 (must be after the cycle start)")
    version = b.get("rule_version") or DEFAULT_RULE_VERSION
    try:
        ruleset = rules.preset(version)
    except KeyError:
        c.add(where_b("rule_version"), "rule_version", f"未知规则版本 (unknown rule set) {version}")
        ruleset = rules.preset(DEFAULT_RULE_VERSION)
    batch["rule_version"] = version

    usccs = {w.values["winner_uscc"] for i in results.items for w in i.winners}
    codes = {w.values["product_code"] for i in results.items for w in i.winners if w.values["product_code"]}
    orgs = {o.uscc: o for o in session.scalars(select(Organization).where(Organization.uscc.in_(usccs)))}
    products = {p.code: p for p in session.scalars(select(Product).where(Product.code.in_(codes)))}
    varieties: dict[tuple[str, str], str] = {}
    planned = []
    for item in results.items:
        v, w = item.values, item.where
        for key in ITEM_REQUIRED:
            if not v.get(key):
                c.add(w, key, "必填 (required)")
        fields: dict[str, Any] = {
            "generic_name": v["generic_name"],
            "rep_strength_unit": v["rep_strength_unit"],
        }
        for key, enum_cls in (("dosage_form_group", DosageFormGroup), ("ratio_kind", RatioKind)):
            if v.get(key):
                try:
                    fields[key] = _enum_value(enum_cls, v[key])
                except ValueError:
                    c.add(w, key, f"未知取值 (unknown value) {v[key]}")
        try:
            rep = (
                str(parse_decimal(v["rep_strength_value"], places=6)) if v.get("rep_strength_value") else None
            )
            allowed = [
                str(parse_decimal(s.strip(), places=6))
                for s in v["allowed_strengths"].split("|")
                if s.strip()
            ]
            if rep is not None and rep not in allowed:
                allowed.insert(0, rep)
            fields.update(rep_strength_value=rep, allowed_strengths=allowed)
        except MoneyError:
            c.add(w, "rep_strength_value", "含量须为数字 (strengths must be numbers)")
        if v.get("ceiling"):
            try:
                ceiling = parse_decimal(v["ceiling"], places=4)
                if ceiling <= 0:
                    raise MoneyError("not positive")
                fields["ceiling_e4"] = to_e4(ceiling)
            except MoneyError:
                c.add(w, "ceiling", "须为正数，最多 4 位小数 (a positive price, at most 4 decimals)")
        if v.get("volume_ratio"):
            try:
                fields["volume_ratio_override"] = str(_ratio(v["volume_ratio"]))
            except (MoneyError, ValueError, ArithmeticError):
                c.add(
                    w,
                    "volume_ratio",
                    "约定采购量比例须在 (0, 1] 之间，如 0.8 或 80% (a ratio in (0, 1], §1.6)",
                )
        if item.winners and not v.get("volume_ratio"):
            c.add(
                w, "volume_ratio", "有中选企业的品种须填约定采购量比例 (an item with winners needs its ratio)"
            )
        if batch.get("category") is Category.CONSUMABLE and fields.get("ratio_kind") not in (
            None,
            RatioKind.NONE,
        ):
            c.add(w, "ratio_kind", "耗材不做差比价换算，须为 none (consumables use none)")
        variety = (v["generic_name"], v["dosage_form_group"])
        if variety in varieties:
            c.add(
                w,
                "generic_name",
                f"与{varieties[variety]}的品种重复 (the same variety as {varieties[variety]})",
            )
        varieties.setdefault(variety, w)
        draft = BatchItem(**{k: fields.get(k) for k in fields})
        winners = []
        primaries: dict[str, str] = {}
        for rank_default, winner in enumerate(item.winners, start=1):
            winners.append(
                _plan_winner(
                    c,
                    winner,
                    draft,
                    fields,
                    ruleset,
                    orgs,
                    products,
                    batch.get("category"),
                    primaries,
                    rank_default,
                )
            )
        planned.append((draft, winners))
    if c.problems:
        raise ValidationFailed(
            "导入失败，未写入任何数据 (import failed; nothing was written)", fields=c.problems
        )
    return _Plan(batch, planned)


def _plan_winner(
    c: _Checker,
    winner: Any,
    draft: BatchItem,
    fields: dict[str, Any],
    ruleset: rules.RuleSet,
    orgs: dict[str, Organization],
    products: dict[str, Product],
    category: Category | None,
    primaries: dict[str, str],
    rank_default: int,
) -> tuple[Award, list[tuple[str, str]]]:
    v, w = winner.values, winner.where
    org = orgs.get(v["winner_uscc"])
    if org is None or org.kind is not OrgKind.MANUFACTURER:
        c.add(w, "winner_uscc", f"平台上没有该生产企业 (no manufacturer with this USCC) {v['winner_uscc']}")
    product = products.get(v["product_code"]) if v["product_code"] else None
    if not v["product_code"]:
        c.add(w, "product_code", "必填 (required)")
    elif product is None:
        c.add(w, "product_code", f"目录中没有该产品 (no product with this code) {v['product_code']}")
    elif org is not None and product.mah_id != org.id:
        c.add(w, "product_code", "该产品不属于该中选企业 (the product is not this winner's)")
    elif product.generic_name != fields.get("generic_name") or (
        fields.get("dosage_form_group") and product.dosage_form_group is not fields["dosage_form_group"]
    ):
        c.add(w, "product_code", "该产品不是本品种 (the product is not of this variety)")
    elif category and product.category is not category:
        c.add(w, "product_code", "产品类别与批次不符 (product category differs from the batch)")
    award = Award(
        manufacturer_id=org.id if org else None,
        product_id=product.id if product else None,
        route=IMPORTED_ROUTE,
        picks_regions=False,
    )
    if not v["winning_pack_price"]:
        c.add(w, "winning_pack_price", "中选企业须有中选价格 (a winner needs its winning price)")
    else:
        try:
            price = parse_decimal(v["winning_pack_price"], places=2)
            if price <= 0:
                raise MoneyError("not positive")
            award.pack_price_fen = to_fen(price)
        except MoneyError:
            c.add(
                w,
                "winning_pack_price",
                "须为正数，最多 2 位小数 (a positive price in yuan, at most 2 decimals)",
            )
    try:
        award.rank = int(v["rank"]) if v["rank"] else rank_default
        if award.rank < 1:
            raise ValueError
    except ValueError:
        c.add(w, "rank", "须为正整数 (a positive whole number)")
    if product is not None and award.pack_price_fen and "ceiling_e4" in fields and "ratio_kind" in fields:
        award.unit_price_e4 = unit_price_e4_from_pack(award.pack_price_fen, product.units_per_pack)
        try:
            award.comparable_e4, _ = comparable_of(ruleset, draft, product, award.unit_price_e4)
        except (ArithmeticError, ValueError, KeyError):
            c.add(
                w,
                "product_code",
                "无法按差比价换算该产品的规格 (its spec cannot be converted to the representative)",
            )
        else:
            if award.comparable_e4 > fields["ceiling_e4"]:
                c.add(
                    w,
                    "winning_pack_price",
                    "中选价高于最高有效申报价 (the winning price is above the ceiling)",
                )
    supply = []
    for s in winner.supply:
        if msg := province_code_error(s.province_code):
            c.add(s.where, "province_code", f"{msg}: {s.province_code}")
            continue
        role = ROLES.get(s.role)
        if role is None:
            c.add(s.where, "supply_role", "须为 primary/主供 或 backup/备供")
            continue
        if (s.province_code, role) in [(p, r) for p, r in supply]:
            c.add(s.where, "province_code", "同一省份重复 (this province is listed twice)")
            continue
        if any(p == s.province_code for p, _ in supply):
            c.add(
                s.where,
                "supply_role",
                "同一省份不能既主供又备供 (a winner is primary or backup in a province, not both)",
            )
            continue
        if role == "primary":
            if s.province_code in primaries:
                c.add(
                    s.where,
                    "supply_role",
                    f"该省份已由{primaries[s.province_code]}主供 "
                    "(the province already has a primary supplier)",
                )
                continue
            primaries[s.province_code] = v["winner_uscc"]
        supply.append((s.province_code, role))
    return award, supply


def import_results(
    session: Session,
    actor: Actor,
    *,
    data: bytes,
    filename: str,
    province_code: str,
    demand_opens_at: datetime,
    demand_closes_at: datetime,
    now: datetime,
) -> ImportSummary:
    """Create a draft batch from a results file (all or nothing). Only this province's supply
    rows become region assignments; the whole file is kept with the batch."""
    require_bureau_writer(actor)
    if demand_closes_at <= demand_opens_at:
        raise ValidationFailed(
            fields={"demand_closes_at": ["须晚于报量开始时间 (must be after demand_opens_at)"]}
        )
    try:
        results = read(data, filename)
    except ResultsFileError as exc:
        raise ValidationFailed(
            "导入失败，未写入任何数据 (import failed; nothing was written)", fields=exc.fields
        ) from exc
    sha = hashlib.sha256(data).hexdigest()
    for batch_id, source in session.execute(
        select(ProcurementBatch.id, ProcurementBatch.results_source).where(
            ProcurementBatch.selection == SelectionSource.IMPORTED
        )
    ):
        if source and source.get("sha256") == sha:
            raise Conflict(
                f"该结果文件已导入为批次 {batch_id} (this file was already imported as batch {batch_id})"
            )
    plan = _plan(session, results, category_hint=None)
    b = plan.batch
    batch = create_batch(
        session,
        actor,
        name=b["name"],
        category=b["category"],
        scope=b["scope"],
        rule_version=b["rule_version"],
        rule_overrides=None,
        timeline={
            "demand_opens_at": demand_opens_at,
            "demand_closes_at": demand_closes_at,
            "bid_opens_at": demand_closes_at,
            "bid_closes_at": demand_closes_at + STUB,
            "opening_at": demand_closes_at + STUB,
            "cycle_start_on": b["cycle_start_on"],
            "cycle_end_on": b["cycle_end_on"],
        },
        now=now,
        imported=True,
    )
    batch.results_source = {
        "filename": filename[-200:],
        "sha256": sha,
        "issuer": results.batch.get("issuer", ""),
        "reference": results.batch.get("reference", ""),
        "province_code": province_code,
        "imported_at": now.isoformat(),
        "imported_by": actor.user_id,
        "content": results.to_json(),
    }
    unsupplied = []
    winners = 0
    for draft, planned_winners in plan.items:
        draft.batch_id = batch.id
        session.add(draft)
        session.flush()
        has_primary = False
        for award, supply in planned_winners:
            award.batch_id, award.item_id = batch.id, draft.id
            session.add(award)
            session.flush()
            winners += 1
            for province, role in supply:
                if province == province_code:
                    has_primary |= role == "primary"
                    session.add(
                        RegionAssignment(
                            item_id=draft.id, award_id=award.id, region_code=province, kind=role, pick_round=0
                        )
                    )
        if not has_primary:
            unsupplied.append(draft.generic_name)
    session.flush()
    audit.record(
        session,
        actor,
        "batch.import_results",
        subject_type="batch",
        subject_id=batch.id,
        after={
            "filename": filename[-200:],
            "sha256": sha,
            "issuer": batch.results_source["issuer"],
            "reference": batch.results_source["reference"],
            "items": len(plan.items),
            "winners": winners,
            "unsupplied_items": unsupplied,
        },
        now=now,
    )
    return ImportSummary(batch, len(plan.items), winners, unsupplied)


@dataclass(frozen=True)
class ExecutionSummary:
    batch_id: int
    items: int
    allocations: int
    agreed_quantity: int


def execute_results(session: Session, actor: Actor, batch_id: int, *, now: datetime) -> ExecutionSummary:
    """落地: after demand closes, this province's reported demand becomes agreed volumes with the
    winners that supply it, and the results are published here."""
    require_bureau_writer(actor)
    batch = get_batch(session, actor, batch_id, for_update=True)
    if batch.selection is not SelectionSource.IMPORTED:
        raise InvalidState(
            "本批次在本平台开标选择，无需执行导入结果 (this batch is selected here)", code="selected_here"
        )
    if batch.status is not BatchStatus.DEMAND_COLLECTION:
        raise InvalidState("批次不在报量阶段 (the batch is not collecting demand)", code="illegal_transition")
    if now < batch.demand_closes_at:
        raise RuleViolation("报量尚未截止 (demand reporting is still open)", code="too_early")
    province = (batch.results_source or {}).get("province_code")
    awards = list(session.scalars(select(Award).where(Award.batch_id == batch.id).order_by(Award.id)))
    codes = dict(
        session.execute(
            select(Product.id, Product.code).where(Product.id.in_({a.product_id for a in awards}))
        ).all()
    )
    demand_rows = session.execute(
        select(
            DemandReport.item_id,
            DemandReport.region_code,
            DemandReport.brand_product_id,
            DemandReport.quantity,
            Organization.uscc,
            Organization.id,
        )
        .join(Organization, Organization.id == DemandReport.hospital_id)
        .where(DemandReport.batch_id == batch.id)
    ).all()
    brand_codes = dict(
        session.execute(
            select(Product.id, Product.code).where(
                Product.id.in_({r.brand_product_id for r in demand_rows if r.brand_product_id})
            )
        ).all()
    )
    primary = {
        item_id: award_id
        for item_id, award_id in session.execute(
            select(RegionAssignment.item_id, RegionAssignment.award_id)
            .join(Award, Award.id == RegionAssignment.award_id)
            .where(
                Award.batch_id == batch.id,
                RegionAssignment.kind == "primary",
                RegionAssignment.region_code == province,
            )
        )
    }
    hospital_of = {r.uscc: r.id for r in demand_rows}
    rows: list[dict[str, object]] = []
    results = []
    for item in batch.items:
        item_awards = {codes[a.product_id]: a for a in awards if a.item_id == item.id}
        ratio = (
            Decimal(item.volume_ratio_override)
            if item.volume_ratio_override
            else rules.RuleSet.from_dict(batch.rules).volume_ratio_for(len(item_awards))
        )
        primary_code = next((code for code, a in item_awards.items() if a.id == primary.get(item.id)), None)
        volumes = agreed_volumes(
            (
                Demand(r.uscc, r.region_code, brand_codes.get(r.brand_product_id), r.quantity)
                for r in demand_rows
                if r.item_id == item.id
            ),
            ratio,
            # Every region of this province is supplied by the province's primary winner.
            primary_of=lambda region, code=primary_code: code if province_of(region) == province else None,
            winners=item_awards,
        )
        rows.extend(
            {
                "batch_id": batch.id,
                "item_id": item.id,
                "hospital_id": hospital_of[v.hospital],
                "region_code": v.region,
                "award_id": item_awards[v.supplier].id,
                "base_quantity": v.base_quantity,
                "agreed_quantity": v.agreed_quantity,
                "brand_specific": v.brand_specific,
            }
            for v in volumes
        )
        results.append(
            ItemResult(
                batch_id=batch.id,
                item_id=item.id,
                eligible_bidders=0,
                max_shortlisted=0,
                winner_count=len(item_awards),
                volume_ratio=str(ratio) if item_awards else None,
                rules=batch.rules,
                allocation_log=[{"source": "imported", "sha256": (batch.results_source or {}).get("sha256")}],
            )
        )
    bulk_insert(session, VolumeAllocation.__table__, rows)
    session.add_all(results)
    move(session, actor, batch, BatchStatus.RESULTS_PUBLISHED, now=now)
    batch.published_at = now
    session.flush()
    summary = ExecutionSummary(
        batch.id, len(batch.items), len(rows), sum(int(r["agreed_quantity"]) for r in rows)
    )  # type: ignore[call-overload]
    audit.record(
        session,
        actor,
        "batch.execute_results",
        subject_type="batch",
        subject_id=batch.id,
        after={
            "items": summary.items,
            "allocations": summary.allocations,
            "agreed_quantity": summary.agreed_quantity,
        },
        now=now,
    )
    return summary


@dataclass(frozen=True)
class Rederivation:
    """Whether a batch's selection can be re-derived here, and what came out differently."""

    selected_here: bool
    source: dict[str, Any] | None
    differences: dict[int, list[str]]

    @property
    def statement(self) -> str:
        if not self.selected_here:
            s = self.source or {}
            return (
                "本批次的中选结果不在本平台产生，无法重新推导；结果来自导入文件 "
                f"{s.get('filename', '')}（{s.get('issuer', '')} {s.get('reference', '')}，"
                f"SHA-256 {s.get('sha256', '')}） (selection was not done here: the results were "
                "imported from that file and cannot be re-derived)"
            )
        bad = {k: v for k, v in self.differences.items() if v}
        if not bad:
            return "全部品种可由存档输入重新推导出相同结果 (every item re-derives to the stored result)"
        return f"{len(bad)} 个品种的重新推导结果与存档不同 ({len(bad)} items re-derive differently)"


def rederive_batch(session: Session, batch_id: int) -> Rederivation:
    """Re-run the selection of every opened item; an imported batch says it was not selected here."""
    batch = session.get_one(ProcurementBatch, batch_id)
    if batch.selection is SelectionSource.IMPORTED:
        return Rederivation(
            False, {k: v for k, v in (batch.results_source or {}).items() if k != "content"}, {}
        )
    opened = session.scalars(select(ItemResult.item_id).where(ItemResult.batch_id == batch.id)).all()
    return Rederivation(True, None, {item_id: rederive_item(session, item_id) for item_id in opened})


def agreed_total(session: Session, batch_id: int) -> int:
    return int(
        session.scalar(
            select(func.coalesce(func.sum(VolumeAllocation.agreed_quantity), 0)).where(
                VolumeAllocation.batch_id == batch_id
            )
        )
        or 0
    )
