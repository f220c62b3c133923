"""Scenario builders for results decided elsewhere: a catalogue of winners, a results file written
cell by cell (not by the code under test), hospitals reporting demand, execution."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import openpyxl
from sqlalchemy.orm import Session

from bidding import batches, catalogue, demand, results_import
from bidding.models import BatchStatus, Category, DosageFormGroup, Product
from core.actors import Actor, OrgKind, Role
from core.organizations import Organization
from tests.factories import actor_of, make_org, make_user

IMPORTED_AT = datetime(2026, 9, 1, 1, 0, tzinfo=UTC)
DEMAND_OPENS = IMPORTED_AT + timedelta(days=1)
DEMAND_CLOSES = IMPORTED_AT + timedelta(days=10)
DURING = IMPORTED_AT + timedelta(days=3)
AFTER = DEMAND_CLOSES + timedelta(hours=1)

HEADERS = {
    "batch_name": "批次名称",
    "scope": "批次范围",
    "category": "类别",
    "rule_version": "规则版本",
    "reference": "文件编号",
    "issuer": "发布机构",
    "cycle_start_on": "采购周期开始日",
    "cycle_end_on": "采购周期结束日",
    "item_no": "品种编号",
    "generic_name": "通用名",
    "dosage_form_group": "剂型组",
    "rep_strength_value": "代表品含量",
    "rep_strength_unit": "含量单位",
    "ratio_kind": "差比价类型",
    "allowed_strengths": "可申报含量",
    "ceiling": "最高有效申报价（元/最小单位）",
    "volume_ratio": "约定采购量比例",
    "winner_uscc": "中选企业统一社会信用代码",
    "winner_name": "中选企业名称",
    "product_code": "中选产品编码",
    "winning_pack_price": "中选价格（元/包装）",
    "rank": "中选排名",
    "province_code": "供应省份代码",
    "supply_role": "供应角色",
}


def csv_bytes(rows: Sequence[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS.values())
    for row in rows:
        writer.writerow([row.get(key, "") for key in HEADERS])
    return buffer.getvalue().encode("utf-8")


def xlsx_bytes(rows: Sequence[dict[str, str]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(HEADERS.values()))
    for row in rows:
        sheet.append([row.get(key, "") for key in HEADERS])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def json_bytes(rows: Sequence[dict[str, str]]) -> bytes:
    """The nested JSON form of the same rows."""
    first = rows[0]
    batch = {k: first[k] for k in list(HEADERS)[:8] if k in first}
    items: dict[str, dict[str, Any]] = {}
    for row in rows:
        item = items.setdefault(
            row["item_no"],
            {k: row.get(k, "") for k in list(HEADERS)[8:17]} | {"winners": []},
        )
        if not row.get("winner_uscc"):
            continue
        winner = next((w for w in item["winners"] if w["winner_uscc"] == row["winner_uscc"]), None)
        if winner is None:
            winner = {k: row.get(k, "") for k in list(HEADERS)[17:22]} | {"supply": []}
            item["winners"].append(winner)
        if row.get("province_code"):
            winner["supply"].append({"province_code": row["province_code"], "role": row["supply_role"]})
    return json.dumps({"format": "vbp-results/1", "batch": batch, "items": list(items.values())}).encode()


@dataclass
class Platform:
    """One province's platform in a test: its bureau, manufacturers and hospitals."""

    session: Session
    province: str
    bureau: Actor
    manufacturers: dict[str, Organization] = field(default_factory=dict)
    hospitals: dict[str, Organization] = field(default_factory=dict)
    actors: dict[int, Actor] = field(default_factory=dict)

    def actor(self, org: Organization) -> Actor:
        if org.id not in self.actors:
            self.actors[org.id] = actor_of(make_user(self.session, org, Role.OPERATOR))
        return self.actors[org.id]

    def manufacturer(self, key: str) -> Organization:
        if key not in self.manufacturers:
            self.manufacturers[key] = make_org(self.session, OrgKind.MANUFACTURER, name=f"落地企业{key}")
        return self.manufacturers[key]

    def hospital(self, key: str, region: str) -> Organization:
        if key not in self.hospitals:
            self.hospitals[key] = make_org(
                self.session, OrgKind.HOSPITAL, name=f"落地医院{key}", region_code=region
            )
        return self.hospitals[key]

    def product(
        self, maker: str, code: str, generic: str, *, strength: str = "10", units: int = 100
    ) -> Product:
        mah = self.manufacturer(maker)
        return catalogue.create_product(
            self.session,
            self.bureau,
            data={
                "category": Category.DRUG,
                "code": code,
                "generic_name": generic,
                "dosage_form": "片剂",
                "dosage_form_group": DosageFormGroup.ORAL_SOLID,
                "strength_value": strength,
                "strength_unit": "mg",
                "fill_volume_ml": None,
                "spec_text": f"{strength}mg×{units}片",
                "min_unit": "片",
                "units_per_pack": units,
                "mah_uscc": mah.uscc,
                "originator": False,
                "reference_listed": False,
                "consistency_evaluated": True,
                "registration_no": None,
            },
            now=IMPORTED_AT - timedelta(days=30),
        )

    def import_file(self, data: bytes, filename: str) -> results_import.ImportSummary:
        return results_import.import_results(
            self.session,
            self.bureau,
            data=data,
            filename=filename,
            province_code=self.province,
            demand_opens_at=DEMAND_OPENS,
            demand_closes_at=DEMAND_CLOSES,
            now=IMPORTED_AT,
        )

    def open_demand(self, batch_id: int) -> None:
        batches.transition(
            self.session, self.bureau, batch_id, to=BatchStatus.DEMAND_COLLECTION, now=IMPORTED_AT
        )

    def report(
        self, hospital: Organization, batch_id: int, item_id: int, qty: int, brand: int | None = None
    ) -> None:
        demand.report_demand(
            self.session,
            self.actor(hospital),
            batch_id,
            lines=[demand.DemandLine(item_id=item_id, quantity=qty, brand_product_id=brand)],
            now=DURING,
        )

    def execute(self, batch_id: int) -> results_import.ExecutionSummary:
        return results_import.execute_results(self.session, self.bureau, batch_id, now=AFTER)


def new_platform(session: Session, province: str = "510000") -> Platform:
    bureau_org = make_org(session, OrgKind.BUREAU, region_code=province)
    return Platform(session, province, actor_of(make_user(session, bureau_org, Role.OPERATOR)))
