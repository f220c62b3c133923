"""Checking a results file against the catalogue, the organizations and the rules before anything
is written (bidding/results_import.py): every problem is collected and named by its row ("row 7.
product_code") or JSON path, so one bad row imports nothing and says where it is."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bidding import rules
from bidding.models import Award, BatchItem, Category, DosageFormGroup, Product, RatioKind, Scope
from bidding.pricing import comparable_of
from bidding.results_format import ResultsFile
from core.actors import OrgKind
from core.errors import ValidationFailed
from core.glossary import TERMS
from core.money import MoneyError, parse_decimal, to_e4, to_fen, unit_price_e4_from_pack
from core.organizations import Organization
from core.regions import province_code_error

IMPORTED_ROUTE = "imported"
ITEM_REQUIRED = (
    "generic_name",
    "dosage_form_group",
    "rep_strength_value",
    "rep_strength_unit",
    "ratio_kind",
    "ceiling",
)
NAME_MAX = 200  #: the batch's and the item's name columns
MAX_RANK = 1000
ROLES = {"primary": "primary", "主供": "primary", "backup": "backup", "备供": "backup"}
SCOPES = {
    "national": Scope.NATIONAL,
    "国家组织": Scope.NATIONAL,
    "alliance": Scope.ALLIANCE,
    "省际联盟": Scope.ALLIANCE,
}
#: The national rule family a file names when it names none (the latest published, §1.5.4).
DEFAULT_RULE_VERSION = "batch_11"


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
class Plan:
    """What the file will create, validated."""

    batch: dict[str, Any]
    items: list[tuple[BatchItem, list[tuple[Award, list[tuple[str, str]]]]]]


def plan(session: Session, results: ResultsFile, *, category_hint: Category | None) -> Plan:
    c = _Checker()
    b = results.batch
    bw = results.batch_where
    where_b = lambda key: bw.get(key, "batch")  # noqa: E731
    batch: dict[str, Any] = {"name": b["batch_name"]}
    if len(b["batch_name"]) > NAME_MAX:
        c.add(where_b("batch_name"), "batch_name", f"最多 {NAME_MAX} 个字符 (at most {NAME_MAX} characters)")
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
                for s in re.split(r"[|;；,，]", v["allowed_strengths"])
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
        if batch.get("category") is Category.CONSUMABLE and fields.get("ratio_kind") not in (
            None,
            RatioKind.NONE,
        ):
            c.add(w, "ratio_kind", "耗材不做差比价换算，须为 none (consumables use none)")
        for key, limit in (("generic_name", NAME_MAX), ("rep_strength_unit", 20), ("item_no", 40)):
            if len(v.get(key, "")) > limit:
                c.add(w, key, f"最多 {limit} 个字符 (at most {limit} characters)")
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
    return Plan(batch, planned)


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
        if not 1 <= award.rank <= MAX_RANK:
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
