"""The results file of a batch decided elsewhere (national office, alliance lead): one format read
from xlsx, CSV or JSON and written back to each, so an alliance lead's export imports unchanged
(supervision-and-interop.md §10, issue 22).

xlsx and CSV hold one flat table, one row per item × winner × supply province: batch columns and
item columns may be left blank below their first row ("same as above"), a value that differs is an
error. JSON nests the same fields: {"format", "batch": {...}, "items": [{..., "winners": [{...,
"supply": [{"province_code", "role"}]}]}]}. This module only reads and writes the shape; what the
values mean against the catalogue and the rules is checked in bidding/results_import.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from core.spreadsheets import Column, Sheet, SpreadsheetError, error_fields, read_table, write_csv, write_xlsx

FORMAT = "vbp-results/1"

BATCH_FIELDS = (
    "batch_name",
    "scope",
    "category",
    "rule_version",
    "reference",
    "issuer",
    "cycle_start_on",
    "cycle_end_on",
)
ITEM_FIELDS = (
    "item_no",
    "generic_name",
    "dosage_form_group",
    "rep_strength_value",
    "rep_strength_unit",
    "ratio_kind",
    "allowed_strengths",
    "ceiling",
    "volume_ratio",
)
WINNER_FIELDS = ("winner_uscc", "winner_name", "product_code", "winning_pack_price", "rank")
SUPPLY_FIELDS = ("province_code", "supply_role")
#: Optional columns. A blank volume ratio takes the batch rule set's ratio for the item's number
#: of winners (vbp-rules.md §1.6 table), as for a batch selected here.
OPTIONAL = frozenset(
    {"rule_version", "reference", "issuer", "allowed_strengths", "volume_ratio", "winner_name", "rank"}
)

#: Headers, Chinese first; the template and the export write the first one.
HEADERS: dict[str, tuple[str, ...]] = {
    "batch_name": ("批次名称", "batch_name"),
    "scope": ("批次范围", "scope"),
    "category": ("类别", "category"),
    "rule_version": ("规则版本", "rule_version"),
    "reference": ("文件编号", "reference"),
    "issuer": ("发布机构", "issuer"),
    "cycle_start_on": ("采购周期开始日", "cycle_start_on"),
    "cycle_end_on": ("采购周期结束日", "cycle_end_on"),
    "item_no": ("品种编号", "item_no"),
    "generic_name": ("通用名", "generic_name"),
    "dosage_form_group": ("剂型组", "dosage_form_group"),
    "rep_strength_value": ("代表品含量", "rep_strength_value"),
    "rep_strength_unit": ("含量单位", "rep_strength_unit"),
    "ratio_kind": ("差比价类型", "ratio_kind"),
    "allowed_strengths": ("可申报含量", "allowed_strengths"),
    "ceiling": ("最高有效申报价（元/最小单位）", "ceiling"),
    "volume_ratio": ("约定采购量比例", "volume_ratio"),
    "winner_uscc": ("中选企业统一社会信用代码", "winner_uscc"),
    "winner_name": ("中选企业名称", "winner_name"),
    "product_code": ("中选产品编码", "product_code"),
    "winning_pack_price": ("中选价格（元/包装）", "winning_pack_price"),
    "rank": ("中选排名", "rank"),
    "province_code": ("供应省份代码", "province_code"),
    "supply_role": ("供应角色", "supply_role"),
}
ALL_FIELDS = BATCH_FIELDS + ITEM_FIELDS + WINNER_FIELDS + SUPPLY_FIELDS
COLUMNS = [Column(key, HEADERS[key], required=key not in OPTIONAL) for key in ALL_FIELDS]


@dataclass
class Supply:
    province_code: str
    role: str
    where: str = ""


@dataclass
class Winner:
    values: dict[str, str]
    supply: list[Supply] = field(default_factory=list)
    where: str = ""


@dataclass
class Item:
    values: dict[str, str]
    winners: list[Winner] = field(default_factory=list)
    where: str = ""


@dataclass
class ResultsFile:
    """A results file as read: texts only (blank = ""), each part with where it was in the file."""

    batch: dict[str, str]
    items: list[Item]
    batch_where: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The JSON form (also what a batch stores as the record of its results)."""
        return {
            "format": FORMAT,
            "batch": dict(self.batch),
            "items": [
                {
                    **item.values,
                    "winners": [
                        {
                            **w.values,
                            "supply": [{"province_code": s.province_code, "role": s.role} for s in w.supply],
                        }
                        for w in item.winners
                    ],
                }
                for item in self.items
            ],
        }


