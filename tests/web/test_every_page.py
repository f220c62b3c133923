"""Every page as every role, in a real browser at 375 px (issue 17, "done when"): a crawl from the
dashboard through every same-site link finds no code shown instead of its words, no amount without
its format, no console or script error and no page wider than the screen; and it reaches every page
registered with `@page` for the kind of user (the missed ones are listed).

Screenshots: one per page pattern per kind, in `test-artifacts/screenshots/<db>/every_page/`.
"""

from __future__ import annotations

import enum
import re
from collections import deque
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from werkzeug.exceptions import HTTPException

from app.auth import ALL_ROLES
from app.db import Database
from app.scheduler import JOBS
from bidding import batches
from bidding.models import BatchStatus, Category, DosageFormGroup, RatioKind, Scope
from bidding.rules import preset_names
from core import clock, notices
from core.actors import OrgKind, Role
from core.background import BackgroundJob, BackgroundJobStatus
from core.glossary import QUALIFIED, TERMS
from core.jobs import JobRun, JobStatus
from ledger.contracts.generation import generate_agreements
from ledger.services import settlement
from ledger.supervision.settings import DEFAULTS
from ledger.supervision.warnings import compute_warnings
from tests.core.test_glossary import domain_enums
from tests.factories import make_org, make_user
from tests.flows import at, buy, invoice, self_pay
from tests.ordering import NOW, make_market
from tests.tendering import World
from tests.web.conftest import Site, needs_browser, serve
from tests.web.test_pages import page_routes

pytestmark = needs_browser

KINDS = (OrgKind.BUREAU, OrgKind.HOSPITAL, OrgKind.MANUFACTURER, OrgKind.DISTRIBUTOR)
ROLES = (Role.ADMIN, Role.OPERATOR, Role.AUDITOR)
#: Visits of one page pattern (endpoint + names of its arguments) per crawl, and of one endpoint.
PER_PATTERN, PER_ENDPOINT = 2, 4


def codes() -> frozenset[str]:
    """What must never be shown as is: every glossary key, every enum value of the domain, every
    scheduler job name and rule preset."""
    found = set(TERMS) | {key.split(".", 1)[1] for key in QUALIFIED}
    found |= {str(member.value) for e in domain_enums() for member in e if isinstance(member, enum.Enum)}
    found |= set(JOBS) | set(preset_names())
    return frozenset(found)


#: An amount of a thousand yuan or more printed without separators ("1234.50", "12345.6789"; a
#: percentage is not an amount).
UNFORMATTED_AMOUNT = re.compile(r"(?<![\d,.])\d{4,}\.\d{2}(?:\d{2})?(?![\d%])")
#: A ratio printed raw instead of as a percentage ("0.853", "0.8531467").
RAW_RATE = re.compile(r"(?<![\d,.])0\.(?:\d{3}|\d{5,})(?![\d%])")
FILES = (".pdf", ".xlsx", ".csv")
TOKEN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_\-.@/]*")

