"""The product catalogue: drugs and high-value consumables with their MAH (services and queries)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bidding.models import Category, Product
from core import audit
from core.actors import Actor, OrgKind, Role
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.national_codes import national_code_error
from core.organizations import Organization

PRODUCT_FIELDS = (
    "category",
    "code",
    "generic_name",
    "dosage_form",
    "dosage_form_group",
    "strength_value",
    "strength_unit",
    "fill_volume_ml",
    "spec_text",
    "min_unit",
    "units_per_pack",
    "mah_uscc",
    "originator",
    "reference_listed",
    "consistency_evaluated",
    "registration_no",
    "national_code",
)


def _positive_decimal_text(value: str | None) -> bool:
    if value is None:
        return True
    try:
        return Decimal(value) > 0
    except InvalidOperation:
        return False


def products_visible_to(actor: Actor) -> Select[tuple[Product]]:
    """The catalogue is public to every signed-in user (it is what hospitals order from)."""
    return select(Product)


def search_products(
    stmt: Select[tuple[Product]],
    *,
    national_code: str | None = None,
    national_code_prefix: str | None = None,
    q: str | None = None,
) -> Select[tuple[Product]]:
    """Narrow a catalogue query: a national code exactly or by prefix (upper-cased, as codes are
    written), and/or free text `q` matching the name, the catalogue code or a national-code prefix."""
    if national_code:
        stmt = stmt.where(Product.national_code == national_code.strip().upper())
    if national_code_prefix:
        stmt = stmt.where(
            Product.national_code.startswith(national_code_prefix.strip().upper(), autoescape=True)
        )
    if q and q.strip():
        words = q.strip()
        stmt = stmt.where(
            or_(
                Product.generic_name.icontains(words, autoescape=True),
                Product.code.icontains(words, autoescape=True),
                Product.national_code.startswith(words.upper(), autoescape=True),
            )
        )
    return stmt


def get_product(session: Session, actor: Actor, product_id: int) -> Product:
    product = session.scalars(products_visible_to(actor).where(Product.id == product_id)).first()
    if product is None:
        raise NotFound("产品不存在 (product not found)")
    return product


def _mah(session: Session, actor: Actor, data: Mapping[str, Any]) -> Organization:
    mah = session.scalars(select(Organization).where(Organization.uscc == data["mah_uscc"])).first()
    if mah is None or mah.kind is not OrgKind.MANUFACTURER:
        raise ValidationFailed(fields={"mah_uscc": ["未登记的生产企业 (not a registered manufacturer)"]})
    if actor.org_kind is OrgKind.MANUFACTURER and mah.id != actor.org_id:
        raise PermissionDenied(
            "生产企业只能登记本企业的产品 (a manufacturer registers only its own products)"
        )
    return mah


def _check(data: Mapping[str, Any]) -> dict[str, list[str]]:
    problems: dict[str, list[str]] = {}
    for name in ("strength_value", "fill_volume_ml"):
        if not _positive_decimal_text(data.get(name)):
            problems[name] = ["须为正的十进制数 (must be a positive decimal)"]
    if data["category"] is Category.CONSUMABLE and not data.get("registration_no"):
        problems["registration_no"] = ["耗材须填写注册证编号 (required for consumables)"]
    if data.get("national_code") and (error := _national_code_error(data["category"], data["national_code"])):
        problems["national_code"] = [error]
    return problems


def _national_code_error(category: Category, code: str) -> str | None:
    return national_code_error("consumable" if category is Category.CONSUMABLE else "drug", code)


def _national_code_taken(session: Session, code: str | None, *, other_than: int | None = None) -> bool:
    if not code:
        return False
    stmt = select(Product.id).where(Product.national_code == code)
    if other_than is not None:
        stmt = stmt.where(Product.id != other_than)
    return session.scalars(stmt).first() is not None


def _taken() -> Conflict:
    return Conflict(
        "国家医保编码已被其他产品使用 (national code already used by another product)",
        code="national_code_taken",
        fields={"national_code": ["已被其他产品使用 (already used by another product)"]},
    )


def _flush_unique(session: Session) -> None:
    """Flush inside a savepoint so a concurrent insert of the same code answers 409, not 500
    (the unique indexes on products.code and products.national_code are the real guard)."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        text = str(exc.orig).lower()
        if "national_code" in text:
            raise _taken() from exc
        raise Conflict("产品编码已存在 (product code exists)", fields={"code": ["已存在 (exists)"]}) from exc


