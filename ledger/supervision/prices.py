"""Other provinces' listed prices and the four-same comparison (四同, supervision-and-interop.md §2).

The bureau imports other provinces' listed prices (source, province, date). Each listing of this
platform is compared with its four-same group elsewhere: same generic name, same manufacturer (by
USCC when the row names one, else by name), same dosage form, same specification, normalized once
(`normalize`: NFKC folds full-width characters, whitespace is dropped, letters are lower-cased).
The latest price per province outside the listing's own province counts; the listing stores the
lowest, the median and the count, and its risk level:

- `red`: above the lowest elsewhere by more than `price_risk_red_pct` % (the 2024 campaign asked
  for prices above the lowest comparable price elsewhere to be corrected, §2 [SECONDARY]);
- `yellow`: above the median elsewhere by more than `price_risk_yellow_pct` %;
- `green` otherwise; `none` when no other province lists the group.

All comparisons are integer arithmetic (price × 100 > base × (100 + pct)); the median of an even
count is the mean of the two middle prices rounded once, half-up (core.money.quantize).
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bidding.batches import require_bureau_writer
from bidding.models import Product
from core import audit, clock
from core.actors import Actor
from core.errors import Conflict, ValidationFailed
from core.money import MoneyError, e4_to_decimal, parse_decimal, quantize, to_e4, to_fen
from core.organizations import Organization
from core.regions import PROVINCES, province_code_error, province_of
from core.spreadsheets import Column, SpreadsheetError, error_fields, read_table, template_xlsx
from core.uscc import uscc_error
from ledger.models import Listing, ListingMode, ListingStatus
from ledger.supervision.price_models import ImportKind, OtherProvincePrice, PriceImport, PriceRisk
from ledger.supervision.settings import SupervisionSettings

#: Listings compared: those hospitals can order or that wait for review.
COMPARED = (ListingStatus.APPLIED, ListingStatus.LISTED)
PRICE_COLUMNS = [
    Column("generic_name", ("通用名", "generic_name")),
    Column("manufacturer_name", ("生产企业", "manufacturer_name"), required=False),
    Column("manufacturer_uscc", ("生产企业统一社会信用代码", "manufacturer_uscc"), required=False),
    Column("dosage_form", ("剂型", "dosage_form")),
    Column("spec", ("规格", "spec")),
    Column("product_code", ("产品编码", "product_code"), required=False),
    Column("province_code", ("省份代码", "province_code")),
    Column("pack_price", ("包装价格（元）", "pack_price"), required=False),
    Column("unit_price", ("最小单位价格（元）", "unit_price"), required=False),
    Column("price_on", ("价格日期", "price_on")),
    Column("source", ("来源", "source")),
]
TEXT_LIMITS = {
    "generic_name": 200,
    "manufacturer_name": 200,
    "dosage_form": 50,
    "spec": 100,
    "product_code": 40,
    "source": 200,
}


def normalize(text: str | None) -> str:
    """One spelling for comparison: full-width → half-width, no whitespace, lower case."""
    folded = unicodedata.normalize("NFKC", text or "")
    return "".join(folded.split()).casefold()


def median_fen(prices: list[int]) -> int:
    """Median; of an even count, the mean of the two middle values rounded half-up once."""
    ordered = sorted(prices)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[mid]
    return int(quantize(Decimal(ordered[mid - 1] + ordered[mid]) / 2, Decimal(1)))


def above_by_more_than(price: int, base: int, pct: int) -> bool:
    """price > base × (1 + pct/100), exactly; "at" the threshold does not trigger."""
    return price * 100 > base * (100 + pct)


def risk_level(
    price: int, lowest: int | None, median: int | None, settings: SupervisionSettings
) -> PriceRisk:
    if lowest is None or median is None:
        return PriceRisk.NONE
    if above_by_more_than(price, lowest, settings.price_risk_red_pct):
        return PriceRisk.RED
    if above_by_more_than(price, median, settings.price_risk_yellow_pct):
        return PriceRisk.YELLOW
    return PriceRisk.GREEN


# --- import --------------------------------------------------------------------------------------


def register_import(
    session: Session, actor: Actor, kind: ImportKind, data: bytes, filename: str, *, rows: int, now: datetime
) -> PriceImport:
    """Record an imported file; the same file (SHA-256) twice is a 409 and changes nothing."""
    sha = hashlib.sha256(data).hexdigest()
    if session.scalar(select(PriceImport.id).where(PriceImport.sha256 == sha)) is not None:
        raise Conflict("该文件已导入 (this file was already imported)", code="already_imported")
    record = PriceImport(
        kind=kind,
        sha256=sha,
        filename=filename[:200],
        rows=rows,
        imported_by=actor.user_id,
        imported_at=now,
    )
    session.add(record)
    session.flush()
    audit.record(
        session,
        actor,
        f"{kind.value}.import",
        subject_type="price_import",
        subject_id=record.id,
        after={"sha256": sha, "rows": rows, "filename": record.filename},
        now=now,
    )
    return record


def store_import(
    session: Session,
    actor: Actor,
    kind: ImportKind,
    data: bytes,
    filename: str,
    rows: list[Any],
    problems: dict[str, list[str]],
    *,
    settings: SupervisionSettings,
    now: datetime,
) -> int:
    """The end of every import here: all or nothing (any problem, or no rows, writes nothing),
    the file registered once, its rows stored and pointed at it, the listings compared again."""
    if problems:
        raise ValidationFailed(
            "导入失败，未写入任何数据 (import failed; nothing was written)", fields=problems
        )
    if not rows:
        raise ValidationFailed(fields={"file": ["文件没有数据行 (the file has no rows)"]})
    record = register_import(session, actor, kind, data, filename, rows=len(rows), now=now)
    for row in rows:
        row.import_id = record.id
    session.add_all(rows)
    session.flush()
    refresh_listings(session, settings=settings, now=now)
    return len(rows)


def read_rows(data: bytes, filename: str, columns: list[Column]) -> list[tuple[int, dict[str, str]]]:
    try:
        table = read_table(data, filename=filename, columns=columns)
    except SpreadsheetError as exc:
        raise ValidationFailed(
            "导入失败，未写入任何数据 (import failed; nothing was written)", fields=error_fields(exc)
        ) from exc
    return [(row.number, {k: (v or "").strip() for k, v in row.values.items()}) for row in table.rows]


def check_text(v: dict[str, str], at: str, problems: dict[str, list[str]], required: Iterable[str]) -> None:
    for name in required:
        if not v.get(name):
            problems.setdefault(f"{at}.{name}", []).append("必填 (required)")
    for name, limit in TEXT_LIMITS.items():
        if len(v.get(name) or "") > limit:
            problems.setdefault(f"{at}.{name}", []).append(f"不能超过{limit}字 (at most {limit} characters)")


def _money(v: dict[str, str], name: str, places: int, at: str, problems: dict[str, list[str]]) -> int | None:
    if not v.get(name):
        return None
    try:
        value = parse_decimal(v[name], places=places)
    except MoneyError as exc:
        problems[f"{at}.{name}"] = [str(exc)]
        return None
    if value <= 0:
        problems[f"{at}.{name}"] = ["须大于0 (must be positive)"]
        return None
    return to_fen(value) if places == 2 else to_e4(value)


def parse_day(text: str) -> date:
    return date.fromisoformat(text[:10]) if len(text) in (10, 19) else date.fromisoformat(text)


def import_other_province_prices(
    session: Session,
    actor: Actor,
    *,
    data: bytes,
    filename: str,
    settings: SupervisionSettings,
    now: datetime,
) -> int:
    """Import other provinces' listed prices (all rows or none, every bad cell named `row N.field`),
    then recompute every listing's comparison. Returns the number of rows."""
    require_bureau_writer(actor)
    problems: dict[str, list[str]] = {}
    records = []
    for number, v in read_rows(data, filename, PRICE_COLUMNS):
        at = f"row {number}"
        check_text(v, at, problems, ("generic_name", "dosage_form", "spec", "source"))
        if not v["manufacturer_name"] and not v["manufacturer_uscc"]:
            problems[f"{at}.manufacturer_name"] = ["须填写生产企业名称或信用代码 (name or USCC required)"]
        if v["manufacturer_uscc"] and (msg := uscc_error(v["manufacturer_uscc"])):
            problems[f"{at}.manufacturer_uscc"] = [msg]
        if msg := province_code_error(v["province_code"]):
            problems[f"{at}.province_code"] = [msg]
        pack = _money(v, "pack_price", 2, at, problems)
        unit = _money(v, "unit_price", 4, at, problems)
        if (
            f"{at}.pack_price" not in problems
            and f"{at}.unit_price" not in problems
            and pack is None
            and unit is None
        ):
            problems[f"{at}.pack_price"] = ["须填写包装价格或最小单位价格 (a pack or unit price)"]
        try:
            price_on = parse_day(v["price_on"])
        except ValueError:
            problems[f"{at}.price_on"] = ["日期格式须为 YYYY-MM-DD (a date, YYYY-MM-DD)"]
            continue
        if price_on > clock.business_date(now):
            problems[f"{at}.price_on"] = ["不能晚于今天 (not in the future)"]
        if any(key.startswith(f"{at}.") for key in problems):
            continue
        records.append(
            OtherProvincePrice(
                generic_name=v["generic_name"],
                manufacturer_name=v["manufacturer_name"] or None,
                manufacturer_uscc=v["manufacturer_uscc"] or None,
                dosage_form=v["dosage_form"],
                spec=v["spec"],
                product_code=v["product_code"] or None,
                generic_key=normalize(v["generic_name"]),
                manufacturer_key=normalize(v["manufacturer_name"]) or None,
                form_key=normalize(v["dosage_form"]),
                spec_key=normalize(v["spec"]),
                province_code=v["province_code"],
                pack_price_fen=pack if pack is not None else None,
                unit_price_e4=unit if pack is None else None,
                price_on=price_on,
                source=v["source"],
                created_at=now,
            )
        )
    return store_import(
        session,
        actor,
        ImportKind.OTHER_PROVINCE_PRICES,
        data,
        filename,
        records,
        problems,
        settings=settings,
        now=now,
    )