#: The visible text a person reads; technical records shown as such (<code>, <pre>) are left out.
VISIBLE_TEXT = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || el.closest('code, pre, script, style, noscript, [hidden], .skip')) continue;
    out.push(node.nodeValue);
  }
  return out.join(' ');
}"""
LINKS = "links => links.map(link => link.href)"
OVERFLOW = "() => [document.documentElement.scrollWidth, window.innerWidth]"


def _seed(db: Database) -> dict[str, Any]:
    """One organization of each kind with a user per role, and lists with rows: orders in several
    states, received deliveries, confirmed and disputed invoices, a settled month, large amounts,
    scheduler runs."""
    with db.sessionmaker() as session:
        m = make_market(session)
        day = NOW.date()
        big = buy(m, 120_000, on=day)  # an amount well over a thousand yuan
        invoice(m, big, 120_000, on=day)
        small = buy(m, 30, on=day)
        invoice(m, small, 30, on=day, confirm=False)
        pending = buy(m, 40, on=day)
        invoice(m, pending, 40, on=day, confirm=None)
        self_pay(
            m,
            date(day.year, day.month, 1),
            filed_on=day + timedelta(days=32),
            paid_on=day + timedelta(days=40),
        )
        # A month filed, confirmed and approved in a run the fund has not paid yet.
        later = date(day.year + (day.month == 12), day.month % 12 + 1, 3)
        invoice(m, buy(m, 50, on=later), 50, on=later)
        month = date(later.year, later.month, 1)
        filed = at(later + timedelta(days=31))
        application = settlement.file_application(
            session, m.distributor_actor, hospital_id=m.hospital.id, period_month=month, now=filed
        )
        settlement.confirm_application(session, m.hospital_actor, application.id, disputes={}, now=filed)
        settlement.approve_run(session, m.world.bureau, period_month=month, now=filed)
        m.order(25)  # waiting for the distributor
        shipped: Any = m.order(10)
        m.accept_and_ship(shipped.id, 10)  # waiting for the hospital's receipt
        bureau = session.get_one(type(m.hospital), m.world.bureau.org_id)
        orgs = {
            OrgKind.BUREAU: bureau,
            OrgKind.HOSPITAL: m.hospital,
            OrgKind.MANUFACTURER: m.world.manufacturer("A"),
            OrgKind.DISTRIBUTOR: m.distributor,
        }
        for kind, org in orgs.items():
            for role in ROLES:
                make_user(session, org, role, username=f"every-{kind.value}-{role.value}")
        make_org(session, OrgKind.HOSPITAL, name="另一家医院")  # someone not to be seen
        _collecting_demand(session, m.world.bureau, m.hospital)
        # Procurement agreements of the market's batch to list, open and download.
        assert generate_agreements(session, m.world.bureau, m.world.batch.id, now=NOW)
        notice = notices.create_notice(
            session,
            m.world.bureau,
            title="关于开展集中带量采购结算的通知",
            body="各医疗机构：\n请按时确认。",
            now=NOW,
        )
        notices.publish_notice(session, m.world.bureau, notice.id, now=NOW)
        # Warnings to list and open (a receipt left unconfirmed, an implausibly fast distributor).
        compute_warnings(session, now=NOW + timedelta(days=8), settings=DEFAULTS)
        for job, status in (("open_batches", JobStatus.SUCCEEDED), ("flag_overdue", JobStatus.FAILED)):
            moment = NOW + timedelta(days=1)
            session.add(
                JobRun(
                    job=job,
                    tick=moment,
                    status=status,
                    started_at=moment,
                    finished_at=moment,
                    worker="scheduler:1",
                    result={"opened_batches": []} if status is JobStatus.SUCCEEDED else None,
                    error=None if status is JobStatus.SUCCEEDED else "数据库连接中断",
                )
            )
        # A background job the bureau follows from its job history (app/web/background_jobs.py).
        session.add(
            BackgroundJob(
                kind="statements",
                params={},
                status=BackgroundJobStatus.SUCCEEDED,
                progress_done=4,
                progress_total=4,
                attempts=1,
                result={"period": "2026-05", "new_versions": 2, "unchanged": 0, "pdfs": 2},
                created_at=NOW,
                finished_at=NOW,
            )
        )
        session.commit()
        return {}


def _collecting_demand(session: Any, bureau: Any, hospital: Any) -> None:
    """A batch collecting demand now (the hospital's demand pages have something to show)."""
    now = clock.now()
    timeline = {
        "demand_opens_at": now - timedelta(days=1),
        "demand_closes_at": now + timedelta(days=5),
        "bid_opens_at": now + timedelta(days=6),
        "bid_closes_at": now + timedelta(days=10),
        "opening_at": now + timedelta(days=10, hours=1),
        "cycle_start_on": (now + timedelta(days=30)).date(),
        "cycle_end_on": (now + timedelta(days=394)).date(),
    }
    batch = batches.create_batch(
        session,
        bureau,
        name="报量中的批次",
        category=Category.DRUG,
        scope=Scope.PROVINCIAL,
        rule_version="batch_11",
        rule_overrides=None,
        timeline=timeline,
        now=now - timedelta(days=2),
    )
    batches.add_item(
        session,
        bureau,
        batch.id,
        data={
            "generic_name": "报量测试药",
            "dosage_form_group": DosageFormGroup.ORAL_SOLID,
            "rep_strength_value": "5",
            "rep_strength_unit": "mg",
            "ratio_kind": RatioKind.CONTENT,
            "allowed_strengths": ["5"],
            "ceiling_e4": 15_000,
            "volume_ratio_override": None,
        },
        now=now - timedelta(days=2),
    )
    World(session=session, bureau=bureau, batch=batch, items=[]).to(BatchStatus.DEMAND_COLLECTION, now)


@pytest.fixture(scope="module")
def site(
    databases: Any, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Site]:
    with serve(databases, tmp_path_factory, request, _seed) as served:
        yield served


class Crawl:
    """Breadth-first through the same-site links of one user's pages, checking each page."""

    def __init__(self, j: Any, site: Site, kind: OrgKind, shot_patterns: set[str]) -> None:
        self.j, self.site, self.kind = j, site, kind
        self.adapter = site.app.url_map.bind("localhost")
        self.codes = codes()
        self.shot_patterns = shot_patterns  # shared by the kind's crawls: one screenshot each
        self.reached: set[str] = set()
        self.findings: list[str] = []
        self.console: list[str] = []
        j.page.on("console", lambda m: self.console.append(m.text) if m.type == "error" else None)
        j.page.on("pageerror", lambda error: self.console.append(f"script error: {error}"))

    def endpoint(self, url: str) -> tuple[str, str] | None:
        """(endpoint, pattern) of a same-site page link; None for files, the API and other sites."""
        parts = urlsplit(url)
        if parts.netloc and parts.netloc != urlsplit(self.site.url).netloc:
            return None
        if parts.path.startswith(("/api/", "/static/")) or parts.path.rsplit(".", 1)[-1] in (
            "pdf",
            "xlsx",
            "csv",
        ):
            return None
        try:
            endpoint, args = self.adapter.match(parts.path, method="GET")
        except HTTPException:
            return None
        query = dict(parse_qsl(parts.query))
        # Files (exports) are not pages; the print view opens the browser's print dialogue.
        if not str(endpoint).startswith("web.") or {"format", "export", "print"} & query.keys():
            return None
        return str(endpoint), f"{endpoint}({','.join(sorted(args))})?{','.join(sorted(query))}"

    def run(self) -> None:
        queue: deque[str] = deque(["/"])
        seen: set[str] = set()
        per_pattern: dict[str, int] = {}
        per_endpoint: dict[str, int] = {}
        while queue:
            path = queue.popleft()
            found = self.endpoint(path)
            if found is None or path in seen:
                continue
            endpoint, pattern = found
            seen.add(path)
            if per_pattern.get(pattern, 0) >= PER_PATTERN or per_endpoint.get(endpoint, 0) >= PER_ENDPOINT:
                continue
            per_pattern[pattern] = per_pattern.get(pattern, 0) + 1
            per_endpoint[endpoint] = per_endpoint.get(endpoint, 0) + 1
            self.console.clear()
            response = self.j.page.goto(self.site.url + path)
            status = response.status if response else 0
            if status >= 400:
                if status != 404:  # a gone record is a fair answer; a refusal or a crash is not
                    self.findings.append(f"{path}: HTTP {status}")
                continue
            self.reached.add(endpoint)
            self.check(path)
            if pattern not in self.shot_patterns:
                self.shot_patterns.add(pattern)
                self.j.shot(endpoint.removeprefix("web."))
            for href in self.j.page.eval_on_selector_all(
                "a[href]", "els => els.map(e => e.getAttribute('href'))"
            ):
                if href and not href.startswith(("#", "mailto:", "javascript:")):
                    queue.append(
                        href
                        if href.startswith("/")
                        else urlsplit(href)._replace(scheme="", netloc="").geturl()
                    )

    def check(self, path: str) -> None:
        text = self.j.page.evaluate(VISIBLE_TEXT)
        shown_codes = sorted({t for t in TOKEN.findall(text) if t in self.codes})
        if shown_codes:
            self.findings.append(f"{path}: codes shown as is: {shown_codes}")
        for pattern, what in ((UNFORMATTED_AMOUNT, "amounts without separators"), (RAW_RATE, "raw rates")):
            bad = pattern.findall(text)
            if bad:
                self.findings.append(f"{path}: {what}: {sorted(set(bad))[:5]}")
        width, screen = self.j.page.evaluate(OVERFLOW)
        if width > screen:
            self.findings.append(f"{path}: {width} px wide on a {screen} px screen")
        if self.console:
            self.findings.append(f"{path}: console: {self.console[:3]}")
            self.console.clear()


#: Gated addresses that are not pages: files (PDF) and the pickers' JSON; the crawl checks pages.
NOT_PAGES = {"web.picker_search", "web.message_open"}  # message_open: marks read, redirects


def expected_pages(site: Site, kind: OrgKind, role: Role) -> set[str]:
    rules = site.app.url_map.iter_rules()
    files = {rule.endpoint for rule in rules if rule.rule.endswith((".pdf", ".xlsx", ".csv"))}
    return {
        endpoint
        for _path, endpoint, kinds, roles in page_routes(site.app)
        if (not kinds or kind in kinds) and role in roles and endpoint not in files | NOT_PAGES
    }


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.value)
def test_every_page_as_every_role_at_375_px(journey: Any, site: Site, kind: OrgKind) -> None:
    assert set(ROLES) <= set(ALL_ROLES)
    shot_patterns: set[str] = set()
    findings: list[str] = []
    reached: set[str] = set()
    expected: set[str] = set()
    for role in ROLES:
        j = journey(f"{kind.value}-{role.value}")
        j.login(f"every-{kind.value}-{role.value}")
        j.page.set_viewport_size({"width": 375, "height": 812})
        crawl = Crawl(j, site, kind, shot_patterns)
        crawl.run()
        findings += [f"{role.value} {f}" for f in crawl.findings]
        reached |= crawl.reached
        expected |= expected_pages(site, kind, role)
        # The menu marks where the user is (static/safe-actions.js).
        j.page.goto(site.url + "/")
        assert j.page.locator('header.top nav a[aria-current="page"]').get_attribute("href") == "/"
    assert not findings, "\n".join(findings)
    missed = sorted(expected - reached)
    assert not missed, f"pages the crawl did not reach: {missed}"


