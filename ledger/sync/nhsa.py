"""Platform fields → national insurance (NHSA) message abbreviations, for HIS and ERP systems
that speak the national interface (shared/domain/supervision-and-interop.md §5, §7).

Every abbreviation here is [UNVERIFIED]: the domain notes take them from public interface code,
not from a published standard. The bare abbreviations (`medins`, `delventp`, `prodentp`,
`pubonln_pric`, `shp`, `retn`, `invo`, `manu_lotnum`, `expy_endtime`, `convrat`,
`drug_trac_codg`) come from §5/§7; where a platform field is an id or a count of such a thing,
the name adds `_id` / `_cnt` / `_no` (the platform's own composition, marked `composed`).

Served at GET /api/v1/sync/nhsa-mapping, as `x-nhsa-mapping` in the OpenAPI document, and
applied to a sync page with `?names=nhsa`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SOURCE = "shared/domain/supervision-and-interop.md §5, §7 [UNVERIFIED]"


@dataclass(frozen=True)
class Name:
    nhsa: str
    meaning: str
    #: True when the name is the platform's composition from an abbreviation (e.g. medins_id).
    composed: bool = False


_MEDINS = Name("medins_id", "医疗机构 (medical institution)", composed=True)
_DELVENTP = Name("delventp_id", "配送企业 (distributor)", composed=True)
_PRODENTP = Name("prodentp_id", "生产企业 (manufacturer)", composed=True)
_LOTNUM = Name("manu_lotnum", "生产批号 (batch number)")
_EXPIRY = Name("expy_endtime", "有效期止 (expiry)")
_SHP = Name("shp_id", "配送单 (shipment)", composed=True)
_INVO = Name("invo_id", "发票 (invoice)", composed=True)

#: collection → platform field → NHSA name. Fields not listed keep the platform's name.
MAPPING: dict[str, dict[str, Name]] = {
    "listings": {
        "manufacturer_id": _PRODENTP,
        "hospital_id": _MEDINS,
        "pack_price": Name("pubonln_pric", "挂网价 (listing price per pack)"),
    },
    "orders": {"hospital_id": _MEDINS, "distributor_id": _DELVENTP},
    "order_lines": {
        "manufacturer_id": _PRODENTP,
        "pack_price": Name("pubonln_pric", "挂网价 (listing price)"),
    },
    "shipments": {"id": _SHP, "hospital_id": _MEDINS, "distributor_id": _DELVENTP},
    "shipment_lines": {
        "shipment_id": _SHP,
        "quantity": Name("shp_cnt", "配送数量 (packs shipped)", composed=True),
        "batch_no": _LOTNUM,
        "expiry_on": _EXPIRY,
    },
    "receipt_lines": {},
    "return_lines": {
        "id": Name("retn_id", "退货 (return)", composed=True),
        "quantity": Name("retn_cnt", "退货数量 (packs returned)", composed=True),
    },
    "invoices": {
        "id": _INVO,
        "issuer_id": _DELVENTP,
        "hospital_id": _MEDINS,
        "invoice_code": Name("invo_code", "发票代码 (invoice code)", composed=True),
        "invoice_number": Name("invo_no", "发票号码 (invoice number)", composed=True),
    },
    "invoice_lines": {"invoice_id": _INVO, "hospital_id": _MEDINS, "enterprise_id": _DELVENTP},
    "settlement_applications": {"hospital_id": _MEDINS, "enterprise_id": _DELVENTP},
    "settlement_lines": {},
    "payments": {"hospital_id": _MEDINS, "enterprise_id": _DELVENTP},
    "trace_codes": {
        "code": Name("drug_trac_codg", "药品追溯码 (traceability code, one pack)"),
        "shipment_id": _SHP,
        "hospital_id": _MEDINS,
        "distributor_id": _DELVENTP,
    },
    "item_codes": {
        "hospital_id": _MEDINS,
        "item_code": Name("medins_list_codg", "医药机构目录编码 (the hospital's own item code)"),
        "national_code": Name("med_list_codg", "医疗目录编码 (national insurance code)"),
    },
    #: For the product catalogue (national codes, issue 19 item 1) when it is mirrored.
    "products": {"pack_conversion": Name("convrat", "转换比 (pack conversion ratio)")},
}


def rename(collection: str, data: dict[str, Any]) -> dict[str, Any]:
    """`data` with the NHSA names of the collection's mapped fields."""
    names = MAPPING.get(collection, {})
    return {(names[key].nhsa if key in names else key): value for key, value in data.items()}


def document() -> dict[str, Any]:
    """The mapping as served (JSON): per collection, per platform field."""
    return {
        "source": SOURCE,
        "status": "UNVERIFIED",
        "collections": {
            collection: {
                field: {"nhsa": name.nhsa, "meaning": name.meaning, "composed": name.composed}
                for field, name in fields.items()
            }
            for collection, fields in MAPPING.items()
        },
    }
