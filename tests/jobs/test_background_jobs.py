"""Background jobs without a broker (the embedded default): the request answers 202 with the
job, which has already run in process; a retried request gets the same job; only the requesting
organization and the bureau can follow it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import unit_of_work
from core import clock
from core.actors import Actor, OrgKind, Role
from core.audit import AuditEvent
from core.background import BackgroundJob, BackgroundJobStatus, BackgroundJobUnit, create_job, move
from ledger.models import ReconciliationRun
from reports.statement_job import statement_params
from tests.factories import bearer, login, make_org, make_user
from tests.jobs.province import seed_province, statements_of


def test_statement_job_runs_in_process_and_answers_202_with_its_location(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    period = seed_province(session)
    bureau = make_user(session, make_org(session, OrgKind.BUREAU), Role.ADMIN)
    auth = bearer(session, bureau)
    session.commit()
    body = {"period": f"{period:%Y-%m}", "as_of": "2026-11-20T02:00:00+00:00"}
    answer = client.post("/api/v1/background-jobs/statements", json=body, headers=auth)
    assert answer.status_code == 202, answer.get_json()
    job = answer.get_json()
    assert answer.headers["Location"] == f"/api/v1/background-jobs/{job['id']}"
    followed = client.get(answer.headers["Location"], headers=auth).get_json()
    assert followed["status"] == "succeeded"
    assert followed["progress_done"] == followed["progress_total"] > 0
    assert followed["attempts"] == 1
    made = statements_of(session, period)
    assert followed["result"]["new_versions"] == len(made) > 0
    assert all(len(versions) == 1 for versions in made.values())
    assert followed["result"]["pdfs"] == len(made)
    assert len(list(Path(followed["result"]["folder"]).glob("DZD-*.pdf"))) >= len(made)
    units = session.scalar(
        select(func.count()).select_from(BackgroundJobUnit).where(BackgroundJobUnit.job_id == job["id"])
    )
    assert units == followed["progress_total"]
    moves = session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.subject_type == "background_job", AuditEvent.subject_id == str(job["id"]))
        .order_by(AuditEvent.seq)
    ).all()
    assert moves == ["background_job.enqueue", "background_job.running", "background_job.succeeded"]
    login(client, bureau)
    page = client.get(f"/jobs/{job['id']}").get_data(as_text=True)
    assert f"后台任务 #{job['id']}" in page
    assert "成功" in page
    assert f'max="{followed["progress_total"]}" value="{followed["progress_done"]}"' in page
    history = client.get("/bureau/jobs").get_data(as_text=True)
    assert f'href="/jobs/{job["id"]}"' in history


def test_a_retried_request_with_the_same_key_gets_the_same_job(client: FlaskClient, session: Session) -> None:
    bureau = make_user(session, make_org(session, OrgKind.BUREAU), Role.OPERATOR)
    auth = {**bearer(session, bureau), "Idempotency-Key": "month-end-1"}
    session.commit()
    body = {"period": "2031-01"}
    first = client.post("/api/v1/background-jobs/statements", json=body, headers=auth)
    again = client.post("/api/v1/background-jobs/statements", json=body, headers=auth)
    assert (first.status_code, again.status_code) == (202, 202)
    assert first.get_json()["id"] == again.get_json()["id"]
    assert first.get_json()["status"] == "succeeded"  # a month without orders: nothing to do
    jobs = session.scalar(
        select(func.count()).select_from(BackgroundJob).where(BackgroundJob.id == first.get_json()["id"])
    )
    assert jobs == 1


def test_only_the_requesting_organization_and_the_bureau_follow_a_job(
    client: FlaskClient, session: Session
) -> None:
    bureau_org = make_org(session, OrgKind.BUREAU)
    requester = make_user(session, bureau_org, Role.OPERATOR)
    colleague = make_user(session, bureau_org, Role.AUDITOR)
    hospital = make_user(session, make_org(session, OrgKind.HOSPITAL), Role.ADMIN)
    auth = bearer(session, requester)
    session.commit()
    job = client.post("/api/v1/background-jobs/statements", json={"period": "2031-02"}, headers=auth)
    where = job.headers["Location"]
    assert client.get(where, headers=bearer(session, colleague)).status_code == 200
    other = client.get(where, headers=bearer(session, hospital))
    assert other.status_code == 404
    refused = client.post(
        "/api/v1/background-jobs/statements", json={"period": "2031-02"}, headers=bearer(session, hospital)
    )
    assert refused.status_code == 403
    assert session.get_one(BackgroundJob, job.get_json()["id"]).status is BackgroundJobStatus.SUCCEEDED


def test_the_cli_runs_a_job_with_a_progress_bar_and_retries_a_failed_one(
    app: Flask, session: Session
) -> None:
    runner = app.test_cli_runner()
    made = runner.invoke(args=["jobs", "statements", "--period", "2031-03"])
    assert made.exit_code == 0, made.output
    assert "成功 (succeeded) 0/0" in made.output
    with unit_of_work(session):
        job, _ = create_job(
            session,
            Actor.system(),
            kind="statements",
            params=made_params(),
            idempotency_key=None,
            now=clock.now(),
        )
        move(session, Actor.system(), job, BackgroundJobStatus.RUNNING, now=clock.now(), attempts=1)
        move(session, Actor.system(), job, BackgroundJobStatus.FAILED, now=clock.now(), error="disk full")
    shown = runner.invoke(args=["jobs", "show", str(job.id)])
    assert shown.exit_code == 1
    assert "失败 (failed)" in shown.output
    retried = runner.invoke(args=["jobs", "retry", str(job.id)])
    assert retried.exit_code == 0, retried.output
    session.expire_all()
    again = session.get_one(BackgroundJob, job.id)
    assert (again.status, again.attempts, again.error) == (BackgroundJobStatus.SUCCEEDED, 2, None)
    refused = runner.invoke(args=["jobs", "retry", str(job.id)])
    assert refused.exit_code != 0  # succeeded → queued is not in the table


def made_params() -> dict[str, object]:
    return statement_params(
        period=date(2031, 5, 1),
        as_of=clock.now(),
        now=clock.now(),
        out_dir=Path("unused"),
        verify_url_base="x",
    )


def test_a_stored_reconciliation_run_and_the_warnings_run_as_background_jobs(
    client: FlaskClient, session: Session
) -> None:
    period = seed_province(session)
    bureau = make_user(session, make_org(session, OrgKind.BUREAU), Role.ADMIN)
    auth = bearer(session, bureau)
    session.commit()
    body = {"ordered_from": period.isoformat(), "as_of": "2026-11-20T02:00:00+00:00"}
    run = client.post("/api/v1/background-jobs/reconciliation-runs", json=body, headers=auth)
    assert run.status_code == 202, run.get_json()
    result = run.get_json()["result"]
    stored = session.get_one(ReconciliationRun, result["run_id"])
    assert (stored.line_count, stored.finding_count) == (result["lines"], result["findings"])
    assert result["lines"] > 0
    warnings = client.post("/api/v1/background-jobs/warnings", json={}, headers=auth)
    assert warnings.status_code == 202, warnings.get_json()
    job = warnings.get_json()
    assert job["status"] == "succeeded"
    assert job["progress_done"] == job["progress_total"] > 1  # one unit per daily rule
    assert set(job["result"]) == {"day", "raised", "seen", "cleared"}
