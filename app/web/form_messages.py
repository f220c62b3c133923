"""A failed form's messages as people read them (issue 17, "Safe actions"): the field named by its
label in the page's language, a row counted from 1 (第 3 行), and no library message or code.

Schemas (core/validation.py) write messages Chinese first with the English original in brackets,
"必填字段 (Missing data for required field.)", for API clients; a page shows the half in its
language. Messages marshmallow's validators write in English only are translated here.
"""

from __future__ import annotations

import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from core.glossary import TERMS, term

#: Form fields by the label people see next to them (the schemas' field names are codes).
FIELD_LABELS = {
    "accept": _l("Accept"),
    "accepted_on": _l("Accepted on"),
    "accepted_quantity": _l("Accepted quantity"),
    "accepts_revival": _l("Accepts revival"),
    "amount": _l("Amount"),
    "as_of": _l("As of"),
    "batch_id": _l("Batch"),
    "batch_no": _l("Batch number"),
    "bid_closes_at": _l("Bids close"),
    "bid_opens_at": _l("Bids open"),
    "brand_product_id": _l("Product"),
    "category": _l("Category"),
    "confirm": _l("Confirm"),
    "credited_line_id": _l("Credited line"),
    "cycle_end_on": _l("Cycle ends"),
    "cycle_start_on": _l("Cycle starts"),
    "delivery_note": _l("Delivery note"),
    "demand_closes_at": _l("Demand collection closes"),
    "demand_opens_at": _l("Demand collection opens"),
    "distributor_id": _l("Distributor"),
    "enterprise_id": _l("Enterprise"),
    "expiry_on": _l("Expiry date"),
    "file": _l("File"),
    "hospital_id": _l("Hospital"),
    "invoice_code": _l("Invoice code"),
    "invoice_number": _l("Invoice number"),
    "issued_on": _l("Issued on"),
    "item_id": _l("Item"),
    "kind": _l("Kind"),
    "lines": _l("Lines"),
    "listing_id": _l("Product"),
    "name": _l("Name"),
    "note": _l("Note"),
    "opening_at": _l("Opening"),
    "order_line_id": _l("Order line"),
    "ordered_before": _l("Ordered before"),
    "ordered_from": _l("Ordered from"),
    "original_invoice_id": _l("Original invoice"),
    "pack_price": _l("Price per pack (yuan)"),
    "password": _l("Password"),
    "period_month": _l("Month"),
    "product_id": _l("Product"),
    "quantity": _l("Quantity"),
    "reason": _l("Reason"),
    "reason_code": _l("Reason"),
    "receipt_line_id": _l("Delivery"),
    "region_code": _l("Region"),
    "region_prefix": _l("Region"),
    "rejected_quantity": _l("Rejected quantity"),
    "rule_overrides": _l("Rule changes"),
    "rule_version": _l("Selection rules (preset)"),
    "scope": _l("Scope"),
    "status": _l("Status"),
    "tax_rate": _l("Tax rate"),
    "to": _l("New status"),
    "urgency": _l("Urgency"),
    "username": _l("Username"),
}

#: "(English.)" after the Chinese of the schemas' bilingual messages: no Chinese inside.
_ENGLISH_ASIDE = re.compile(r"\s*\((?P<en>[^()\u3400-\u9fff]*[A-Za-z][^()\u3400-\u9fff]*)\)")
_CODE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)*\b")
_CJK = re.compile(r"[\u3400-\u9fff]")