def set_national_code(
    session: Session, actor: Actor, product_id: int, *, national_code: str, now: datetime
) -> Product:
    """The bureau sets or corrects a product's national code; each change is its own audit event
    (before/after), the row keeps the current value."""
    if not actor.is_bureau or actor.role is Role.AUDITOR:
        raise PermissionDenied()
    product = get_product(session, actor, product_id)
    if error := _national_code_error(product.category, national_code):
        raise ValidationFailed(fields={"national_code": [error]})
    before = product.national_code
    if before == national_code:
        return product
    if _national_code_taken(session, national_code, other_than=product.id):
        raise _taken()
    product.national_code = national_code
    _flush_unique(session)
    audit.record(
        session,
        actor,
        "product.national_code_set" if before is None else "product.national_code_corrected",
        subject_type="product",
        subject_id=product.id,
        subject_org_id=product.mah_id,
        before={"national_code": before},
        after={"national_code": national_code},
        now=now,
    )
    return product


def create_product(session: Session, actor: Actor, *, data: Mapping[str, Any], now: datetime) -> Product:
    """Register a product (bureau, or a manufacturer for its own products)."""
    if not (actor.is_bureau or actor.org_kind is OrgKind.MANUFACTURER) or actor.role is Role.AUDITOR:
        raise PermissionDenied()
    if problems := _check(data):
        raise ValidationFailed(fields=problems)
    mah = _mah(session, actor, data)
    if session.scalars(select(Product.id).where(Product.code == data["code"])).first() is not None:
        raise Conflict("产品编码已存在 (product code exists)", fields={"code": ["已存在 (exists)"]})
    if _national_code_taken(session, data.get("national_code")):
        raise _taken()
    values = {k: v for k, v in data.items() if k != "mah_uscc"}
    product = Product(**values, mah_id=mah.id, active=True, created_at=now)
    session.add(product)
    _flush_unique(session)
    audit.record(
        session,
        actor,
        "product.create",
        subject_type="product",
        subject_id=product.id,
        subject_org_id=mah.id,
        after={**values, "mah_id": mah.id},
        now=now,
    )
    return product


def import_products(
    session: Session, actor: Actor, *, rows: Sequence[tuple[int, Mapping[str, Any]]], now: datetime
) -> list[Product]:
    """Create many products, all or nothing; errors are reported per spreadsheet row."""
    created, errors = [], {}
    codes: dict[str, int] = {}
    national: dict[str, int] = {}
    for number, data in rows:
        if data["code"] in codes:
            errors[f"row {number}.code"] = [
                f"与第 {codes[data['code']]} 行重复 (duplicates row {codes[data['code']]})"
            ]
            continue
        codes[data["code"]] = number
        if (nc := data.get("national_code")) and nc in national:
            errors[f"row {number}.national_code"] = [
                f"与第 {national[nc]} 行重复 (duplicates row {national[nc]})"
            ]
            continue
        if nc:
            national[nc] = number
        try:
            with session.begin_nested():
                created.append(create_product(session, actor, data=data, now=now))
        except (ValidationFailed, Conflict, PermissionDenied) as exc:
            for name, messages in (exc.fields or {"_": [exc.message]}).items():
                errors[f"row {number}.{name}"] = messages
    if errors:
        raise ValidationFailed("导入失败，未写入任何数据 (import failed; nothing was written)", fields=errors)
    return created


def export_rows(products: Iterable[Product]) -> list[list[Any]]:
    """Catalogue rows in PRODUCT_FIELDS order (for xlsx/CSV export)."""
    return [
        [
            p.category.value,
            p.code,
            p.generic_name,
            p.dosage_form,
            p.dosage_form_group.value,
            p.strength_value,
            p.strength_unit,
            p.fill_volume_ml or "",
            p.spec_text,
            p.min_unit,
            p.units_per_pack,
            p.mah.uscc,
            p.originator,
            p.reference_listed,
            p.consistency_evaluated,
            p.registration_no or "",
            p.national_code or "",
        ]
        for p in products
    ]
