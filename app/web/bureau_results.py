"""Bureau pages for results decided elsewhere and alliances led here (issue 22): import a national
or alliance results file (every bad row named as people count it, nothing imported if one is bad),
execute it after demand closes, set an alliance's members, upload a member province's demand.

Each form calls the service behind the API (bidding/results_import.py, bidding/alliance.py)."""

from __future__ import annotations

import re
from typing import Any

from flask import current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.datastructures import FileStorage

from app.web.bureau import CHINA_OFFSET
from app.web.common import WRITERS, FormFailed, actor, attempt, done, page, web
from bidding import alliance, results_import
from bidding.models import MemberDemand, ProcurementBatch, Scope, SelectionSource
from bidding.results_format import HEADERS
from core import clock
from core.actors import OrgKind
from core.errors import ValidationFailed
from core.regions import PROVINCES

_ROW = re.compile(r"\Arow (\d+)\.(\w+)\Z")
DEMAND_HEADERS = {c.key: c.headers[0] for c in alliance.DEMAND_COLUMNS}


def row_lines(exc: ValidationFailed, headers: dict[str, tuple[str, ...] | str]) -> list[str]:
    """ "row 7.product_code" → "第 7 行（中选产品编码）：…"; JSON paths and file problems as they are."""
    lines = []
    for name, messages in (exc.fields or {}).items():
        match = _ROW.match(name)
        if match:
            header = headers.get(match.group(2), match.group(2))
            where = f"第 {match.group(1)} 行（{header if isinstance(header, str) else header[0]}）"
        else:
            where = "文件" if name == "file" else name
        lines.extend(f"{where}：{m}" for m in messages)
    return lines or [exc.message]


def batch_context(db: Session, batch: ProcurementBatch) -> dict[str, Any]:
    """What the batch page shows of imported results or of an alliance led here."""
    context: dict[str, Any] = {
        "provinces": PROVINCES,
        "own_province": _province(),
    }
    if batch.selection is SelectionSource.IMPORTED:
        context["rederivation"] = results_import.rederive_batch(db, batch.id)
        context["demand_closed"] = clock.now() >= batch.demand_closes_at
    elif batch.scope is Scope.ALLIANCE:
        context["member_rows"] = dict(
            db.execute(
                select(MemberDemand.province_code, func.count())
                .where(MemberDemand.batch_id == batch.id)
                .group_by(MemberDemand.province_code)
            ).all()
        )
    return context


def _read(upload: FileStorage) -> bytes:
    """The upload, read one byte past the limit (the readers refuse what is too big)."""
    return upload.read(current_app.config["VBP"].spreadsheet_limits().max_bytes + 1)


def _province() -> str:
    return str(current_app.config["VBP"].province_code)


def _moment(text: str) -> str:
    return text + ":00" + CHINA_OFFSET if len(text) == 16 else text


@web.route("/bureau/batches/import-results", methods=["GET", "POST"])
@page(OrgKind.BUREAU, roles=WRITERS)
def bureau_import_results() -> ResponseReturnValue:
    """导入中选结果: a national or alliance results file becomes a draft batch."""
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        upload = request.files.get("file")
        from datetime import datetime

        try:
            opens = datetime.fromisoformat(_moment(request.form.get("demand_opens_at", "")))
            closes = datetime.fromisoformat(_moment(request.form.get("demand_closes_at", "")))
        except ValueError:
            errors.append(_("Give the demand collection window (China time)."))
        if upload is None or not upload.filename:
            errors.append(_("Choose the results file (xlsx, csv or json)."))
        if not errors and upload is not None:
            data, name = _read(upload), upload.filename or "results.xlsx"
            try:
                summary = attempt(
                    lambda db: results_import.import_results(
                        db,
                        actor(),
                        data=data,
                        filename=name,
                        province_code=_province(),
                        demand_opens_at=opens,
                        demand_closes_at=closes,
                        now=clock.now(),
                    )
                )
            except FormFailed as exc:
                cause = exc.__cause__
                if isinstance(cause, ValidationFailed) and cause.fields:
                    errors = row_lines(cause, HEADERS)
                else:
                    return redirect(url_for("web.bureau_import_results"))
            else:
                message = _(
                    "Batch %(name)s created from the results file: %(items)s items, %(winners)s winners.",
                    name=summary.batch.name,
                    items=summary.items,
                    winners=summary.winners,
                )
                if summary.unsupplied_items:
                    message += " " + _(
                        "No primary supplier in this province for: %(items)s",
                        items="、".join(summary.unsupplied_items),
                    )
                return done(message, "web.bureau_batch", batch_id=summary.batch.id)
        status = 422
    return render_template("web/bureau_results_import.html", row_errors=errors, form=request.form), status


@web.route("/bureau/batches/<int:batch_id>/execute", methods=["POST"])
@page(OrgKind.BUREAU, roles=WRITERS)
def bureau_execute(batch_id: int) -> ResponseReturnValue:
    """落地: the province's demand becomes agreed volumes with the winners that supply it."""
    try:
        s = attempt(lambda db: results_import.execute_results(db, actor(), batch_id, now=clock.now()))
    except FormFailed:
        return redirect(url_for("web.bureau_batch", batch_id=batch_id))
    return done(
        _(
            "Results executed: %(n)s agreed volumes, %(q)s units in all.",
            n=s.allocations,
            q=s.agreed_quantity,
        ),
        "web.bureau_batch",
        batch_id=batch_id,
    )


@web.route("/bureau/batches/<int:batch_id>/members", methods=["POST"])
@page(OrgKind.BUREAU, roles=WRITERS)
def bureau_members(batch_id: int) -> ResponseReturnValue:
    provinces = [p for p in request.form.getlist("province") if p]
    try:
        attempt(
            lambda db: alliance.set_member_provinces(
                db,
                actor(),
                batch_id,
                provinces,
                own_province=_province(),
                now=clock.now(),
            )
        )
    except FormFailed:
        return redirect(url_for("web.bureau_batch", batch_id=batch_id))
    return done(_("Alliance members saved."), "web.bureau_batch", batch_id=batch_id)


@web.route("/bureau/batches/<int:batch_id>/member-demand", methods=["POST"])
@page(OrgKind.BUREAU, roles=WRITERS)
def bureau_member_demand(batch_id: int) -> ResponseReturnValue:
    from app.web.bureau import render_batch

    upload = request.files.get("file")
    province = request.form.get("province", "")
    if upload is None or not upload.filename:
        return render_batch(batch_id, row_errors=[_("Choose the member province's demand file.")]), 422
    data, name = _read(upload), upload.filename
    try:
        rows = attempt(
            lambda db: alliance.import_member_demand(
                db,
                actor(),
                batch_id,
                province=province,
                own_province=_province(),
                data=data,
                filename=name,
                now=clock.now(),
            )
        )
    except FormFailed as exc:
        cause = exc.__cause__
        lines = row_lines(cause, DEMAND_HEADERS) if isinstance(cause, ValidationFailed) else []
        return render_batch(batch_id, row_errors=lines), 422
    return done(
        _("%(n)s demand rows of %(province)s imported.", n=rows, province=PROVINCES.get(province, province)),
        "web.bureau_batch",
        batch_id=batch_id,
    )