#: Count the forms the page would send and keep them (a listener that runs after safe-actions.js).
HOLD_BACK = """() => {
  window.sentForms = 0;
  window.addEventListener('submit', (event) => {
    if (!event.defaultPrevented) window.sentForms += 1;
    event.preventDefault();
  });
}"""


def test_a_confirmation_is_asked_and_a_sent_form_cannot_be_sent_twice(journey: Any, site: Site) -> None:
    """static/safe-actions.js on the language switch, given a data-confirm question here (the
    pages' own irreversible buttons carry theirs)."""
    j = journey("safe-actions")
    j.login("every-hospital-operator")
    english = 'form[action="/language"] button[value="en"]'
    ask = f"document.querySelector('{english}').setAttribute('data-confirm', '确定切换为英文？')"
    j.page.evaluate(ask)
    # "Cancel": nothing is sent.
    j.page.remove_listener("dialog", j._dialog)
    j.page.once("dialog", lambda dialog: dialog.dismiss())
    j.page.click(english)
    j.shot("cancelled")
    assert j.page.locator("h1").inner_text() == "工作台"
    assert not j.page.locator(english).is_disabled()
    # "OK": the form goes (held back here, after the script, to look at it): its buttons are
    # disabled, and a second submit sends nothing.
    j.page.on("dialog", j._dialog)
    j.page.evaluate(HOLD_BACK)
    j.page.click(english)
    j.page.wait_for_function(f"document.querySelector('{english}').disabled")
    j.shot("sending")
    j.page.evaluate("document.querySelector('form[action=\"/language\"]').requestSubmit()")
    assert j.dialogs == ["确定切换为英文？"]
    assert j.page.evaluate("window.sentForms") == 1
    # Sent for real: the page comes back in English (the clicked button's name=value went along).
    j.page.reload()
    j.page.evaluate(ask)
    j.page.click(english)
    j.page.wait_for_url(site.url + "/")
    j.shot("english")
    assert j.page.locator("h1").inner_text() == "Dashboard"
