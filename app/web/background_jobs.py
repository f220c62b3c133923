"""A background job's page: its status and a progress bar that follows the job's API resource
(static/job-progress.js polls /api/v1/background-jobs/<id>) until it ends."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue

from app.db import request_session
from app.web.common import actor, page, web
from core.actors import OrgKind
from core.background import JOB_STATES, BackgroundJob, get_job, jobs_visible_to

#: The job kinds' names on the page.
KIND_LABELS = {
    "statements": "月度对账单与PDF (monthly statements)",
    "monthly_reports": "月度指标与监督报告 (monthly reports)",
    "reconciliation_run": "全省对账运行 (stored reconciliation run)",
    "warnings": "监督预警计算 (supervision warnings)",
    "order_upload": "订单批量上传 (order upload)",
}
#: The words for what a job's result holds (the page never shows a bare key).
RESULT_LABELS = {
    "period": "月份",
    "new_versions": "新版本",
    "unchanged": "未变化",
    "pdfs": "PDF份数",
    "files": "文件",
    "folder": "目录",
    "run_id": "对账运行编号",
    "lines": "订单行数",
    "findings": "异常行数",
    "day": "日期",
    "raised": "新增预警",
    "seen": "仍存在",
    "cleared": "已消除",
    "rows": "行数",
    "orders": "订单",
    "code": "错误代码",
    "message": "说明",
    "errors": "错误",
}


def shown(value: object) -> str:
    """A result value as the page shows it (static/job-progress.js does the same): a list of
    records by their count, a mapping as its pairs, a list as its items."""
    if isinstance(value, list):
        if value and isinstance(value[0], dict):
            return f"{len(value)} 项"
        return "，".join(shown(v) for v in value)
    if isinstance(value, dict):
        return "；".join(f"{k}: {shown(v)}" for k, v in value.items())
    return str(value)


def recent_background_jobs(limit: int = 20) -> list[BackgroundJob]:
    """The newest jobs the viewer may follow (listed on the bureau's job history)."""
    stmt = jobs_visible_to(actor()).order_by(BackgroundJob.id.desc()).limit(limit)
    return list(request_session().scalars(stmt))


@web.route("/jobs/<int:job_id>")
@page(OrgKind.BUREAU)  # the province's jobs; a hospital's API upload job is followed by the API
def background_job_page(job_id: int) -> ResponseReturnValue:
    job = get_job(request_session(), actor(), job_id)
    return render_template(
        "web/background_job.html",
        job=job,
        kind_label=KIND_LABELS.get(job.kind, job.kind),
        states={s.value: JOB_STATES.label(s) for s in JOB_STATES.states},
        result_labels=RESULT_LABELS,
        result_rows=[(RESULT_LABELS.get(k, ""), shown(v)) for k, v in (job.result or {}).items()],
    )
