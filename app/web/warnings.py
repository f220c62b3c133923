"""Warnings (预警) as pages: the bureau's supervision dashboard (by rule and region, linking to the
filtered list), the warning list with filters, one warning with its evidence and the forms to
acknowledge and resolve it, the monthly report files; a party's own warnings with an answer form."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Response, abort, current_app, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from marshmallow import fields, validate

from app.db import request_session
from app.web.common import (
    ENTERPRISES,
    WRITERS,
    FormFailed,
    actor,
    attempt,
    done,
    form_dict,
    load,
    page,
    paged,
    web,
)
from core import clock
from core.actors import OrgKind
from core.uscc import region_code_error
from core.validation import BaseSchema
from ledger.supervision import dashboard
from ledger.supervision import warnings as engine
from ledger.supervision.models import Severity, WarningState
from reports.supervision_report import build_supervision_report, render_pdf, render_xlsx

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _labels() -> dict[str, str]:
    return {code: spec.label for code, spec in engine.load_rules().items()}


def _record_kinds() -> dict[str, str]:
    return {
        "order": _("Order"),
        "order_line": _("Order line"),
        "shipment": _("Shipment"),
        "shipment_line": _("Shipment line"),
        "receipt_line": _("Receipt"),
        "invoice_line": _("Invoice line"),
        "listing": _("Listing"),
        "award": _("Award"),
    }


def _fact_labels() -> dict[str, str]:
    """Words for the facts the use-monitoring rules keep (others show their key)."""
    return {
        "generic_name": _("Generic name"),
        "non_winner_units": _("Non-winner units"),
        "winner_units": _("Winner units"),
        "total_units": _("Units bought"),
        "non_winner_share_pct": _("Non-winner share (%)"),
        "winner_share_pct": _("Winner share (%)"),
        "window_first_day": _("From"),
        "window_last_day": _("To"),
        "batch_id": _("Batch"),
        "award_id": _("Award"),
        "agreed_units": _("Agreed units"),
        "completed_units": _("Completed units"),
        "completion_pct": _("Completion (%)"),
        "time_elapsed_pct": _("Time elapsed (%)"),
        "lag_points": _("Behind by (points)"),
        "year_start": _("Cycle year from"),
        "year_end": _("Cycle year to"),
        "shipped_on": _("Shipped on"),
        "days_unconfirmed": _("Days unconfirmed"),
        "completed_orders": _("Completed orders"),
        "slowest_step_minutes": _("Slowest step (minutes)"),
        "window_days": _("Window (days)"),
    }


def _enum(cls: Any, text: str | None) -> Any:
    try:
        return cls(text) if text else None
    except ValueError:
        return None


def _filter_from_args() -> tuple[dashboard.WarningFilter, dict[str, str]]:
    """The list's filters from the query; unknown values are ignored (and shown as "all")."""
    args = {k: request.args.get(k, "").strip() for k in ("rule", "state", "severity", "region")}
    rule = args["rule"] if args["rule"] in engine.load_rules() else None
    region = args["region"] if args["region"] and region_code_error(args["region"]) is None else None
    chosen = {
        "rule": rule or "",
        "state": args["state"] if _enum(WarningState, args["state"]) else "",
        "severity": args["severity"] if _enum(Severity, args["severity"]) else "",
        "region": region or "",
    }
    return (
        dashboard.WarningFilter(
            rule=rule,
            state=_enum(WarningState, args["state"]),
            severity=_enum(Severity, args["severity"]),
            region_code=region,
        ),
        chosen,
    )


@web.route("/supervision")
@page(OrgKind.BUREAU)
def supervision_dashboard() -> ResponseReturnValue:
    """Counts by rule and by rule × region, each linking to the filtered list."""
    today = clock.business_date(clock.now())
    summary = dashboard.summary(request_session(), actor())
    regions: dict[str, dict[str, int]] = {}
    for row in summary["rows"]:
        if row["state"] == WarningState.RESOLVED.value:
            continue
        by_rule = regions.setdefault(row["region_code"] or "", {})
        by_rule[row["rule"]] = by_rule.get(row["rule"], 0) + row["count"]
    return render_template(
        "web/warnings_dashboard.html",
        summary=summary,
        regions=regions,
        states=list(WarningState),
        severities=list(Severity),
        months=[clock.previous_month(today), today.replace(day=1)],
        can_write=actor().role in WRITERS,
    )


