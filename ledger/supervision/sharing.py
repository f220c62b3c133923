"""Sharing between platforms (平台间共享): this platform's listed prices and its shortage list, in
the very files another platform's imports read (prices.import_other_province_prices,
shortage.import_shortage_list): same columns, same Chinese headers, same value formats.

Only public information leaves: listings hospitals can order (listed, not a hospital's filed
purchase) at their current price, and the shortage list entries this platform holds.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bidding.models import Product
from core import clock
from core.money import fen_to_str
from core.organizations import Organization
from core.regions import PROVINCES
from core.spreadsheets import Sheet, write_xlsx
from ledger.models import Listing, ListingMode, ListingStatus
from ledger.supervision.price_models import ListingPrice, ShortageEntry
from ledger.supervision.prices import PRICE_COLUMNS
from ledger.supervision.shortage import SHORTAGE_COLUMNS


def price_rows(session: Session, *, province_code: str) -> list[dict[str, str]]:
    """One row per listed product and price (the import's columns): several regions of one
    province at one price are one row; the price's date is when the price took effect."""
    since = (
        select(ListingPrice.listing_id, func.max(ListingPrice.effective_at).label("at"))
        .group_by(ListingPrice.listing_id)
        .subquery()
    )
    source = f"{PROVINCES.get(province_code, province_code)}医药集中采购平台挂网价 (listed price)"
    rows: dict[tuple[str, str], dict[str, str]] = {}
    for listing, product, maker, at in session.execute(
        select(Listing, Product, Organization, since.c.at)
        .join(Product, Product.id == Listing.product_id)
        .join(Organization, Organization.id == Listing.manufacturer_id)
        .outerjoin(since, since.c.listing_id == Listing.id)
        .where(Listing.status == ListingStatus.LISTED, Listing.mode != ListingMode.FILED)
        .order_by(Product.code, Listing.pack_price_fen, Listing.id)
    ):
        day: date = clock.business_date(at or listing.updated_at)
        key = (product.code, fen_to_str(listing.pack_price_fen))
        row = rows.get(key)
        if row is not None:
            row["price_on"] = max(row["price_on"], day.isoformat())
            continue
        rows[key] = {
            "generic_name": product.generic_name,
            "manufacturer_name": maker.name,
            "manufacturer_uscc": maker.uscc,
            "dosage_form": product.dosage_form,
            "spec": product.spec_text,
            "product_code": product.code,
            "province_code": province_code,
            "pack_price": fen_to_str(listing.pack_price_fen),
            "unit_price": "",
            "price_on": day.isoformat(),
            "source": source,
        }
    return list(rows.values())


def shortage_rows(session: Session) -> list[dict[str, str]]:
    """The shortage-prone list entries held here, as the shortage import reads them."""
    return [
        {
            "generic_name": e.generic_name,
            "dosage_form": e.dosage_form,
            "spec": e.spec or "",
            "product_code": e.product_code or "",
            "list_kind": e.list_kind.value,
            "source": e.source,
            "listed_on": e.listed_on.isoformat(),
        }
        for e in session.scalars(select(ShortageEntry).order_by(ShortageEntry.listed_on, ShortageEntry.id))
    ]


def price_file(session: Session, *, province_code: str) -> bytes:
    """The listed prices as an xlsx the other-province price import reads."""
    rows = price_rows(session, province_code=province_code)
    keys = [c.key for c in PRICE_COLUMNS]
    return write_xlsx(
        [Sheet("挂网价格", [c.display_zh for c in PRICE_COLUMNS], [[r[k] for k in keys] for r in rows])]
    )


def shortage_file(session: Session) -> bytes:
    """The shortage list as an xlsx the shortage-list import reads."""
    keys = [c.key for c in SHORTAGE_COLUMNS]
    return write_xlsx(
        [
            Sheet(
                "短缺药品清单",
                [c.display_zh for c in SHORTAGE_COLUMNS],
                [[r[k] for k in keys] for r in shortage_rows(session)],
            )
        ]
    )