def template() -> bytes:
    return template_xlsx(
        PRICE_COLUMNS,
        title="外省挂网价",
        example_rows=[
            {
                "generic_name": "阿托伐他汀钙片",
                "manufacturer_name": "示例制药有限公司",
                "dosage_form": "片剂",
                "spec": "20mg×28片",
                "province_code": "440000",
                "pack_price": "14.56",
                "price_on": "2026-11-01",
                "source": "广东省药品交易中心",
            }
        ],
    )


# --- comparison ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeerPrice:
    province_code: str
    province_name: str
    pack_price_fen: int
    price_on: date
    source: str
    row_id: int


def _group_rows(session: Session, product: Product, maker: Organization) -> list[OtherProvincePrice]:
    """Rows of the product's four-same group (or naming its product code)."""
    same_maker = [OtherProvincePrice.manufacturer_uscc == maker.uscc]
    same_maker.append(
        (OtherProvincePrice.manufacturer_uscc.is_(None))
        & (OtherProvincePrice.manufacturer_key == normalize(maker.name))
    )
    four_same = (
        (OtherProvincePrice.generic_key == normalize(product.generic_name))
        & (OtherProvincePrice.form_key == normalize(product.dosage_form))
        & (OtherProvincePrice.spec_key == normalize(product.spec_text))
        & or_(*same_maker)
    )
    return list(
        session.scalars(
            select(OtherProvincePrice).where(four_same | (OtherProvincePrice.product_code == product.code))
        )
    )