@web.route("/supervision/compute", methods=["POST"])
@page(OrgKind.BUREAU, roles=WRITERS)
def supervision_compute() -> ResponseReturnValue:
    settings = current_app.config["VBP"].supervision
    try:
        summary = attempt(lambda db: engine.compute_warnings(db, now=clock.now(), settings=settings))
    except FormFailed:
        return redirect(url_for("web.supervision_dashboard"))
    return done(
        _("Warnings computed: %(count)s new.", count=sum(summary.raised.values())),
        "web.supervision_dashboard",
    )


def _report_month() -> date:
    text = request.args.get("month", "")
    try:
        year, month = (int(x) for x in text.split("-"))
        return date(year, month, 1)
    except ValueError:
        abort(404)


@web.route("/supervision/report.pdf")
@page(OrgKind.BUREAU)
def supervision_report_pdf() -> ResponseReturnValue:
    month = _report_month()
    report = build_supervision_report(request_session(), month, generated_at=clock.now())
    response = Response(render_pdf(report), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="supervision-{month:%Y-%m}.pdf"'
    return response


@web.route("/supervision/report.xlsx")
@page(OrgKind.BUREAU)
def supervision_report_xlsx() -> ResponseReturnValue:
    month = _report_month()
    report = build_supervision_report(request_session(), month, generated_at=clock.now())
    response = Response(render_xlsx(report), mimetype=XLSX)
    response.headers["Content-Disposition"] = f'attachment; filename="supervision-{month:%Y-%m}.xlsx"'
    return response


@web.route("/warnings")
@page()
def warnings_list() -> ResponseReturnValue:
    """The bureau's filtered list; a party's own warnings, each with its evidence and answer form."""
    who = actor()
    chosen_filter, chosen = _filter_from_args()
    pager = paged(dashboard.filtered_warnings(who, chosen_filter))
    evidence = {}
    if not who.is_bureau:
        db = request_session()
        evidence = {w.id: dashboard.evidence(db, who, w) for w in pager.items}
    return render_template(
        "web/warnings_list.html",
        pager=pager,
        chosen=chosen,
        rule_labels=_labels(),
        record_kinds=_record_kinds(),
        evidence=evidence,
        states=list(WarningState),
        severities=list(Severity),
        can_answer=who.org_kind in (OrgKind.HOSPITAL, *ENTERPRISES) and who.role in WRITERS,
    )


@web.route("/warnings/<int:warning_id>")
@page(OrgKind.BUREAU)
def warning_page(warning_id: int) -> ResponseReturnValue:
    who, db = actor(), request_session()
    warning = engine.get_warning(db, who, warning_id)
    return render_template(
        "web/warnings_detail.html",
        warning=warning,
        rule_label=_labels().get(warning.rule, warning.rule),
        records=dashboard.evidence(db, who, warning),
        record_kinds=_record_kinds(),
        facts=(warning.evidence or {}).get("facts", {}),
        fact_labels=_fact_labels(),
        can_write=who.role in WRITERS,
    )


class _NoteForm(BaseSchema):
    note = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class _AnswerForm(BaseSchema):
    answer = fields.String(required=True, validate=validate.Length(min=1, max=1000))


@web.route("/warnings/<int:warning_id>/acknowledge", methods=["POST"])
@page(OrgKind.BUREAU, roles=WRITERS)
def warning_acknowledge(warning_id: int) -> ResponseReturnValue:
    try:
        attempt(lambda db: engine.acknowledge(db, actor(), warning_id, now=clock.now()))
    except FormFailed:
        return redirect(url_for("web.warning_page", warning_id=warning_id))
    return done(_("The warning is acknowledged."), "web.warning_page", warning_id=warning_id)


@web.route("/warnings/<int:warning_id>/resolve", methods=["POST"])
@page(OrgKind.BUREAU, roles=WRITERS)
def warning_resolve(warning_id: int) -> ResponseReturnValue:
    try:
        data = load(_NoteForm(), form_dict(request.form))
        attempt(lambda db: engine.resolve(db, actor(), warning_id, note=data["note"], now=clock.now()))
    except FormFailed:
        return redirect(url_for("web.warning_page", warning_id=warning_id))
    return done(_("The warning is resolved."), "web.warning_page", warning_id=warning_id)


@web.route("/warnings/<int:warning_id>/answer", methods=["POST"])
@page(OrgKind.HOSPITAL, OrgKind.MANUFACTURER, OrgKind.DISTRIBUTOR, roles=WRITERS)
def warning_answer(warning_id: int) -> ResponseReturnValue:
    try:
        data = load(_AnswerForm(), form_dict(request.form))
        attempt(lambda db: engine.answer(db, actor(), warning_id, text=data["answer"], now=clock.now()))
    except FormFailed:
        return redirect(url_for("web.warnings_list"))
    return done(_("Your answer was sent to the bureau."), "web.warnings_list")
