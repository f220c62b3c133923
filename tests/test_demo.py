"""The demo, run twice on one database for the whole module (a demo run costs half a minute;
each test below reads what the two runs left: the first run's output and files, the second run's
output, and the counts between them). The module's connection holds one outer transaction,
rolled back at the end, like the per-test `db` fixture."""

import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import get_db
from core import audit
from core.money import fen_to_display
from core.organizations import Organization, User
from ledger.invariants import check_ledger
from ledger.models import Statement


@dataclass(frozen=True)
class DemoRuns:
    first: Result
    second: Result
    out: Path
    #: (organizations, users, hospital item codes) after the first run.
    counts_after_first: tuple[int, int, int]
    #: The same after the second run.
    counts_after_second: tuple[int, int, int]


def _counts(session: Session) -> tuple[int, int, int]:
    from ledger.models import HospitalItemCode

    return (
        session.scalar(select(func.count(Organization.id))) or 0,
        session.scalar(select(func.count(User.id))) or 0,
        session.scalar(select(func.count(HospitalItemCode.id))) or 0,
    )


@pytest.fixture(scope="module")
def demo(app: Flask, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRuns]:
    database = get_db(app)
    connection = database.engine.connect()
    outer = connection.begin()
    database.sessionmaker.configure(bind=connection, join_transaction_mode="create_savepoint")
    out = tmp_path_factory.mktemp("demo")
    try:
        runner = app.test_cli_runner()
        first = runner.invoke(args=["demo", "--out", str(out)])
        assert first.exit_code == 0, first.output
        with database.sessionmaker() as s:
            after_first = _counts(s)
        second = runner.invoke(args=["demo", "--out", str(out)])
        assert second.exit_code == 0, second.output
        with database.sessionmaker() as s:
            after_second = _counts(s)
        yield DemoRuns(first, second, out, after_first, after_second)
    finally:
        database.sessionmaker.configure(bind=database.engine, join_transaction_mode="conservative_savepoint")
        outer.rollback()
        connection.close()


@pytest.fixture
def demo_session(app: Flask, demo: DemoRuns) -> Iterator[Session]:
    with get_db(app).sessionmaker() as s:
        yield s


def test_demo_runs_twice_without_duplicating_anything(demo: DemoRuns, demo_session: Session) -> None:
    assert demo.counts_after_second == demo.counts_after_first
    assert demo.counts_after_first[0] >= 13  # bureau, 4 manufacturers, 2 distributors, 6 hospitals
    assert "Demo-2026-vbp" in demo.first.output
    assert audit.verify_chain(demo_session).ok
    report = check_ledger(demo_session)
    assert report.ok, report.problems()


def test_demo_writes_statement_pdfs_that_read_back_in_chinese_with_the_font_embedded(
    demo: DemoRuns, demo_session: Session
) -> None:
    if not (shutil.which("pdftotext") and shutil.which("pdffonts")):
        pytest.skip("poppler-utils missing: run scripts/system-packages.sh")
    result, tmp_path, session = demo.first, demo.out, demo_session
    pdfs = sorted((tmp_path / "statements").rglob("*.pdf"))
    assert pdfs, result.output
    assert str(tmp_path / "statements") in result.output  # the demo says where they are
    for pdf in pdfs:
        statement = session.query(Statement).filter_by(digest=_code_in(pdf)).one()
        text = re.sub(
            r"\s+",
            "",
            subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True).stdout.decode(),
        )
        assert "医药集中采购三流合一对账单" in text
        assert statement.payload["hospital"]["name"] in text
        assert fen_to_display(statement.order_amount_fen) in text  # 订单金额合计, as 1,234.50
        fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, check=True).stdout.decode()
        assert re.search(r"WenQuanYi\S*\s+TrueType\s+\S+\s+yes", fonts), fonts
        assert all("WenQuanYi" in row for row in fonts.splitlines()[2:]), fonts  # every font embedded


def test_demo_writes_the_monthly_indicator_report(demo: DemoRuns) -> None:
    if not shutil.which("pdftotext"):
        pytest.skip("poppler-utils missing: run scripts/system-packages.sh")
    result, tmp_path = demo.first, demo.out
    reports = sorted((tmp_path / "reports").glob("indicators-*"))
    assert {p.suffix for p in reports} == {".pdf", ".xlsx"}, result.output
    assert str(tmp_path / "reports") in result.output
    pdf = next(p for p in reports if p.name.endswith("-month.pdf"))
    text = re.sub(
        r"\s+",
        "",
        subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True).stdout.decode(),
    )
    assert "医药集中带量采购监测指标报告" in text
    assert "药品线上采购率" in text


def _code_in(pdf: Path) -> str:
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True).stdout.decode()
    match = re.search(r"verify/([0-9a-f]{64})", text.replace("\n", ""))
    assert match, text[-500:]
    return match.group(1)


def test_the_demo_executes_a_national_batch_next_to_its_local_one(
    demo: DemoRuns, demo_session: Session
) -> None:
    from bidding.models import Award, ProcurementBatch, Scope, SelectionSource, VolumeAllocation
    from bidding.results_import import rederive_batch
    from ledger.models import Listing

    tmp_path, session = demo.out, demo_session
    kinds = {(b.scope, b.selection, b.status.value): b.id for b in session.scalars(select(ProcurementBatch))}
    national = kinds[(Scope.NATIONAL, SelectionSource.IMPORTED, "executing")]
    assert (Scope.PROVINCIAL, SelectionSource.LOCAL, "executing") in kinds
    agreed = session.scalar(
        select(func.sum(VolumeAllocation.agreed_quantity)).where(VolumeAllocation.batch_id == national)
    )
    assert (agreed or 0) > 0
    listed = select(func.count(Listing.id)).join(Award, Award.id == Listing.award_id)
    assert session.scalar(listed.where(Award.batch_id == national))
    assert not rederive_batch(session, national).selected_here
    assert (tmp_path / "national-results.xlsx").exists()  # the file it was executed from


def test_the_demo_raises_every_kind_of_warning_and_writes_the_supervision_report(
    app: Flask, demo: DemoRuns, demo_session: Session
) -> None:
    from ledger.supervision.models import SupervisionWarning
    from ledger.supervision.warnings import RULES, load_rules
    from tests.web.test_pages import web_login

    result, tmp_path, session = demo.first, demo.out, demo_session
    daily = {code for code, rule in load_rules().items() if rule.daily}
    raised = set(session.scalars(select(SupervisionWarning.rule).distinct()))
    assert daily <= raised, sorted(daily - raised)
    assert len(daily) >= 11
    reports = {p.suffix for p in (tmp_path / "reports").glob("supervision-*")}
    assert reports == {".pdf", ".xlsx"}, result.output

    client = app.test_client()
    web_login(client, "bureau-admin", "Demo-2026-vbp")
    page = client.get("/supervision").get_data(as_text=True)
    for code in daily:
        assert RULES[code].label.split(" (")[0] in page, code
    # The second run, the same day: the same subjects are found and nothing new is raised.
    assert "新增 0 条" in demo.second.output


def test_the_demo_gives_its_products_national_codes_and_maps_a_hospitals_item_codes(
    demo: DemoRuns, demo_session: Session
) -> None:
    from bidding.models import Category, Product
    from core.national_codes import national_code_error

    products = demo_session.scalars(select(Product)).all()
    assert products
    for product in products:
        kind = "consumable" if product.category is Category.CONSUMABLE else "drug"
        assert product.national_code is not None
        assert national_code_error(kind, product.national_code) is None
    mappings = demo.counts_after_first[2]
    assert mappings == len(products)
    assert demo.counts_after_second[2] == mappings
