"""Demo step for issue 19 item 1: national codes on the demo's products and the demo hospital's
item-code mapping (院内编码对照). Safe to run twice: products that have a code keep it, and the
mapping import leaves unchanged rows alone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bidding import catalogue
from bidding.models import Category, Product
from core.accounts import actor_for_user
from core.organizations import Organization, User
from ledger.services import item_codes


def demo_national_code(product: Product) -> str:
    """A well-formed code for a demo product (core/national_codes.py), unique by its id: the
    documented example's drug segments with the id as the product and package digits."""
    if product.category is Category.CONSUMABLE:
        return f"C{product.id:026d}"
    return f"XA01ABD075A{product.id:012d}"


def run_codes(
    session: Session,
    *,
    orgs: dict[str, Organization],
    users: dict[str, User],
    now: datetime,
    echo: Callable[[str], None],
) -> None:
    """Give every demo product without a national code one; map hosp1's item codes to them."""
    bureau = actor_for_user(users["bureau-op"])
    products = list(session.scalars(select(Product).order_by(Product.id)))
    coded = 0
    for product in products:
        if product.national_code is None:
            catalogue.set_national_code(
                session, bureau, product.id, national_code=demo_national_code(product), now=now
            )
            coded += 1
    hospital = actor_for_user(users["hosp1-op"])
    rows = [
        (number, item_codes.MappingRow(f"YP{product.id:05d}", product.code, product.generic_name[:200]))
        for number, product in enumerate(products, start=2)
    ]
    created, remapped, unchanged = item_codes.import_mappings(session, hospital, rows=rows, now=now)
    echo(
        f"国家医保编码 {coded} 个新填；{orgs['hosp1'].name} 院内编码对照 新增 {created}、"
        f"重新对照 {remapped}、未变 {unchanged} (national codes set, hospital item codes mapped)"
    )
