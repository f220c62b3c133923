"""Crash safety: a settlement payment run and a reconciliation run are each killed (SIGKILL) in
the middle of their unit of work; the database then holds none of it, and the rerun completes
without duplicates.

How "in the middle": the test holds every audit lane head locked. Each unit of work writes
its rows first and appends its audit event last, so the worker blocks there with its rows written
but not committed; the test sees it waiting in pg_stat_activity and kills the process.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from app.cli import alembic_config
from core.organizations import User
from ledger.invariants import check_ledger
from ledger.models import JournalEntry, Payment, ReconciliationFinding, ReconciliationRun
from ledger.services import settlement
from tests.conftest import Databases
from tests.factories import bearer
from tests.ledger.test_reconcile import FILED, PERIOD, Line
from tests.ordering import make_market

pytestmark = pytest.mark.postgresql_only
ROOT = Path(__file__).resolve().parent.parent


def _env(url: str, tmp_path: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "VBP_ENV": "development",
        "VBP_INSTANCE_PATH": str(tmp_path),
        "FLASK_APP": "wsgi.py",
    }


@contextmanager
def _audit_head_locked(url: str) -> Iterator[Any]:
    """Hold every audit lane head: every unit of work stops at its audit append."""
    engine = create_engine(url)
    connection = engine.connect()
    transaction = connection.begin()
    connection.execute(text("SELECT lane FROM audit_lane_heads FOR UPDATE"))
    try:
        yield connection
    finally:
        transaction.rollback()
        connection.close()
        engine.dispose()


def _wait_until_blocked(url: str, process: subprocess.Popen[bytes]) -> None:
    """Poll until another backend waits on a lock (the worker, mid-transaction)."""
    engine = create_engine(url)
    try:
        for _ in range(600):
            with engine.connect() as conn:
                waiting = conn.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
                    )
                )
            if waiting:
                return
            if process.poll() is not None:
                pytest.fail(f"worker exited before blocking: {process.returncode}")
            threading.Event().wait(0.1)
        pytest.fail("the worker never reached its audit append")
    finally:
        engine.dispose()


def _kill(process: subprocess.Popen[bytes]) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(url: str, tmp_path: Path, port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "flask", "run", "--port", str(port), "--no-reload", "--no-debugger"],
        cwd=ROOT,
        env=_env(url, tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(600):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            threading.Event().wait(0.1)
    process.kill()
    pytest.fail("the web server did not start")


def _post(port: int, path: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        headers={**headers, "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - http to localhost
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except (urllib.error.URLError, ConnectionError) as error:
        return 0, str(error)


def _approved_run(databases: Databases) -> tuple[str, int, list[int], dict[str, str]]:
    """Two hospitals' confirmed applications in an approved run, committed."""
    url = databases.new()
    command.upgrade(alembic_config(url), "head")
    engine = create_engine(url)
    with Session(engine) as s, s.begin():
        market = make_market(s)
        Line(market, 10).place().accept().receive(10).invoice_all()
        app = settlement.file_application(
            s, market.distributor_actor, hospital_id=market.hospital.id, period_month=PERIOD, now=FILED
        )
        settlement.confirm_application(s, market.hospital_actor, app.id, disputes={}, now=FILED)
        run = settlement.approve_run(s, market.world.bureau, period_month=PERIOD, now=FILED)
        headers = bearer(s, s.get_one(User, market.world.bureau.user_id))
        ids = (run.id, [app.id])
    engine.dispose()
    return url, ids[0], ids[1], headers


def _count(url: str, *statements: Any) -> list[int]:
    engine = create_engine(url)
    with Session(engine) as s:
        counts = [int(s.scalar(stmt) or 0) for stmt in statements]
        assert check_ledger(s).ok
    engine.dispose()
    return counts


def test_a_payment_run_killed_mid_way_leaves_nothing_and_reruns_once(
    databases: Databases, tmp_path: Path
) -> None:
    url, run_id, application_ids, headers = _approved_run(databases)
    body = {
        "paid_on": "2026-06-10",
        "payments": [{"application_id": a, "bank_reference": f"ICBC-{a}"} for a in application_ids],
    }
    path = f"/api/v1/settlement-runs/{run_id}/payments"
    payments = select(func.count()).select_from(Payment)
    entries = select(func.count()).select_from(JournalEntry).where(JournalEntry.kind.like("%payment%"))
    before = _count(url, payments, entries)

    port = _free_port()
    server = _serve(url, tmp_path, port)
    with _audit_head_locked(url):
        answer: list[Any] = []
        request = threading.Thread(target=lambda: answer.append(_post(port, path, body, headers)))
        request.start()
        _wait_until_blocked(url, server)
        _kill(server)
        request.join(timeout=60)
    assert answer[0][0] == 0  # the client saw the connection drop, not an answer
    assert _count(url, payments, entries) == before  # none of the unit of work is there

    server = _serve(url, tmp_path, port)
    try:
        status, paid = _post(port, path, body, headers)
        again, _ = _post(port, path, body, headers)
    finally:
        server.terminate()
        server.communicate(timeout=30)
    assert status == 201, paid
    assert again == 409
    after = _count(url, payments, entries)
    assert after[0] == before[0] + len(application_ids)
    print(f"payment run killed mid-way: 0 of {len(application_ids)} payments kept; rerun paid each once")


def test_a_reconciliation_run_killed_mid_way_leaves_nothing_and_reruns(
    databases: Databases, tmp_path: Path
) -> None:
    url = databases.new()
    command.upgrade(alembic_config(url), "head")
    engine = create_engine(url)
    with Session(engine) as s, s.begin():
        market = make_market(s)
        Line(market, 10).place().accept().receive(6)
        Line(market, 4).place().accept()
    engine.dispose()
    runs = select(func.count()).select_from(ReconciliationRun)
    findings = select(func.count()).select_from(ReconciliationFinding)

    def reconcile() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "flask", "reconcile", "--store"],
            cwd=ROOT,
            env=_env(url, tmp_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    with _audit_head_locked(url):
        worker = reconcile()
        _wait_until_blocked(url, worker)
        _kill(worker)
    assert _count(url, runs, findings) == [0, 0]

    worker = reconcile()
    output, _ = worker.communicate(timeout=120)
    assert worker.returncode == 0, output.decode()
    assert _count(url, runs, findings) == [1, 2]
    print("reconciliation run killed mid-way: nothing kept; rerun stored 1 run with 2 findings")