class ResultsFileError(Exception):
    """The file cannot be read as a results file; `fields` names each place (row n.column)."""

    def __init__(self, fields: Mapping[str, list[str]]) -> None:
        self.fields = dict(fields)
        super().__init__(self.fields)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def read(data: bytes, filename: str) -> ResultsFile:
    """Read xlsx, CSV or JSON by the file name's suffix."""
    if filename.lower().rsplit(".", 1)[-1] == "json":
        return _read_json(data)
    try:
        table = read_table(data, filename=filename, columns=COLUMNS)
    except SpreadsheetError as exc:
        raise ResultsFileError(error_fields(exc)) from exc
    return _from_rows(
        (f"row {row.number}", {k: _text(v) for k, v in row.values.items()}) for row in table.rows
    )


def _read_json(data: bytes) -> ResultsFile:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ResultsFileError({"file": [f"不是有效的 JSON (not valid JSON): {str(exc)[:200]}"]}) from exc
    if (
        not isinstance(doc, dict)
        or not isinstance(doc.get("batch"), dict)
        or not isinstance(doc.get("items"), list)
    ):
        raise ResultsFileError(
            {"file": ["须含 batch 对象与 items 列表 (needs a batch object and an items list)"]}
        )
    rows: list[tuple[str, dict[str, str]]] = []
    batch = {k: _text(doc["batch"].get(k)) for k in BATCH_FIELDS}
    problems: dict[str, list[str]] = {}
    for i, item in enumerate(doc["items"]):
        if not isinstance(item, dict):
            problems[f"items[{i}]"] = ["须为对象 (must be an object)"]
            continue
        base = {**batch, **{k: _json_text(item.get(k)) for k in ITEM_FIELDS}, "__item": f"items[{i}]"}
        winners = item.get("winners") or []
        if not isinstance(winners, list):
            problems[f"items[{i}].winners"] = ["须为列表 (must be a list)"]
            continue
        if not winners:
            rows.append((f"items[{i}]", base))
        for j, winner in enumerate(winners):
            if not isinstance(winner, dict):
                problems[f"items[{i}].winners[{j}]"] = ["须为对象 (must be an object)"]
                continue
            wbase = {**base, **{k: _text(winner.get(k)) for k in WINNER_FIELDS}}
            wbase["__winner"] = f"items[{i}].winners[{j}]"
            supply = winner.get("supply") or []
            if not isinstance(supply, list):
                problems[f"items[{i}].winners[{j}].supply"] = ["须为列表 (must be a list)"]
                continue
            if not supply:
                rows.append((f"items[{i}].winners[{j}]", wbase))
            for k, s in enumerate(supply):
                s = s if isinstance(s, dict) else {}
                rows.append(
                    (
                        f"items[{i}].winners[{j}].supply[{k}]",
                        {
                            **wbase,
                            "province_code": _text(s.get("province_code")),
                            "supply_role": _text(s.get("role")),
                        },
                    )
                )
    if problems:
        raise ResultsFileError(problems)
    return _from_rows(rows)


def _json_text(value: Any) -> str:
    if isinstance(value, list):
        return "|".join(_text(v) for v in value)
    return _text(value)


