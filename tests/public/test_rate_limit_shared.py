"""Two web nodes behind one load balancer share the public rate limit through Redis
(VBP_PUBLIC_RATE_LIMIT_STORAGE_URI): a visitor cannot double the limit by landing on both."""

from __future__ import annotations

import socket
import tempfile
import uuid
from collections.abc import Iterator

import pytest
from flask import Flask

from app import create_app
from app.config import Config
from app.db import get_db


def _redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        return False
    return True


@pytest.fixture
def two_nodes(database_url: str) -> Iterator[tuple[Flask, Flask]]:
    if not _redis_up():
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    uri = "redis://127.0.0.1:6379/0"
    apps = tuple(
        create_app(
            Config(
                env="testing",
                database_url=database_url,
                secret_key="test-secret-key-" + "x" * 32,
                instance_path=tempfile.mkdtemp(),
                public_rate_limit="3 per minute",
                public_rate_limit_storage_uri=uri,
            )
        )
        for _ in range(2)
    )
    yield apps  # type: ignore[misc]
    for application in apps:
        get_db(application).engine.dispose()


def test_the_limit_is_counted_once_across_two_nodes(two_nodes: tuple[Flask, Flask]) -> None:
    first, second = (node.test_client() for node in two_nodes)
    # An address of this run's own: the two databases' runs in CI share the Redis server.
    address = "2001:db8::" + ":".join(uuid.uuid4().hex[i : i + 4] for i in range(0, 16, 4))
    for client in (first, second):
        client.environ_base["REMOTE_ADDR"] = address
    codes = [c.get("/public/").status_code for c in (first, second, first, second)]
    assert codes == [200, 200, 200, 429]
