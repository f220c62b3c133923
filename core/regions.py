"""Region names: administrative division codes (行政区划代码) of the province the platform serves.

Pages never show a bare code: `region_name("510100")` is "成都市". The table holds Sichuan (510000),
its prefectures and Chengdu's districts, the codes the demo and the tests use; a code it does not
hold is shown as itself, so a new district is never hidden or renamed.
"""

from __future__ import annotations

from collections.abc import Iterable

#: code → Chinese name (GB/T 2260).
REGIONS: dict[str, str] = {
    "510000": "四川省",
    "510100": "成都市",
    "510104": "锦江区",
    "510105": "青羊区",
    "510106": "金牛区",
    "510107": "武侯区",
    "510108": "成华区",
    "510112": "龙泉驿区",
    "510113": "青白江区",
    "510114": "新都区",
    "510115": "温江区",
    "510116": "双流区",
    "510117": "郫都区",
    "510118": "新津区",
    "510300": "自贡市",
    "510400": "攀枝花市",
    "510500": "泸州市",
    "510600": "德阳市",
    "510700": "绵阳市",
    "510800": "广元市",
    "510900": "遂宁市",
    "511000": "内江市",
    "511100": "乐山市",
    "511300": "南充市",
    "511400": "眉山市",
    "511500": "宜宾市",
    "511600": "广安市",
    "511700": "达州市",
    "511800": "雅安市",
    "511900": "巴中市",
    "512000": "资阳市",
    "513200": "阿坝藏族羌族自治州",
    "513300": "甘孜藏族自治州",
    "513400": "凉山彝族自治州",
}


#: The 31 provincial-level divisions on the mainland (GB/T 2260): the provinces a national or
#: alliance batch assigns to winners (vbp-rules.md §1.7).
PROVINCES: dict[str, str] = {
    "110000": "北京市", "120000": "天津市", "130000": "河北省", "140000": "山西省",
    "150000": "内蒙古自治区", "210000": "辽宁省", "220000": "吉林省", "230000": "黑龙江省",
    "310000": "上海市", "320000": "江苏省", "330000": "浙江省", "340000": "安徽省",
    "350000": "福建省", "360000": "江西省", "370000": "山东省", "410000": "河南省",
    "420000": "湖北省", "430000": "湖南省", "440000": "广东省", "450000": "广西壮族自治区",
    "460000": "海南省", "500000": "重庆市", "510000": "四川省", "520000": "贵州省",
    "530000": "云南省", "540000": "西藏自治区", "610000": "陕西省", "620000": "甘肃省",
    "630000": "青海省", "640000": "宁夏回族自治区", "650000": "新疆维吾尔自治区",
}  # fmt: skip


def province_of(region_code: str) -> str:
    """The province a 6-digit region code belongs to (510104 → 510000)."""
    return region_code[:2] + "0000"


def province_code_error(code: str) -> str | None:
    """Why `code` is not one of the provinces, or None."""
    if code not in PROVINCES:
        return "不是省级行政区划代码 (not a province code, e.g. 510000)"
    return None


def region_name(code: str | None) -> str:
    """The name of a region code; an unknown code is shown as the code itself, None as ""."""
    if code is None:
        return ""
    return REGIONS.get(code) or PROVINCES.get(code, code)


def full_name(code: str | None) -> str:
    """A district with its prefecture ("成都市锦江区"); a prefecture or province by its own name."""
    if code is None:
        return ""
    name = region_name(code)
    parent = code[:4] + "00"
    if code != parent and code in REGIONS and parent in REGIONS:
        return REGIONS[parent] + name
    return name


def search(query: str = "", *, codes: Iterable[str] | None = None, limit: int = 50) -> list[tuple[str, str]]:
    """(code, name) of the known regions whose code or name contains `query`, in code order."""
    wanted = query.strip()
    pool = sorted(REGIONS) if codes is None else sorted(set(codes))
    found = [(c, full_name(c)) for c in pool if not wanted or wanted in c or wanted in full_name(c)]
    return found[:limit]
