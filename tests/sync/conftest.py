from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.db import get_db
from tests.conftest import Databases
from tests.sync.scenario import Platform, make_platform


@pytest.fixture
def platform(databases: Databases, tmp_path: Path) -> Iterator[Platform]:
    """A market on a database of its own, where every event really commits."""
    made = make_platform(databases, tmp_path)
    yield made
    get_db(made.app).engine.dispose()
