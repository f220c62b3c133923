"""Hospital item-code mappings (院内编码对照): a hospital maps its own item codes to platform
products, by hand or from a spreadsheet, and order uploads and the sync interface read them.
A remap is a new row superseding the old one; the old row stays as history."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bidding.models import Product
from core import audit
from core.actors import Actor, OrgKind, Role
from core.errors import Conflict, InvalidState, NotFound, PermissionDenied, ValidationFailed
from core.national_codes import looks_like_national_code
from ledger.models import HospitalItemCode

SUBJECT = "hospital_item_code"


@dataclass(frozen=True)
class MappingRow:
    """One mapping to write: the hospital's code, the product reference (catalogue code or
    national code), the hospital's own name for it."""

    item_code: str
    product: str
    item_name: str | None = None


def item_codes_visible_to(actor: Actor, *, history: bool = False) -> Select[tuple[HospitalItemCode]]:
    """A hospital's own mappings; the bureau's all; nobody else's. Live rows unless `history`."""
    stmt = select(HospitalItemCode)
    if not history:
        stmt = stmt.where(HospitalItemCode.live.is_(True))
    if actor.is_bureau:
        return stmt
    if actor.org_kind is OrgKind.HOSPITAL:
        return stmt.where(HospitalItemCode.hospital_id == actor.org_id)
    return stmt.where(false())


def get_mapping(session: Session, actor: Actor, mapping_id: int) -> HospitalItemCode:
    """One mapping the caller may see (another hospital's: NotFound)."""
    row = session.scalars(
        item_codes_visible_to(actor, history=True).where(HospitalItemCode.id == mapping_id)
    ).first()
    if row is None:
        raise NotFound("院内编码对照不存在 (item-code mapping not found)")
    return row


def _writer(actor: Actor) -> int:
    if actor.org_kind is not OrgKind.HOSPITAL or actor.org_id is None or actor.role is Role.AUDITOR:
        raise PermissionDenied("只有医疗机构维护本院编码对照 (only a hospital maps its own item codes)")
    return actor.org_id


def products_by_reference(session: Session, refs: Iterable[str]) -> dict[str, int]:
    """Product ids for references that are a catalogue code or a national code (catalogue code
    first: it is what the platform prints on its own lists)."""
    wanted = {ref for ref in refs if ref}
    if not wanted:
        return {}
    found: dict[str, int] = {}
    rows = session.execute(
        select(Product.id, Product.code, Product.national_code).where(
            or_(Product.code.in_(wanted), Product.national_code.in_(wanted))
        )
    ).all()
    for product_id, _code, national in rows:
        if national in wanted:
            found.setdefault(national, product_id)
    for product_id, code, _ in rows:
        if code in wanted:
            found[code] = product_id
    return found


def _product_id(session: Session, ref: str | int) -> int:
    if isinstance(ref, int):
        if session.get(Product, ref) is None:
            raise ValidationFailed(fields={"product_id": ["产品不存在 (product not found)"]})
        return ref
    found = products_by_reference(session, [ref]).get(ref)
    if found is None:
        raise ValidationFailed(
            fields={
                "product": ["不是平台产品编码或国家医保编码 (no product with this code or national code)"]
            }
        )
    return found


