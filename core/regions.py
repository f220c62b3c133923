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


def region_name(code: str | None) -> str:
    """The name of a region code; an unknown code is shown as the code itself, None as ""."""
    if code is None:
        return ""
    return REGIONS.get(code, code)


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
