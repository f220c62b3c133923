"""Procurement-rate indicator reports (vbp-rules.md §6) as JSON, xlsx or PDF: the bureau sees
the province, a hospital or an enterprise its own numbers."""

from __future__ import annotations

import json
from typing import Any

from flask import Response
from flask_smorest import Blueprint

from app.api.files import XLSX, file_responses
from app.auth import current_actor, requires
from app.db import request_session
from app.replica import replica_reads
from core import clock
from core.actors import OrgKind
from core.errors import ValidationFailed
from ledger.schemas import IndicatorQuerySchema, savings_formula
from reports import indicators
from reports.report_pdf import render_report

PREFIX = ""
blp = Blueprint("reports", __name__, description="采购监测指标 (indicator reports)")

#: A year of months at most per request (a province grouped by hospital is ~2,000 rows).
MAX_MONTHS = 12


@blp.route("/reports/indicators", methods=["GET"])
@requires(OrgKind.BUREAU, OrgKind.HOSPITAL, OrgKind.DISTRIBUTOR, OrgKind.MANUFACTURER)
@blp.arguments(IndicatorQuerySchema, location="query")
@blp.doc(**file_responses("application/json", XLSX, "application/pdf", description="指标报告 (indicators)"))
@replica_reads
def indicator_report(query: dict[str, Any]) -> Response:
    """Online procurement rate, agreed-volume completion, on-time payment, delivery, winner
    usage and savings for the months asked, grouped by province, region, hospital, enterprise
    or month."""
    first, last = query["period_from"], query.get("period_to") or query["period_from"]
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    if not 1 <= months <= MAX_MONTHS:
        raise ValidationFailed(
            fields={"period_to": [f"须不早于起始月，且不超过{MAX_MONTHS}个月 (1–12 months)"]}
        )
    now = clock.now()
    report = indicators.compute_indicators(
        request_session(),
        current_actor(),
        period_from=first,
        period_before=indicators.next_month(last),
        group_by=indicators.GroupBy(query["group_by"]),
        as_of=query.get("as_of") or clock.business_date(now),
        savings_formula=savings_formula(query),
    )
    name = f"indicators-{first:%Y%m}-{last:%Y%m}-{report.group_by.value}"
    if query["format"] == "xlsx":
        response = Response(indicators.to_xlsx(report), mimetype=XLSX)
    elif query["format"] == "pdf":
        trend = indicators.monthly_trend(request_session(), current_actor(), report)
        document = indicators.to_document(report, generated_at=now, trend=trend)
        response = Response(render_report(document), mimetype="application/pdf")
    else:
        return Response(
            json.dumps(indicators.to_json(report), ensure_ascii=False), mimetype="application/json"
        )
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.{query["format"]}"'
    return response
