"""The two benchmarks that need several writers at once (PostgreSQL only) run at tiny sizes and
record a figure beside its baseline; they are not in the SQLite suite test."""

from __future__ import annotations

import socket

import pytest

from bench import audit_lanes, statements_workers
from tests.conftest import Databases

pytestmark = pytest.mark.postgresql_only


def _broker_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=2).close()
    except OSError:
        return False
    return True


def test_audit_lanes_benchmark_records_both_figures(databases: Databases) -> None:
    result = audit_lanes.run(databases.new(), threads=3, transactions=5)
    [row] = result.rows
    assert row.figure > 0
    assert row.baseline > 0
    assert result.details["events_verified"] >= 2 * 3 * 5
    assert result.details["lanes_used"] > 1


@pytest.mark.skipif(
    not _broker_up(), reason="RabbitMQ is not reachable on 127.0.0.1:5672 (.ci/run starts it)"
)
def test_statements_on_workers_benchmark_makes_the_same_documents_on_1_and_2(databases: Databases) -> None:
    result = statements_workers.run(databases.new(), hospitals=3)
    [row] = result.rows
    assert row.figure > 0
    assert row.baseline > 0
    assert result.details["pdfs"] > 0