def pack_fen_of(row: OtherProvincePrice, product: Product) -> int:
    """A row's price per pack of `product` (a unit price × the product's units per pack, rounded once)."""
    if row.pack_price_fen is not None:
        return row.pack_price_fen
    return to_fen(e4_to_decimal(row.unit_price_e4 or 0) * product.units_per_pack)


def peer_prices(session: Session, listing: Listing) -> list[PeerPrice]:
    """The latest price per province elsewhere (excluding the listing's own province)."""
    product = session.get_one(Product, listing.product_id)
    maker = session.get_one(Organization, listing.manufacturer_id)
    own = province_of(listing.region_code)
    latest: dict[str, OtherProvincePrice] = {}
    for row in _group_rows(session, product, maker):
        if row.province_code == own:
            continue
        best = latest.get(row.province_code)
        if best is None or (row.price_on, row.id) > (best.price_on, best.id):
            latest[row.province_code] = row
    return [
        PeerPrice(
            code, PROVINCES.get(code, code), pack_fen_of(row, product), row.price_on, row.source, row.id
        )
        for code, row in sorted(latest.items())
    ]


def compare(
    session: Session,
    listing: Listing,
    *,
    settings: SupervisionSettings,
    today: date,
    peers: list[int] | None = None,
) -> None:
    """Store the listing's four-same comparison and risk level."""
    if peers is None:
        peers = [p.pack_price_fen for p in peer_prices(session, listing)]
    lowest = min(peers) if peers else None
    median = median_fen(peers) if peers else None
    listing.peer_lowest_fen, listing.peer_median_fen, listing.peer_count = lowest, median, len(peers)
    listing.price_risk = risk_level(listing.pack_price_fen, lowest, median, settings).value
    listing.price_risk_on = today


