"""A background job's page: its status and a progress bar that follows the job's API resource
(static/job-progress.js polls /api/v1/background-jobs/<id>) until it ends."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue

from app.db import request_session
from app.web.common import actor, page, web
from core.background import JOB_STATES, get_job

#: The job kinds' names on the page.
KIND_LABELS = {"statements": "月度对账单与PDF (monthly statements)"}


@web.route("/jobs/<int:job_id>")
@page()
def background_job_page(job_id: int) -> ResponseReturnValue:
    job = get_job(request_session(), actor(), job_id)
    return render_template(
        "web/background_job.html",
        job=job,
        kind_label=KIND_LABELS.get(job.kind, job.kind),
        states={s.value: JOB_STATES.label(s) for s in JOB_STATES.states},
    )