def _from_rows(rows: Iterable[tuple[str, dict[str, str]]]) -> ResultsFile:
    """Group flat rows into items → winners → supply; a blank cell repeats the value above it."""
    problems: dict[str, list[str]] = {}
    batch: dict[str, str] = {}
    batch_where: dict[str, str] = {}
    items: dict[str, Item] = {}
    winners: dict[tuple[str, str], Winner] = {}
    any_row = False

    def agree(
        target: dict[str, str], wheres: dict[str, str] | None, key: str, value: str, where: str
    ) -> None:
        if not value:
            return
        if not target.get(key):
            target[key] = value
            if wheres is not None:
                wheres[key] = where
        elif target[key] != value:
            problems.setdefault(f"{where}.{key}", []).append(
                f"与前面的“{target[key]}”不一致 (differs from “{target[key]}” above)"
            )

    # A JSON row also carries its item's and winner's own paths ("__item", "__winner"), so a
    # problem of the winner is named items[3].winners[1], not by its first supply entry.
    for where, values in rows:
        any_row = True
        for key in BATCH_FIELDS:
            agree(batch, batch_where, key, values.get(key, ""), where)
        item_no = values.get("item_no", "")
        if not item_no:
            problems.setdefault(f"{where}.item_no", []).append("必填 (required)")
            continue
        item = items.get(item_no)
        if item is None:
            item = items[item_no] = Item({k: "" for k in ITEM_FIELDS}, where=values.get("__item", where))
        for key in ITEM_FIELDS:
            agree(item.values, None, key, values.get(key, ""), where)
        uscc = values.get("winner_uscc", "")
        if not uscc:
            if any(values.get(k) for k in WINNER_FIELDS + SUPPLY_FIELDS):
                problems.setdefault(f"{where}.winner_uscc", []).append(
                    "填写了中选产品或供应省份，须填中选企业 (a winner's columns are filled: name the winner)"
                )
            continue
        winner = winners.get((item_no, uscc))
        if winner is None:
            winner = winners[(item_no, uscc)] = Winner(
                {k: "" for k in WINNER_FIELDS}, where=values.get("__winner", where)
            )
            item.winners.append(winner)
        for key in WINNER_FIELDS:
            agree(winner.values, None, key, values.get(key, ""), where)
        province, role = values.get("province_code", ""), values.get("supply_role", "")
        if province or role:
            winner.supply.append(Supply(province, role, where))
    if not any_row:
        problems["file"] = ["文件中没有数据行 (the file has no rows)"]
    if problems:
        raise ResultsFileError(problems)
    for key in BATCH_FIELDS:
        batch.setdefault(key, "")
    return ResultsFile(batch, list(items.values()), batch_where)


def flat_rows(results: ResultsFile) -> list[list[str]]:
    """The file as rows in ALL_FIELDS order, every cell written out (nothing "as above")."""
    out = []
    batch = [results.batch.get(k, "") for k in BATCH_FIELDS]
    for item in results.items:
        head = batch + [item.values.get(k, "") for k in ITEM_FIELDS]
        if not item.winners:
            out.append(head + [""] * (len(WINNER_FIELDS) + len(SUPPLY_FIELDS)))
        for winner in item.winners:
            wrow = head + [winner.values.get(k, "") for k in WINNER_FIELDS]
            if not winner.supply:
                out.append([*wrow, "", ""])
            for supply in winner.supply:
                out.append([*wrow, supply.province_code, supply.role])
    return out


def write(results: ResultsFile, fmt: str) -> bytes:
    """The file in `fmt` ("xlsx", "csv" or "json"); `read` gives the same ResultsFile back."""
    if fmt == "json":
        return json.dumps(results.to_json(), ensure_ascii=False, indent=2).encode("utf-8")
    headers = [HEADERS[k][0] for k in ALL_FIELDS]
    if fmt == "csv":
        return write_csv(headers, flat_rows(results))
    if fmt == "xlsx":
        return write_xlsx([Sheet("中选结果", headers, flat_rows(results))])
    raise ValueError(f"unknown format {fmt!r}")


def template(fmt: str = "xlsx") -> bytes:
    """An empty file with the headers (the bureau's starting point)."""
    return write(ResultsFile({k: "" for k in BATCH_FIELDS}, []), fmt)


def summary(results: ResultsFile) -> dict[str, int]:
    return {
        "items": len(results.items),
        "winners": sum(len(i.winners) for i in results.items),
        "supply_rows": sum(len(w.supply) for i in results.items for w in i.winners),
    }