def refresh_listing(
    session: Session, listing: Listing, *, settings: SupervisionSettings, now: datetime
) -> None:
    """Recompute one listing's comparison, red line and shortage flag (after its price is set)."""
    from ledger.supervision.red_line import red_line_fen
    from ledger.supervision.shortage import on_shortage_list

    compare(session, listing, settings=settings, today=clock.business_date(now))
    listing.red_line_fen = red_line_fen(session, listing, settings=settings)
    listing.shortage = listing.shortage_direct or on_shortage_list(session, listing.product_id)
    session.flush()


def refresh_listings(session: Session, *, settings: SupervisionSettings, now: datetime) -> int:
    """Recompute every compared listing's price risk, red line and shortage flag (after an import
    and in the daily warnings run). The group's prices, the red line and the shortage entry
    depend on the product (and the listing's province), so each is looked up once per run."""
    from ledger.supervision.red_line import red_line_fen
    from ledger.supervision.shortage import on_shortage_list

    today = clock.business_date(now)
    peers: dict[tuple[int, int, str], list[int]] = {}
    lines: dict[tuple[int, bool], int | None] = {}
    short: dict[int, bool] = {}
    count = 0
    for listing in session.scalars(select(Listing).where(Listing.status.in_(COMPARED)).order_by(Listing.id)):
        key = (listing.product_id, listing.manufacturer_id, province_of(listing.region_code))
        if key not in peers:
            peers[key] = [p.pack_price_fen for p in peer_prices(session, listing)]
        compare(session, listing, settings=settings, today=today, peers=peers[key])
        volume = listing.mode is ListingMode.VOLUME_BASED
        if (listing.product_id, volume) not in lines:
            lines[(listing.product_id, volume)] = red_line_fen(session, listing, settings=settings)
        listing.red_line_fen = lines[(listing.product_id, volume)]
        if listing.product_id not in short:
            short[listing.product_id] = on_shortage_list(session, listing.product_id)
        listing.shortage = listing.shortage_direct or short[listing.product_id]
        count += 1
    session.flush()
    return count
