"""The shortage-prone list (短缺药品清单, vbp-rules.md §8): national and provincial lists imported
by the bureau. A product on it may be listed directly by its manufacturer at a self-set price
(ledger/services/listings.py `apply_price_linked(shortage=True)`), and its listings are watched
(rule `shortage_watch`, price_rules.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bidding.batches import require_bureau_writer
from bidding.models import Product
from core import clock
from core.actors import Actor
from core.spreadsheets import Column, template_xlsx
from ledger.supervision.price_models import ImportKind, ShortageEntry, ShortageListKind
from ledger.supervision.prices import (
    check_text,
    normalize,
    parse_day,
    read_rows,
    store_import,
)
from ledger.supervision.settings import SupervisionSettings

SHORTAGE_COLUMNS = [
    Column("generic_name", ("通用名", "generic_name")),
    Column("dosage_form", ("剂型", "dosage_form")),
    Column("spec", ("规格", "spec"), required=False),
    Column("product_code", ("产品编码", "product_code"), required=False),
    Column("list_kind", ("清单类别", "list_kind")),
    Column("source", ("来源", "source")),
    Column("listed_on", ("发布日期", "listed_on")),
]
KINDS = {
    "national": ShortageListKind.NATIONAL,
    "国家": ShortageListKind.NATIONAL,
    "provincial": ShortageListKind.PROVINCIAL,
    "省级": ShortageListKind.PROVINCIAL,
}


def import_shortage_list(
    session: Session,
    actor: Actor,
    *,
    data: bytes,
    filename: str,
    settings: SupervisionSettings,
    now: datetime,
) -> int:
    """Add a shortage list's rows (all or none, bad cells named `row N.field`; the same file twice
    is a 409), then refresh the listings' shortage flags."""
    require_bureau_writer(actor)
    problems: dict[str, list[str]] = {}
    entries = []
    for number, v in read_rows(data, filename, SHORTAGE_COLUMNS):
        at = f"row {number}"
        check_text(v, at, problems, ("generic_name", "dosage_form", "source"))
        kind = KINDS.get(v["list_kind"].lower())
        if kind is None:
            problems[f"{at}.list_kind"] = ["须为 national 或 provincial (national or provincial)"]
        try:
            listed_on = parse_day(v["listed_on"])
            if listed_on > clock.business_date(now):
                problems[f"{at}.listed_on"] = ["不能晚于今天 (not in the future)"]
        except ValueError:
            problems[f"{at}.listed_on"] = ["日期格式须为 YYYY-MM-DD (a date, YYYY-MM-DD)"]
        if any(key.startswith(f"{at}.") for key in problems) or kind is None:
            continue
        entries.append(
            ShortageEntry(
                list_kind=kind,
                generic_name=v["generic_name"],
                dosage_form=v["dosage_form"],
                spec=v["spec"] or None,
                product_code=v["product_code"] or None,
                generic_key=normalize(v["generic_name"]),
                form_key=normalize(v["dosage_form"]),
                spec_key=normalize(v["spec"]) or None,
                source=v["source"],
                listed_on=listed_on,
                created_at=now,
            )
        )
    return store_import(
        session,
        actor,
        ImportKind.SHORTAGE_LIST,
        data,
        filename,
        entries,
        problems,
        settings=settings,
        now=now,
    )


def entries_for(session: Session, product: Product) -> list[ShortageEntry]:
    """The list entries naming this product: by product code, or by generic name and dosage form
    (and specification, when the entry names one)."""
    by_name = (
        (ShortageEntry.generic_key == normalize(product.generic_name))
        & (ShortageEntry.form_key == normalize(product.dosage_form))
        & or_(ShortageEntry.spec_key.is_(None), ShortageEntry.spec_key == normalize(product.spec_text))
    )
    return list(
        session.scalars(
            select(ShortageEntry)
            .where(or_(by_name, ShortageEntry.product_code == product.code))
            .order_by(ShortageEntry.id)
        )
    )


def on_shortage_list(session: Session, product_id: int) -> bool:
    product = session.get(Product, product_id)
    return product is not None and bool(entries_for(session, product))


def template() -> bytes:
    return template_xlsx(
        SHORTAGE_COLUMNS,
        title="短缺药品清单",
        example_rows=[
            {
                "generic_name": "去乙酰毛花苷注射液",
                "dosage_form": "注射剂",
                "spec": "2ml:0.4mg",
                "list_kind": "national",
                "source": "国家卫生健康委短缺药品清单",
                "listed_on": "2026-06-01",
            }
        ],
    )
