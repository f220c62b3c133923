"""Bureau pages for a batch's items and results: add an item by the form, import items from the
xlsx template (every bad row named as people count it, nothing imported if any row is bad), and
list the published winners (创建挂网).

The item form and the import call `bidding.batches.add_item`, the service behind the API's
POST /batches/{id}/items, so a page cannot add what the API refuses.
"""

from __future__ import annotations

from typing import Any

from flask import Response, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from marshmallow import fields, pre_load
from sqlalchemy.orm import Session

from app.api.files import XLSX, uploaded_table, validated_rows
from app.web.bureau import render_batch
from app.web.common import WRITERS, FormFailed, actor, attempt, done, form_dict, load, page, web
from bidding import batches
from bidding.models import DosageFormGroup, RatioKind
from bidding.schemas import ItemCreateSchema
from core import clock
from core.actors import Actor, OrgKind
from core.errors import Conflict, PermissionDenied, ValidationFailed
from core.glossary import TERMS
from core.spreadsheets import Column, SpreadsheetError, template_xlsx
from ledger.services import listings

#: The item import's columns (the template's headers, Chinese first).
ITEM_COLUMNS = (
    Column("generic_name", ("通用名", "generic_name")),
    Column("dosage_form_group", ("剂型组", "dosage_form_group")),
    Column("rep_strength_value", ("代表品规格", "rep_strength_value")),
    Column("rep_strength_unit", ("规格单位", "rep_strength_unit")),
    Column("ratio_kind", ("差比价方式", "ratio_kind"), required=False),
    Column("allowed_strengths", ("可申报规格（以;分隔）", "allowed_strengths"), required=False),
    Column("ceiling_price", ("最高有效申报价（元/最小单位）", "ceiling_price")),
    Column("pre_vbp_price", ("集采前均价（元/最小单位）", "pre_vbp_price"), required=False),
)


HEADERS = {c.key: c.display_zh for c in ITEM_COLUMNS}


def _where(row: int | None, key: str | None) -> str:
    """ "第 3 行（最高有效申报价（元/最小单位））": the row as people count it, the column by its header."""
    column = "" if key in (None, "_", "_schema") else f"（{HEADERS.get(str(key), str(key))}）"
    return ("" if row is None else f"第 {row} 行") + column


def _strengths(text: str) -> list[str]:
    """ "0.25; 0.5，1" → ["0.25", "0.5", "1"] (ASCII or Chinese separators)."""
    for sep in ("；", "，", ","):
        text = text.replace(sep, ";")
    return [part.strip() for part in text.split(";") if part.strip()]


#: Codes of the import's choice columns also accepted as the words the pages show (口服常释剂型).
CHOICES = {
    "dosage_form_group": {TERMS[g.value][0]: g.value for g in DosageFormGroup if g.value in TERMS},
    "ratio_kind": {TERMS[k.value][0]: k.value for k in RatioKind if k.value in TERMS},
}


class ItemRowSchema(ItemCreateSchema):
    """A row of the item import: the strengths come as one cell of text, the choices as their
    code or their Chinese word."""

    allowed_strengths = fields.Function(
        deserialize=lambda text: _strengths(str(text)), load_default=list, data_key="allowed_strengths"
    )

    @pre_load
    def _words_to_codes(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        return {k: CHOICES.get(k, {}).get(v, v) if isinstance(v, str) else v for k, v in data.items()}


def _item_payload(form: Any) -> dict[str, Any]:
    payload = form_dict(form)
    if "allowed_strengths" in payload:
        payload["allowed_strengths"] = _strengths(payload["allowed_strengths"])
    return payload


@web.route("/bureau/batches/<int:batch_id>/items", methods=["POST"])
@page(OrgKind.BUREAU, roles=WRITERS)
def bureau_add_item(batch_id: int) -> ResponseReturnValue:
    """Add one item (draft batches only); a failed form keeps what was typed."""
    try:
        data = load(ItemCreateSchema(), _item_payload(request.form))
        item = attempt(lambda db: batches.add_item(db, actor(), batch_id, data=data, now=clock.now()))
    except FormFailed:
        return render_batch(batch_id, item_form=request.form), 422
    return done(_("Item %(name)s added.", name=item.generic_name), "web.bureau_batch", batch_id=batch_id)


@web.route("/bureau/batches/<int:batch_id>/items/template.xlsx")
@page(OrgKind.BUREAU)
def bureau_item_template(batch_id: int) -> ResponseReturnValue:
    """The empty xlsx the import reads (headers and a 填写说明 sheet)."""
    response = Response(template_xlsx(ITEM_COLUMNS, title="集采品种"), mimetype=XLSX)
    response.headers["Content-Disposition"] = 'attachment; filename="batch-items-template.xlsx"'
    return response


def import_items(db: Session, who: Actor, batch_id: int, rows: list[tuple[int, dict[str, Any]]]) -> list[Any]:
    """Add every row's item or none: each refusal is named by its spreadsheet row (第 N 行)."""
    added, errors = [], {}
    for number, data in rows:
        try:
            with db.begin_nested():
                added.append(batches.add_item(db, who, batch_id, data=data, now=clock.now()))
        except (ValidationFailed, Conflict, PermissionDenied) as exc:
            for name, messages in (exc.fields or {"_": [exc.message]}).items():
                errors[_where(number, name)] = messages
    if errors:
        raise ValidationFailed("导入失败，未写入任何数据 (import failed; nothing was written)", fields=errors)
    return added


@web.route("/bureau/batches/<int:batch_id>/items/import", methods=["POST"])
@page(OrgKind.BUREAU, roles=WRITERS)
def bureau_import_items(batch_id: int) -> ResponseReturnValue:
    """Import items from the template: all rows or none, every bad row named."""
    who = actor()
    try:
        rows = validated_rows(uploaded_table(ITEM_COLUMNS), ItemRowSchema())
        added = attempt(lambda db: import_items(db, who, batch_id, rows))
    except SpreadsheetError as exc:
        lines = [f"{_where(err.row, err.column)}：{err.message}".lstrip("：") for err in exc.errors]
        return render_batch(batch_id, row_errors=lines), 422
    except ValidationFailed as exc:
        return render_batch(batch_id, row_errors=_field_lines(exc)), 422
    except FormFailed:
        return render_batch(batch_id), 422
    return done(_("%(n)s items imported.", n=len(added)), "web.bureau_batch", batch_id=batch_id)


def _field_lines(exc: ValidationFailed) -> list[str]:
    return [f"{name}: {m}" for name, messages in (exc.fields or {}).items() for m in messages] or [
        exc.message
    ]


@web.route("/bureau/batches/<int:batch_id>/listings", methods=["POST"])
@page(OrgKind.BUREAU, roles=WRITERS)
def bureau_create_listings(batch_id: int) -> ResponseReturnValue:
    """List the published winners in their supply regions (repeatable: nothing is listed twice)."""
    try:
        created = attempt(lambda db: listings.create_vbp_listings(db, actor(), batch_id, now=clock.now()))
    except FormFailed:
        return redirect(url_for("web.bureau_batch", batch_id=batch_id))
    return done(
        _("%(n)s listings created from the results.", n=len(created)), "web.bureau_batch", batch_id=batch_id
    )
