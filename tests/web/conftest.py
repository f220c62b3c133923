"""Browser journeys' shared parts: Debian's chromium through Playwright, a real WSGI server on a
committed database, and a Journey that logs in, takes numbered screenshots and watches the browser
(a Content-Security-Policy violation, a script error or a request to another host fails it).

A journey module defines its own `site` fixture with `serve(...)` and a seed function; its
screenshots go to `test-artifacts/screenshots/<database>/<module>/` (or $VBP_ARTIFACTS).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from flask import Flask
from werkzeug.serving import make_server

from app import create_app
from app.config import Config
from app.db import Database, get_db
from core.glossary import TERMS
from tests.factories import PASSWORD
from tests.tendering import CRYPTO_SETTINGS

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("VBP_ARTIFACTS", ROOT / "test-artifacts")) / "screenshots"
CHROMIUM = os.environ.get("VBP_CHROMIUM", "/usr/bin/chromium")
#: .ci/run sets this: there a missing browser fails the run instead of skipping the journeys.
REQUIRED = os.environ.get("VBP_BROWSER_TESTS") == "required"
MISSING = not Path(CHROMIUM).exists() and shutil.which("chromium") is None
if REQUIRED and MISSING:
    raise RuntimeError(f"VBP_BROWSER_TESTS=required but no chromium at {CHROMIUM} or on PATH")

#: Put on every browser test module: without chromium (and not required) the journeys are skipped.
needs_browser = pytest.mark.skipif(
    MISSING, reason="Debian's chromium is not installed (scripts/system-packages.sh installs it)"
)


@cache
def _catalogue() -> Any:
    with open(ROOT / "app/web/translations/zh/LC_MESSAGES/messages.po", "rb") as f:
        return read_po(f)


@cache
def zh(msgid: str) -> str:
    """What a page shows for `msgid` in Chinese: the committed catalogue, or the glossary's term
    whose English is `msgid` (statuses and kinds, core/glossary.py)."""
    message = _catalogue().get(msgid)
    if message is None:
        terms = [chinese for chinese, english in TERMS.values() if english == msgid]
        assert terms, f"{msgid!r} is neither in the catalogue nor in the glossary"
        return terms[0]
    assert message.string, f"no Chinese text for {msgid!r}"
    return str(message.string)


@dataclass
class Site:
    url: str
    app: Flask
    db: Database
    ids: dict[str, Any]
    shots: Path  #: this module's screenshots (one folder per database kind and module)


@contextmanager
def serve(
    databases: Any,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
    seed: Callable[[Database], dict[str, Any]],
) -> Iterator[Site]:
    """A fresh database at the migrations' head, seeded and committed, served on a spare port."""
    from alembic import command

    from app.cli import alembic_config

    url = databases.new()
    command.upgrade(alembic_config(url), "head")
    config = Config(
        env="testing",
        database_url=url,
        secret_key="browser-test-secret-" + "y" * 32,
        instance_path=str(tmp_path_factory.mktemp("browser-instance")),
        **CRYPTO_SETTINGS,
    )
    app = create_app(config)
    db = get_db(app)
    ids = seed(db)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        module = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
        shots = ARTIFACTS / str(request.config.getoption("--db")) / module
        shutil.rmtree(shots, ignore_errors=True)
        shots.mkdir(parents=True)
        yield Site(url=f"http://127.0.0.1:{server.server_port}", app=app, db=db, ids=ids, shots=shots)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        db.engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if MISSING:
        pytest.skip("Debian's chromium is not installed (scripts/system-packages.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage"],
        )
        try:
            yield chromium
        finally:
            chromium.close()


class Journey:
    """A browser page for one user, with numbered screenshots."""

    def __init__(self, browser: Any, site: Site, name: str) -> None:
        self.context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 900})
        self.page = self.context.new_page()
        self.page.set_default_timeout(15_000)
        self.site, self.name, self.step = site, name, 0
        #: CSP violations and script errors the browser reported, and requests to other hosts.
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        self.page.on("request", self._request)
        #: Questions asked by data-confirm buttons (static/safe-actions.js); journeys answer "OK".
        self.dialogs: list[str] = []
        self.page.on("dialog", self._dialog)

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.problems.append(f"console: {message.text}")

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.accept()

    def _request(self, request: Any) -> None:
        if not request.url.startswith((self.site.url + "/", "data:", "blob:")):
            self.problems.append(f"request to another host: {request.url}")

    def go(self, path: str) -> None:
        self.page.goto(self.site.url + path)

    def shot(self, what: str) -> None:
        self.step += 1
        path = self.site.shots / f"{self.name}-{self.step:02d}-{what}.png"
        self.page.screenshot(path=str(path), full_page=True)

    def login(self, username: str) -> None:
        self.go("/")
        assert "/login" in self.page.url  # strangers are sent to the login page
        self.page.get_by_label(zh("Username")).fill(username)
        self.page.get_by_label(zh("Password")).fill(PASSWORD)
        self.shot("login")
        self.page.get_by_role("button", name=zh("Log in")).click()
        self.page.wait_for_url(self.site.url + "/")
        assert self.page.locator("h1").inner_text() == zh("Dashboard")

    def flash(self) -> str:
        return str(self.page.locator(".flash").first.inner_text())

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def journey(browser: Any, site: Site) -> Iterator[Any]:
    journeys: list[Journey] = []

    def start(name: str) -> Journey:
        j = Journey(browser, site, name)
        journeys.append(j)
        return j

    yield start
    for j in journeys:
        j.shot("last")  # where the journey ended (also when it failed)
        j.close()
    problems = [f"{j.name}: {p}" for j in journeys for p in j.problems]
    assert not problems, "\n".join(problems)