#: marshmallow's own English messages (fields and validators) → Chinese; {0}, {1} keep numbers.
_LIBRARY: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"Missing data for required field\."), "必填"),
    (re.compile(r"Unknown field\."), "不是本表的字段"),
    (re.compile(r"Field may not be null\."), "不能为空"),
    (re.compile(r"Not a valid integer\."), "须为整数"),
    (re.compile(r"Not a valid number\."), "须为数字"),
    (re.compile(r"Not a valid string\."), "须为文字"),
    (re.compile(r"Not a valid boolean\."), "须为是或否"),
    (re.compile(r"Not a valid date\."), "日期格式无效"),
    (re.compile(r"Not a valid datetime\."), "日期时间格式无效"),
    (re.compile(r"Not a valid list\."), "须为列表"),
    (re.compile(r"Not a valid email address\."), "电子邮件地址无效"),
    (re.compile(r"Invalid input type\."), "数据类型无效"),
    (re.compile(r"Invalid value\."), "取值无效"),
    (re.compile(r"Length must be between (\S+) and (\S+)\."), "长度须在 {0} 至 {1} 之间"),
    (re.compile(r"Shorter than minimum length (\S+)\."), "长度不能少于 {0}"),
    (re.compile(r"Longer than maximum length (\S+)\."), "长度不能超过 {0}"),
    (re.compile(r"Length must be (\S+)\."), "长度须为 {0}"),
    (
        re.compile(r"Must be greater than or equal to (\S+) and less than or equal to (\S+)\."),
        "须在 {0} 至 {1} 之间",
    ),
    (re.compile(r"Must be greater than or equal to (\S+)\."), "须不小于 {0}"),
    (re.compile(r"Must be less than or equal to (\S+)\."), "须不大于 {0}"),
    (re.compile(r"Must be greater than (\S+)\."), "须大于 {0}"),
    (re.compile(r"Must be less than (\S+)\."), "须小于 {0}"),
    (re.compile(r"Must be one of: (.*)\."), "取值无效"),
    (re.compile(r"String does not match expected pattern\."), "格式无效"),
]


def message_text(message: str, lang: str) -> str:
    """One message in the page's language: the matching half of a bilingual message; a library
    message translated; any other English-only text on a Chinese page becomes a plain 输入无效."""
    text = str(message).strip()
    if _CJK.search(text):
        asides = [found["en"].strip() for found in _ENGLISH_ASIDE.finditer(text)]
        if lang == "en":
            return ": ".join(asides) if asides else text
        chinese = _ENGLISH_ASIDE.sub("", text).strip()
        # Codes quoted in a message (the choices of a field, say) in words.
        return _CODE.sub(lambda code: term(code[0]) if code[0] in TERMS else code[0], chinese)
    if lang == "en":
        return text
    for pattern, chinese in _LIBRARY:
        found = pattern.fullmatch(text)
        if found:
            return chinese.format(*found.groups())
    return "输入无效"


def place(name: str) -> str:
    """Where the problem is, as people count: "lines.2.quantity" → "第 3 行 · 数量"; a field
    without a label (a typed-in or unknown name) is shown as it came, quoted."""
    if name in ("", "_schema"):
        return ""
    parts = []
    segments = name.split(".")
    for index, segment in enumerate(segments):
        if index + 1 < len(segments) and segments[index + 1].isdigit():
            continue  # "lines.2": the row says it
        if segment.isdigit():
            parts.append(_("Row %(number)s", number=int(segment) + 1))
        elif segment.startswith("row ") and segment[4:].isdigit():  # spreadsheet rows: 1-based already
            parts.append(_("Row %(number)s", number=int(segment[4:])))
        elif segment in FIELD_LABELS:
            parts.append(str(FIELD_LABELS[segment]))
        elif segment != "_schema":
            parts.append(f"“{segment}”")
    return " · ".join(parts)


def field_error(name: str, message: str, lang: str) -> str:
    """A flash line: "第 3 行 · 数量：必填" (or the message alone for the whole form)."""
    where = place(name)
    text = message_text(message, lang)
    if not where:
        return text
    return f"{where}: {text}" if lang == "en" else f"{where}：{text}"


def row_error(row: int | None, column: str | None, message: str, lang: str) -> str:
    """A spreadsheet problem (core.spreadsheets.RowError: rows already counted as people do)."""
    name = ".".join(part for part in (f"row {row}" if row is not None else "", column or "") if part)
    return field_error(name, message, lang)
