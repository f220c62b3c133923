"""Without VBP_DATABASE_REPLICA_URL (the embedded default, or one server) every read stays on the
primary: nothing changes for SQLite or a single PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.config import Config, ConfigError
from app.db import Database, primary_session, request_session
from app.replica import prefer_replica
from core.actors import OrgKind, Role
from tests.factories import bearer, make_org, make_user


def test_replica_eligible_reads_use_the_primary_when_no_replica_is_configured(
    app: Flask, db: Database
) -> None:
    assert db.replica is None
    with app.test_request_context("/api/v1/reconciliation/lines"):
        prefer_replica()
        assert request_session() is primary_session()
    with db.reading() as session:
        assert session.get_bind().engine is db.engine


def test_replica_views_answer_from_the_primary_without_a_header(
    client: FlaskClient, session: Session
) -> None:
    bureau = make_org(session, OrgKind.BUREAU)
    headers = bearer(session, make_user(session, bureau, Role.OPERATOR))
    response = client.get("/api/v1/reconciliation/summary", headers=headers)
    assert response.status_code == 200, response.get_json()
    assert "X-VBP-Read-From" not in response.headers


def test_the_replica_url_is_read_from_the_environment_and_needs_postgresql(tmp_path: Path) -> None:
    config = Config.from_env({"VBP_DATABASE_REPLICA_URL": "postgres://reader@replica:5432/vbp"})
    assert config.database_replica_url == "postgres://reader@replica:5432/vbp"
    config.database_url = "postgresql://vbp@primary:5432/vbp"
    config.resolve(str(tmp_path))
    assert config.database_replica_url == "postgresql+psycopg://reader@replica:5432/vbp"
    with pytest.raises(ConfigError, match="VBP_DATABASE_REPLICA_URL"):
        Config(database_replica_url="postgresql://r@replica/vbp").resolve(str(tmp_path))  # SQLite primary