def _flush(session: Session, item_code: str) -> None:
    """A concurrent mapping of the same item code (or remap of the same row) answers 409."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "该院内编码已有对照 (this item code is already mapped)",
            code="item_code_taken",
            fields={"item_code": [f"“{item_code}”已有对照 (already mapped)"]},
        ) from exc


def _entry(row: HospitalItemCode, action: str, before: Mapping[str, Any] | None = None) -> audit.Entry:
    return audit.Entry(
        action=action,
        subject_type=SUBJECT,
        subject_id=row.id,
        subject_org_id=row.hospital_id,
        before=before,
        after={"item_code": row.item_code, "product_id": row.product_id, "supersedes_id": row.supersedes_id},
    )


def _live(session: Session, hospital_id: int, item_codes: Iterable[str]) -> dict[str, HospitalItemCode]:
    codes = set(item_codes)
    if not codes:
        return {}
    stmt = select(HospitalItemCode).where(
        HospitalItemCode.hospital_id == hospital_id,
        HospitalItemCode.live.is_(True),
        HospitalItemCode.item_code.in_(codes),
    )
    return {row.item_code: row for row in session.scalars(stmt.with_for_update())}


def create_mapping(
    session: Session,
    actor: Actor,
    *,
    item_code: str,
    product: str | int,
    item_name: str | None = None,
    now: datetime,
) -> HospitalItemCode:
    """Map one of the hospital's item codes to a product (an item code already mapped: 409; remap
    it with replace_mapping)."""
    hospital_id = _writer(actor)
    product_id = _product_id(session, product)
    if _live(session, hospital_id, [item_code]):
        raise Conflict(
            "该院内编码已有对照，请改用重新对照 (already mapped: replace the mapping instead)",
            code="item_code_taken",
            fields={"item_code": [f"“{item_code}”已有对照 (already mapped)"]},
        )
    row = HospitalItemCode(
        hospital_id=hospital_id,
        item_code=item_code,
        item_name=item_name,
        product_id=product_id,
        live=True,
        created_at=now,
        created_by=actor.user_id,
    )
    session.add(row)
    _flush(session, item_code)
    audit.record_many(session, actor, [_entry(row, "item_code.map")], now=now)
    return row


def _supersede(
    session: Session,
    actor: Actor,
    old: HospitalItemCode,
    product_id: int,
    item_name: str | None,
    now: datetime,
) -> HospitalItemCode:
    old.live = False
    # The old row leaves the live index before the new one enters it.
    session.flush()
    row = HospitalItemCode(
        hospital_id=old.hospital_id,
        item_code=old.item_code,
        item_name=item_name if item_name is not None else old.item_name,
        product_id=product_id,
        live=True,
        supersedes_id=old.id,
        created_at=now,
        created_by=actor.user_id,
    )
    session.add(row)
    _flush(session, old.item_code)
    return row


def replace_mapping(
    session: Session,
    actor: Actor,
    mapping_id: int,
    *,
    product: str | int,
    item_name: str | None = None,
    now: datetime,
) -> HospitalItemCode:
    """Remap an item code: a new row pointing at the one it supersedes (a superseded row: 409)."""
    hospital_id = _writer(actor)
    old = get_mapping(session, actor, mapping_id)
    # Lock the row so two remaps of it serialise (PostgreSQL; SQLite serialises writers anyway);
    # the unique supersedes_id is the guard if they still meet.
    session.refresh(old, with_for_update=True)
    if not old.live or old.hospital_id != hospital_id:
        raise InvalidState(
            "该对照已被替换，请对现行对照操作 (this mapping was already replaced)",
            code="mapping_superseded",
        )
    product_id = _product_id(session, product)
    row = _supersede(session, actor, old, product_id, item_name, now)
    audit.record_many(
        session,
        actor,
        [_entry(row, "item_code.remap", {"product_id": old.product_id, "id": old.id})],
        now=now,
    )
    return row


def import_mappings(
    session: Session, actor: Actor, *, rows: Sequence[tuple[int, MappingRow]], now: datetime
) -> tuple[int, int, int]:
    """Write a mapping table, all or nothing: new codes are mapped, codes mapped to another product
    are remapped, unchanged ones are left alone. Row errors name the row and the column.
    Returns (created, remapped, unchanged)."""
    hospital_id = _writer(actor)
    errors: dict[str, list[str]] = {}
    seen: dict[str, int] = {}
    products = products_by_reference(session, (row.product for _, row in rows))
    for number, row in rows:
        if row.item_code in seen:
            errors[f"row {number}.item_code"] = [
                f"与第 {seen[row.item_code]} 行重复 (duplicates row {seen[row.item_code]})"
            ]
        else:
            seen[row.item_code] = number
        if row.product not in products:
            errors[f"row {number}.product"] = [
                "不是平台产品编码或国家医保编码 (no product with this code or national code)"
            ]
    if errors:
        raise ValidationFailed("导入失败，未写入任何数据 (import failed; nothing was written)", fields=errors)
    live = _live(session, hospital_id, seen)
    unchanged, added, entries = 0, [], []
    for _, row in rows:
        product_id = products[row.product]
        old = live.get(row.item_code)
        if old is not None and old.product_id == product_id:
            unchanged += 1
            continue
        if old is not None:
            new = _supersede(session, actor, old, product_id, row.item_name, now)
            entries.append(_entry(new, "item_code.remap", {"product_id": old.product_id, "id": old.id}))
            continue
        new = HospitalItemCode(
            hospital_id=hospital_id,
            item_code=row.item_code,
            item_name=row.item_name,
            product_id=product_id,
            live=True,
            created_at=now,
            created_by=actor.user_id,
        )
        session.add(new)
        added.append(new)
    _flush(session, next(iter(seen), ""))
    remapped = len(entries)
    entries += [_entry(new, "item_code.map") for new in added]
    audit.record_many(session, actor, entries, now=now)
    return len(added), remapped, unchanged


def resolve_item_codes(session: Session, hospital_id: int, codes: Iterable[str]) -> dict[str, int]:
    """Product ids for codes a hospital writes: its own live item codes first, then national codes
    (a well-formed 国家医保编码 of a catalogue product). Unknown codes are absent from the result."""
    wanted = {code for code in codes if code}
    if not wanted:
        return {}
    found: dict[str, int] = dict(
        session.execute(
            select(HospitalItemCode.item_code, HospitalItemCode.product_id).where(
                HospitalItemCode.hospital_id == hospital_id,
                HospitalItemCode.live.is_(True),
                HospitalItemCode.item_code.in_(wanted),
            )
        ).all()
    )
    national = {code for code in wanted - found.keys() if looks_like_national_code(code)}
    if national:
        found.update(
            session.execute(
                select(Product.national_code, Product.id).where(Product.national_code.in_(national))
            ).all()
        )
    return found


def item_code_of(session: Session, hospital_id: int, product_ids: Iterable[int]) -> dict[int, str]:
    """The hospital's own item code for each product it has mapped (several codes for one product:
    the latest mapping's)."""
    ids = set(product_ids)
    if not ids:
        return {}
    latest = (
        select(func.max(HospitalItemCode.id))
        .where(
            HospitalItemCode.hospital_id == hospital_id,
            HospitalItemCode.live.is_(True),
            HospitalItemCode.product_id.in_(ids),
        )
        .group_by(HospitalItemCode.product_id)
    )
    rows = session.execute(
        select(HospitalItemCode.product_id, HospitalItemCode.item_code).where(HospitalItemCode.id.in_(latest))
    ).all()
    return dict(rows)


def export_rows(session: Session, rows: Iterable[HospitalItemCode]) -> list[list[Any]]:
    """Mapping rows for xlsx/CSV export in import column order (item code, product code, name,
    national code, generic name)."""
    return [
        [
            row.item_code,
            row.product.code,
            row.item_name or "",
            row.product.national_code or "",
            row.product.generic_name,
        ]
        for row in rows
    ]
